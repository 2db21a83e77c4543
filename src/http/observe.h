#ifndef KRONOS_HTTP_OBSERVE_H
#define KRONOS_HTTP_OBSERVE_H

#include <stdbool.h>

#include "http/request.h"
#include "obs/service_metrics.h"

/* The `request completed` log line and the per-request metrics, once per request. */
/* A request has begun (kronos_concurrent_requests). */
void http_observe_started(void);
void http_observe_completed(http_request *r, bool completed_ok);
/* A body over the size limit (security event + rejection counter). */
void http_observe_oversized(http_request *r);
/* A refused caller: counted by event and container, and logged. */
void http_observe_security_event(http_request *r, enum sm_event event);
/* Over the rate limit: the rate_limited security event plus kronos_rate_limit_hits_total. */
void http_observe_rate_limited(http_request *r);

#endif
