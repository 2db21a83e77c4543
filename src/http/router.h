#ifndef KRONOS_HTTP_ROUTER_H
#define KRONOS_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

struct http_request;

enum { METHOD_GET = 1, METHOD_POST = 2 };

typedef enum http_result (*route_handler)(struct http_request *r);

/* One entry of the route table the server is started with. */
typedef struct route {
    const char *path;
    unsigned methods;
    route_handler handler;
    int label;         /* enum sm_route: the metric label of the route */
    const char *allow; /* value of the Allow header for 405 */
    bool reads_body;   /* the handler needs the request body */
    bool secured;      /* the admission middleware (identity, rate limit) applies */
} route;

/* Exact-path lookup in routes[0..n); NULL when unknown. */
const route *router_find(const route *routes, size_t n, const char *path);
/* METHOD_* for a request method (HEAD counts as GET), 0 for others. */
unsigned router_method_bit(const char *method);

#endif
