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
http_result handle_openapi(struct http_request *r);
http_result handle_docs(struct http_request *r);
http_result handle_redoc(struct http_request *r);

/* The route table served by kronosd under cfg (the docs routes only when KRONOS_DOCS_ENABLED);
 * *n gets its length. */
struct config;
const route *api_route_table(const struct config *cfg, size_t *n);

#endif
