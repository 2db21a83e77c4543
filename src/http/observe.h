#ifndef KRONOS_HTTP_OBSERVE_H
#define KRONOS_HTTP_OBSERVE_H

#include <stdbool.h>

#include "http/request.h"

/* The `request completed` log line and the per-request metrics, once per request. */
void http_observe_completed(http_request *r, bool completed_ok);
/* A body over the size limit (security event + rejection counter). */
void http_observe_oversized(http_request *r);

#endif
