#ifndef KRONOS_HTTP_REQUEST_H
#define KRONOS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/head.h"
#include "http/router.h"
#include "obs/trace.h"
#include "util/strbuf.h"

struct http_conn;
struct log_line;

/* What a handler returns: HTTP_RESULT_CLOSE when it could not answer (the server then sends a
 * fixed 500 and closes the connection). */
typedef enum http_result { HTTP_RESULT_OK = 0, HTTP_RESULT_CLOSE = 1 } http_result;

/* Everything known about one request, from its complete head to its completion. */
typedef struct http_request {
    struct http_conn *conn;
    void *ctx;          /* the handlers' context (http_server_config.ctx) */
    const route *route; /* NULL for unknown paths */
    int label;          /* enum sm_route: bounded metric label */
    const http_head *head;
    char method[HTTP_METHOD_MAX + 1];
    char path[256];
    uint64_t start_ns; /* monotonic: the request's first byte */
    char request_id[REQUEST_ID_MAX + 1];
    trace_ctx trace;
    char client_ip[64];
    uint8_t client_addr[16]; /* IPv6 or IPv4-mapped */
    const struct sockaddr *peer;

    strbuf body;
    size_t body_limit;

    int status;
    size_t request_bytes;
    size_t response_bytes;
    const char *error_code;
    char error_message[256];
    char identity[129];
    const char *container; /* bounded metric label of the identity */
    /* Header lines ("Name: value\r\n") that every answer of this request carries, whoever gives
     * it; set by the admission middleware (RateLimit-* on a rate-limited route). */
    char answer_headers[160];

    /* Handler-owned state for requests answered asynchronously: cleanup runs on completion;
     * on_hangup runs (on the connection's thread) when the client goes away while suspended. */
    void *handler_state;
    void (*handler_cleanup)(void *state);
    void (*on_hangup)(void *state);
    /* Adds the handler's own fields to the request's `request completed` log line. */
    void (*log_fields)(struct log_line *l, void *state);
} http_request;

/* First value of a header (case-insensitive), NULL when absent; and how many lines carry it. */
const char *http_header(const http_request *r, const char *name);
size_t http_header_count(const http_request *r, const char *name);
/* The raw value of a query argument (not percent-decoded) copied into out; false when absent. */
bool http_query_arg(const http_request *r, const char *name, char *out, size_t outlen);
/* Frees the request body once the handler no longer needs it. While the request is suspended its
 * body is the handler's: the thread working on it may read it and release it (the server touches
 * neither until http_resume). */
void http_body_release(http_request *r);

/* A handler that answers later calls http_suspend before returning, and http_resume exactly once
 * afterwards, from any thread; the handler is then called again on the connection's thread. When
 * the client hung up meanwhile (on_hangup ran), the answer it gives is dropped and the request
 * ends as cancelled by the client (499). */
void http_suspend(http_request *r);
void http_resume(http_request *r);

#endif
