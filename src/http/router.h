#ifndef KRONOS_HTTP_ROUTER_H
#define KRONOS_HTTP_ROUTER_H

#include <stdbool.h>

#include <microhttpd.h>

struct http_request;

/* The bounded set of `route` label values of the metrics (SPEC §3). */
typedef enum route_label {
    ROUTE_ROOT,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_HEALTHZ_DETAILED,
    ROUTE_PREDICT_SINGLE,
    ROUTE_PREDICT_BATCH,
    ROUTE_METRICS,
    ROUTE_OTHER,
    ROUTE_LABEL_COUNT
} route_label;

enum { METHOD_GET = 1, METHOD_POST = 2 };

typedef enum MHD_Result (*route_handler)(struct http_request *r);

typedef struct route {
    const char *path;
    unsigned methods;
    route_handler handler;
    route_label label;
    const char *allow; /* value of the Allow header for 405 */
    bool reads_body;   /* the handler needs the request body */
    bool secured;      /* identity checks (401/403) and the rate limit (429) apply */
} route;

const char *route_label_name(route_label l);
/* Exact-path lookup; NULL when unknown. */
const route *router_find(const char *path);
/* METHOD_* for a request method (HEAD counts as GET), 0 for others. */
unsigned router_method_bit(const char *method);

#endif
