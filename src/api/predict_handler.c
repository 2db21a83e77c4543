#include "api/handlers.h"
#include "api/readiness.h"
#include "http/response.h"

static enum MHD_Result not_ready(http_request *r)
{
    http_header_kv retry = {MHD_HTTP_HEADER_RETRY_AFTER, "5"};
    return http_respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready",
                              "no forecasting engine is ready", NULL, &retry, 1);
}

enum MHD_Result handle_predict_single(http_request *r)
{
    return not_ready(r);
}

enum MHD_Result handle_predict_batch(http_request *r)
{
    return not_ready(r);
}
