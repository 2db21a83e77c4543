#ifndef KRONOS_API_HANDLERS_H
#define KRONOS_API_HANDLERS_H

#include <stddef.h>

#include "http/request.h"
#include "http/router.h"

http_result handle_root(struct http_request *r);
http_result handle_healthz(struct http_request *r);
http_result handle_readyz(struct http_request *r);
http_result handle_healthz_detailed(struct http_request *r);
http_result handle_metrics(struct http_request *r);
http_result handle_predict_single(struct http_request *r);
http_result handle_predict_batch(struct http_request *r);

/* The route table served by kronosd. */
extern const route api_routes[];
extern const size_t api_route_count;

#endif
