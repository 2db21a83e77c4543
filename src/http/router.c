#include "http/router.h"

#include <string.h>

#include "api/handlers.h"

#define GET_ALLOW "GET, HEAD"

static const route routes[] = {
    {"/", METHOD_GET, handle_root, ROUTE_ROOT, GET_ALLOW, false, false},
    {"/v1/healthz", METHOD_GET, handle_healthz, ROUTE_HEALTHZ, GET_ALLOW, false, false},
    {"/v1/readyz", METHOD_GET, handle_readyz, ROUTE_READYZ, GET_ALLOW, false, false},
    {"/v1/healthz/detailed", METHOD_GET, handle_healthz_detailed, ROUTE_HEALTHZ_DETAILED, GET_ALLOW,
     false, true},
    {"/v1/predict/single", METHOD_POST, handle_predict_single, ROUTE_PREDICT_SINGLE, "POST", true,
     true},
    {"/v1/predict/batch", METHOD_POST, handle_predict_batch, ROUTE_PREDICT_BATCH, "POST", true,
     true},
    {"/v1/metrics", METHOD_GET, handle_metrics, ROUTE_METRICS, GET_ALLOW, false, false},
#ifdef KRONOS_TEST_HOOKS
    /* Test builds only: a request that takes ?ms=N milliseconds, for shutdown tests. */
    {"/v1/debug/delay", METHOD_GET, handle_debug_delay, ROUTE_OTHER, GET_ALLOW, false, false},
#endif
};

static const char *const label_names[ROUTE_LABEL_COUNT] = {
    [ROUTE_ROOT] = "/",
    [ROUTE_HEALTHZ] = "/v1/healthz",
    [ROUTE_READYZ] = "/v1/readyz",
    [ROUTE_HEALTHZ_DETAILED] = "/v1/healthz/detailed",
    [ROUTE_PREDICT_SINGLE] = "/v1/predict/single",
    [ROUTE_PREDICT_BATCH] = "/v1/predict/batch",
    [ROUTE_METRICS] = "/v1/metrics",
    [ROUTE_OTHER] = "other",
};

const char *route_label_name(route_label l)
{
    return l < ROUTE_LABEL_COUNT ? label_names[l] : label_names[ROUTE_OTHER];
}

const route *router_find(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

unsigned router_method_bit(const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return METHOD_GET;
    if (strcmp(method, "POST") == 0)
        return METHOD_POST;
    return 0;
}
