#ifndef KRONOS_OBS_OTLP_HTTP_H
#define KRONOS_OBS_OTLP_HTTP_H

/* The HTTP/1.1 client of the span exporter: one POST per connection over a plain TCP socket,
 * bounded by a deadline in every step (resolve, connect, send, read the status). http:// only:
 * TLS is left to a local collector or agent (docs/OBSERVABILITY.md). */

#include <stdbool.h>
#include <stddef.h>

typedef struct otlp_endpoint {
    char host[256]; /* without brackets for IPv6 literals */
    char port[8];
    char path[768]; /* starts with '/' */
    char authority[300];
} otlp_endpoint;

/* http://host[:port][/path]; 0, or -1 with the reason in why. */
int otlp_endpoint_parse(const char *url, otlp_endpoint *ep, char *why, size_t whylen);

typedef struct otlp_http_result {
    int status;         /* the answer's status code; 0 when none came */
    double retry_after; /* Retry-After in seconds, -1 when absent or not a number of seconds */
    char error[512];    /* why no answer came */
} otlp_http_result;

/* Asked every 100 ms while waiting: true ends the request at once (a shutdown). */
typedef bool (*otlp_abort_fn)(void *ctx);

/* extra_headers: "Name: value\r\n" lines (may be ""). deadline: clock_mono_seconds() value.
 * should_abort may be NULL. */
void otlp_http_post(const otlp_endpoint *ep, const char *extra_headers, const char *content_type,
                    const void *body, size_t len, double deadline, otlp_abort_fn should_abort,
                    void *ctx, otlp_http_result *res);

#endif
