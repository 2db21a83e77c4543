#ifndef KRONOS_API_HANDLERS_H
#define KRONOS_API_HANDLERS_H

#include <microhttpd.h>

struct http_request;

enum MHD_Result handle_root(struct http_request *r);
enum MHD_Result handle_healthz(struct http_request *r);
enum MHD_Result handle_readyz(struct http_request *r);
enum MHD_Result handle_healthz_detailed(struct http_request *r);
enum MHD_Result handle_metrics(struct http_request *r);
enum MHD_Result handle_predict_single(struct http_request *r);
enum MHD_Result handle_predict_batch(struct http_request *r);
#ifdef KRONOS_TEST_HOOKS
enum MHD_Result handle_debug_delay(struct http_request *r);
#endif

#endif
