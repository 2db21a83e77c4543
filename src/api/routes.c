/* The route table kronosd serves, handed to the HTTP server by main. The docs routes come last
 * so that KRONOS_DOCS_ENABLED=false serves the same table, shortened: one table, no copy. */
#include "api/handlers.h"
#include "config.h"
#include "obs/service_metrics.h"

#define GET_ALLOW "GET, HEAD"

static const route api_routes[] = {
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
    {"/openapi.json", METHOD_GET, handle_openapi, SM_ROUTE_OPENAPI, GET_ALLOW, false, false},
    {"/docs", METHOD_GET, handle_docs, SM_ROUTE_DOCS, GET_ALLOW, false, false},
    {"/redoc", METHOD_GET, handle_redoc, SM_ROUTE_REDOC, GET_ALLOW, false, false},
};

#define DOCS_ROUTES 3

const route *api_route_table(const config *cfg, size_t *n)
{
    *n = sizeof(api_routes) / sizeof(api_routes[0]) - (cfg->docs_enabled ? 0 : DOCS_ROUTES);
    return api_routes;
}
