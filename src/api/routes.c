/* The route table kronosd serves, handed to the HTTP server by main. */
#include "api/handlers.h"
#include "obs/service_metrics.h"

#define GET_ALLOW "GET, HEAD"

const route api_routes[] = {
    {"/", METHOD_GET, handle_root, SM_ROUTE_ROOT, GET_ALLOW, false, false},
    {"/v1/healthz", METHOD_GET, handle_healthz, SM_ROUTE_HEALTHZ, GET_ALLOW, false, false},
    {"/v1/readyz", METHOD_GET, handle_readyz, SM_ROUTE_READYZ, GET_ALLOW, false, false},
    {"/v1/healthz/detailed", METHOD_GET, handle_healthz_detailed, SM_ROUTE_HEALTHZ_DETAILED,
     GET_ALLOW, false, true},
    {"/v1/predict/single", METHOD_POST, handle_predict_single, SM_ROUTE_PREDICT_SINGLE, "POST",
     true, true},
    {"/v1/predict/batch", METHOD_POST, handle_predict_batch, SM_ROUTE_PREDICT_BATCH, "POST", true,
     true},
    {"/v1/metrics", METHOD_GET, handle_metrics, SM_ROUTE_METRICS, GET_ALLOW, false, false},
};

const size_t api_route_count = sizeof(api_routes) / sizeof(api_routes[0]);
