#include "http/router.h"

#include <string.h>

const route *router_find(const route *routes, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
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
