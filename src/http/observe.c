#include "http/observe.h"

#include "obs/log.h"
#include "obs/service_metrics.h"
#include "util/clock.h"

void http_observe_started(void)
{
    sm_concurrent_inc();
}

void http_observe_completed(http_request *r, bool completed_ok)
{
    double latency_ms = (double)(clock_mono_ns() - r->start_ns) / 1e6;
    sm_concurrent_dec();
    enum sm_route route = r->label >= 0 && r->label < SM_ROUTE_COUNT ? r->label : SM_ROUTE_OTHER;
    sm_request_done(route, sm_status_from_http(r->status), latency_ms / 1e3, r->request_bytes,
                    r->response_bytes, r->trace.trace_id);
    /* 503 (not ready, overloaded) is the service protecting itself, and 499 the client leaving:
     * neither is a fault of the service. */
    log_level level = r->status >= 500 && r->status != 503 ? LOG_ERROR
                      : r->status == 503 || !completed_ok  ? LOG_WARNING
                                                           : LOG_INFO;
    log_line l;
    if (!log_begin(&l, level, "kronosd.http", "request completed"))
        return;
    log_str(&l, "request_id", r->request_id);
    log_str(&l, "trace_id", r->trace.trace_id);
    log_str(&l, "span_id", r->trace.span_id);
    if (r->identity[0])
        log_str(&l, "container", r->identity);
    log_str(&l, "client_ip", r->client_ip);
    log_str(&l, "method", r->method);
    log_str(&l, "path", r->path);
    log_str(&l, "endpoint", sm_route_names[route]);
    log_int(&l, "status_code", r->status);
    log_double(&l, "latency_ms", latency_ms);
    log_uint(&l, "request_size_bytes", r->request_bytes);
    log_uint(&l, "response_size_bytes", r->response_bytes);
    if (r->log_fields)
        r->log_fields(&l, r->handler_state);
    if (r->error_code) {
        log_str(&l, "error_type", r->error_code);
        log_str(&l, "error_message", r->error_message);
    }
    if (!completed_ok)
        log_str(&l, "error_message", "connection closed before the response was sent");
    log_end(&l);
}

void http_observe_oversized(http_request *r)
{
    http_observe_security_event(r, SM_EVENT_OVERSIZED);
    sm_size_rejection(r->container);
}

void http_observe_security_event(http_request *r, enum sm_event event)
{
    sm_security_event(event, r->container);
    log_line l;
    if (log_begin(&l, LOG_WARNING, "kronosd.security", "security event")) {
        log_str(&l, "event", sm_event_names[event]);
        log_str(&l, "request_id", r->request_id);
        log_str(&l, "container", r->identity);
        log_str(&l, "client_ip", r->client_ip);
        log_str(&l, "path", r->path);
        log_end(&l);
    }
}

void http_observe_rate_limited(http_request *r)
{
    http_observe_security_event(r, SM_EVENT_RATE_LIMITED);
    sm_rate_limit_hit(r->container);
}
