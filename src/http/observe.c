#include "http/observe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/status.h"
#include "obs/log.h"
#include "obs/service_metrics.h"
#include "obs/span.h"
#include "util/clock.h"

void http_observe_started(void)
{
    sm_concurrent_inc();
}

/* The methods HTTP semantic conventions name; any other is recorded as _OTHER. */
static const char *known_method(const char *m)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "_OTHER";
}

/* The request's SERVER span (HTTP semantic conventions), ended now: its children were ended by
 * the phases that measured them, naming its id (the one in the response's traceparent). */
static void server_span(const http_request *r, bool completed_ok, uint64_t now_ns)
{
    if (!r->trace.recording)
        return;
    const char *method = known_method(r->method);
    char name[SPAN_NAME_MAX];
    if (r->route)
        snprintf(name, sizeof(name), "%s %s", method, r->route->path);
    else
        snprintf(name, sizeof(name), "%s", strcmp(method, "_OTHER") ? method : "HTTP");
    span s;
    span_begin_server(&s, &r->trace, name, r->start_ns);
    span_str(&s, "http.request.method", method);
    if (strcmp(method, "_OTHER") == 0)
        span_str(&s, "http.request.method_original", r->method);
    if (r->route)
        span_str(&s, "http.route", r->route->path);
    span_str(&s, "url.path", r->path);
    span_str(&s, "url.scheme", "http");
    span_str(&s, "network.protocol.version", "1.1");
    if (r->status)
        span_int(&s, "http.response.status_code", r->status);
    span_str(&s, "client.address", r->client_ip);
    span_str(&s, "network.peer.address", r->client_ip);
    if (r->peer && (r->peer->sa_family == AF_INET || r->peer->sa_family == AF_INET6))
        span_int(&s, "network.peer.port",
                 ntohs(r->peer->sa_family == AF_INET
                           ? ((const struct sockaddr_in *)(const void *)r->peer)->sin_port
                           : ((const struct sockaddr_in6 *)(const void *)r->peer)->sin6_port));
    span_int(&s, "http.request.body.size", (int64_t)r->request_bytes);
    span_int(&s, "http.response.body.size", (int64_t)r->response_bytes);
    const char *ua = r->head ? http_header(r, "User-Agent") : NULL;
    if (ua)
        span_str(&s, "user_agent.original", ua);
    span_str(&s, "kronos.request_id", r->request_id);
    if (r->identity[0])
        span_str(&s, "kronos.container", r->identity);
    /* Server spans: 5xx is an error (error.type the status code), 4xx is the client's and
     * leaves the status unset; an answer never delivered is an error of its own type. */
    if (!completed_ok) {
        span_error(&s, "client_closed", "connection closed before the response was sent");
    } else if (r->status >= 500) {
        char code[12];
        snprintf(code, sizeof(code), "%d", r->status);
        span_error(&s, code, r->error_code ? r->error_message : NULL);
    }
    span_end(&s, now_ns);
}

void http_observe_completed(http_request *r, bool completed_ok)
{
    uint64_t now_ns = clock_mono_ns();
    double latency_ms = (double)(now_ns - r->start_ns) / 1e6;
    sm_concurrent_dec();
    enum sm_route route = r->label >= 0 && r->label < SM_ROUTE_COUNT ? r->label : SM_ROUTE_OTHER;
    /* With tracing on, an exemplar names a trace only when that trace was exported. */
    const char *exemplar =
        !trace_recording_enabled() || r->trace.recording ? r->trace.trace_id : NULL;
    sm_request_done(route, sm_status_from_http(r->status), latency_ms / 1e3, r->request_bytes,
                    r->response_bytes, exemplar);
    server_span(r, completed_ok, now_ns);
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
