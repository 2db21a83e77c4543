#include "http/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "http/observe.h"
#include "http/response.h"
#include "obs/service_metrics.h"
#include "security/cidr.h"
#include "util/clock.h"

/* After an answer that closes the connection, input is discarded this long (or this much) so that
 * the close does not reset the connection under the answer (RFC 9112 §9.6). */
#define LINGER_NS 2000000000ull
#define LINGER_MAX_BYTES (1u << 20)

enum step { STOP, AGAIN };

static uint64_t to_ns(double seconds)
{
    return (uint64_t)(seconds * 1e9);
}

static void format_peer(http_conn *c)
{
    snprintf(c->ip, sizeof(c->ip), "unknown");
    if (cidr_addr_from_sockaddr((const struct sockaddr *)&c->peer, c->addr) != 0)
        return;
    static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(c->addr, v4_prefix, 12) == 0)
        inet_ntop(AF_INET, c->addr + 12, c->ip, sizeof(c->ip));
    else
        inet_ntop(AF_INET6, c->addr, c->ip, sizeof(c->ip));
}

http_conn *conn_create(http_worker *w, int fd, const struct sockaddr *peer, socklen_t len)
{
    http_conn *c = calloc(1, sizeof(*c));
    char *in = malloc(HTTP_CONN_BUFFER);
    if (!c || !in) {
        free(c);
        free(in);
        return NULL;
    }
    c->fd = fd;
    c->w = w;
    c->in = in;
    memcpy(&c->peer, peer, len < sizeof(c->peer) ? len : sizeof(c->peer));
    format_peer(c);
    c->state = CONN_HEAD;
    c->opened_ns = c->idle_since_ns = clock_mono_ns();
    return c;
}

/* ---- requests ---- */

static http_request *request_begin(http_conn *c, const http_head *head)
{
    const http_server_config *cfg = worker_config(c->w);
    http_request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->conn = c;
    r->ctx = cfg->ctx;
    r->head = head;
    r->label = SM_ROUTE_OTHER;
    r->container = "unknown";
    r->start_ns = c->req_start_ns ? c->req_start_ns : clock_mono_ns();
    r->peer = (const struct sockaddr *)&c->peer;
    memcpy(r->client_addr, c->addr, sizeof(r->client_addr));
    snprintf(r->client_ip, sizeof(r->client_ip), "%s", c->ip);
    r->body_limit = cfg->max_body;
    sb_init(&r->body, 0);
    const char *rid = head ? http_head_get(head, "X-Request-ID") : NULL;
    if (request_id_valid(rid))
        snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
    else
        request_id_generate(r->request_id);
    trace_start(&r->trace, head ? http_head_get(head, "traceparent") : NULL,
                head ? http_head_get(head, "tracestate") : NULL);
    if (head) {
        snprintf(r->method, sizeof(r->method), "%s", head->method);
        snprintf(r->path, sizeof(r->path), "%s", head->path);
    }
    c->req = r;
    worker_request_started(c->w);
    return r;
}

/* The request ends: counted and logged once. An answer that did not reach the client counts as
 * cancelled by the client (499), whatever it would have been. */
static void request_end(http_conn *c, bool delivered)
{
    http_request *r = c->req;
    if (!r)
        return;
    if (!delivered)
        r->status = HTTP_STATUS_CLIENT_CLOSED;
    http_observe_completed(r, delivered);
    if (r->handler_cleanup)
        r->handler_cleanup(r->handler_state);
    conn_release_body(c);
    c->req = NULL;
    free(r);
    worker_request_ended(c->w);
}

void conn_release_body(http_conn *c)
{
    if (c->req)
        sb_free(&c->req->body);
    gunzip_free(&c->gz);
    worker_uncharge(c->w, c->body_charged);
    c->body_charged = 0;
}

static void free_answer(http_conn *c)
{
    worker_uncharge(c->w, c->out_charged);
    c->out_charged = 0;
    if (!c->out_static)
        free(c->out_head);
    free(c->out_body);
    c->out_head = c->out_body = NULL;
    c->out_static = false;
    c->out_total = c->out_sent = 0;
}

void conn_close(http_conn *c, const char *why)
{
    (void)why;
    request_end(c, false);
    worker_detach(c->w, c);
    close(c->fd);
    free_answer(c);
    free(c->in);
    free(c);
}

/* ---- answers ---- */

static bool body_pending(const http_conn *c)
{
    return c->body_chunked ? !http_chunked_done(&c->chunked) : c->body_left > 0;
}

bool conn_answer_closes(const http_conn *c, int status)
{
    (void)status;
    const http_request *r = c->req;
    const atomic_bool *draining = worker_config(c->w)->draining;
    return c->peer_eof || !r || !r->head || !r->head->keep_alive || body_pending(c) ||
           (draining && atomic_load(draining));
}

void conn_set_answer(http_conn *c, int status, char *head, size_t head_len, char *body,
                     size_t body_len, bool closes)
{
    (void)status;
    if (c->state == CONN_WRITING || c->state == CONN_LINGER) { /* answered already */
        free(head);
        free(body);
        return;
    }
    if (c->req && strcmp(c->req->method, "HEAD") == 0) {
        free(body);
        body = NULL;
        body_len = 0;
    }
    c->out_head = head;
    c->out_body = body;
    c->out[0] = (struct iovec){head, head_len};
    c->out[1] = (struct iovec){body, body_len};
    c->out_total = head_len + body_len;
    c->out_sent = 0;
    c->out_charged = c->out_total;
    worker_charge(c->w, c->out_charged, true); /* the work is done: charged, never refused */
    c->close_after = closes;
    c->state = CONN_WRITING;
    /* After the connection timeout, the reader must have kept up the minimum average rate. */
    const http_server_config *cfg = worker_config(c->w);
    double seconds = cfg->connection_timeout + (double)c->out_total / cfg->min_send_rate;
    c->send_deadline_ns = clock_mono_ns() + to_ns(seconds);
}

void conn_set_fallback_answer(http_conn *c)
{
    static char fallback[] =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
        "Content-Length: 96\r\nConnection: close\r\n\r\n"
        "{\"detail\":\"internal error\",\"error\":{\"code\":\"internal_error\","
        "\"message\":\"internal error\",\"details\":[]}}";
    if (c->state == CONN_WRITING || c->state == CONN_LINGER)
        return;
    if (c->req)
        c->req->status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
    conn_set_answer(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, 0, NULL, 0, true);
    c->out_head = fallback;
    c->out_static = true;
    c->out[0] = (struct iovec){fallback, sizeof(fallback) - 1};
    c->out_total = sizeof(fallback) - 1;
}

/* An error answered by the server itself (parse errors, timeouts, refusals): the request may
 * not exist yet. */
static void answer_error(http_conn *c, int status, const char *code, const char *message,
                         const http_header_kv *extra, size_t nextra)
{
    http_request *r = c->req ? c->req : request_begin(c, NULL);
    if (!r) {
        conn_set_fallback_answer(c);
        return;
    }
    http_respond_error(r, status, code, message, NULL, extra, nextra);
}

void conn_refuse(http_conn *c, int status, const char *code, const char *message)
{
    http_header_kv retry = {"Retry-After", "1"};
    answer_error(c, status, code, message, &retry, 1);
}

/* ---- the state machine ---- */

static void run_handler(http_conn *c)
{
    http_request *r = c->req;
    c->state = CONN_HANDLING;
    http_result rc = r->route->handler(r);
    if (c->state == CONN_HANDLING) { /* neither answered nor suspended: a handler bug */
        (void)rc;
        http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                           "the handler produced no answer", NULL, NULL, 0);
    }
}

static void body_sink(void *ctx, const char *data, size_t n)
{
    http_conn *c = ctx;
    http_request *r = c->req;
    r->request_bytes += n;
    if (!r->route || !r->route->reads_body || r->request_bytes > r->body_limit || c->over_budget ||
        c->gz_status != GUNZIP_OK)
        return;
    size_t before = r->body.len;
    if (c->body_gzip)
        c->gz_status = gunzip_feed(&c->gz, data, n, &r->body);
    else
        sb_append(&r->body, data, n);
    size_t grown = r->body.len - before;
    if (!worker_charge(c->w, grown, false)) {
        c->over_budget = true;
        return;
    }
    c->body_charged += grown;
}

static void answer_too_large(http_conn *c)
{
    http_request *r = c->req;
    char msg[128];
    snprintf(msg, sizeof(msg), "request body exceeds %zu bytes (KRONOS_MAX_REQUEST_SIZE_MB)",
             r->body_limit);
    http_observe_oversized(r);
    http_respond_error(r, HTTP_STATUS_CONTENT_TOO_LARGE, "payload_too_large", msg, NULL, NULL, 0);
}

/* Content-Encoding of the body: identity, or gzip (inflated as it arrives, the size limit applying
 * to the inflated body too); anything else is 415. */
static bool accept_content_encoding(http_conn *c)
{
    http_request *r = c->req;
    const char *ce = http_head_get(&c->head, "Content-Encoding");
    if (!ce || strcasecmp(ce, "identity") == 0)
        return true;
    bool gzip = strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0;
    if (!gzip || http_head_count(&c->head, "Content-Encoding") > 1) {
        http_respond_error(r, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                           "Content-Encoding must be gzip or identity", NULL, NULL, 0);
        return false;
    }
    if (r->route->reads_body && body_pending(c)) {
        if (gunzip_init(&c->gz, worker_config(c->w)->max_inflated) != 0) {
            conn_set_fallback_answer(c);
            return false;
        }
        c->body_gzip = true;
    }
    return true;
}

/* "/v1/healthz/" answers 307 to "/v1/healthz" (query kept), as FastAPI's redirect_slashes does. */
static bool redirect_trailing_slash(http_conn *c)
{
    const http_server_config *cfg = worker_config(c->w);
    char path[sizeof(c->head.path)];
    size_t n = strlen(c->head.path);
    if (n < 2 || c->head.path[n - 1] != '/')
        return false;
    memcpy(path, c->head.path, n - 1);
    path[n - 1] = '\0';
    const route *to = router_find(cfg->routes, cfg->nroutes, path);
    if (!to)
        return false;
    http_request *r = c->req;
    strbuf location;
    sb_init(&location, 0);
    sb_puts(&location, path);
    if (c->head.query[0])
        sb_printf(&location, "?%s", c->head.query);
    char msg[300];
    snprintf(msg, sizeof(msg), "moved to %s", path);
    http_header_kv where = {"Location", sb_ok(&location) ? location.data : path};
    http_respond_error(r, HTTP_STATUS_TEMPORARY_REDIRECT, "redirect", msg, NULL, &where, 1);
    sb_free(&location);
    return true;
}

/* Routing, admission and the size limit, before any body byte is read. */
static void dispatch_head(http_conn *c)
{
    const http_server_config *cfg = worker_config(c->w);
    http_request *r = c->req;
    r->route = router_find(cfg->routes, cfg->nroutes, c->head.path);
    if (!r->route) {
        if (!redirect_trailing_slash(c))
            http_respond_error(r, HTTP_STATUS_NOT_FOUND, "not_found", "route not found", NULL, NULL,
                               0);
        return;
    }
    r->label = r->route->label;
    if (!(router_method_bit(r->method) & r->route->methods)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "method %s not allowed", r->method);
        http_header_kv allow = {"Allow", r->route->allow};
        http_respond_error(r, HTTP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", msg, NULL,
                           &allow, 1);
        return;
    }
    if (cfg->admit && !cfg->admit(r))
        return;
    if (c->head.has_length && c->head.content_length > r->body_limit) {
        answer_too_large(c);
        return;
    }
    if (!accept_content_encoding(c))
        return;
    if (body_pending(c) && c->head.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            c->peer_eof = true;
    }
}

static enum step step_head(http_conn *c)
{
    if (c->in_len == 0)
        return STOP;
    if (!http_head_end(c->in, c->in_len, c->scan) && c->in_len < HTTP_HEAD_MAX) {
        c->scan = c->in_len > 2 ? c->in_len - 2 : 0;
        return STOP;
    }
    http_head_error e;
    int rc = http_head_parse(c->in, c->in_len, &c->head, &e);
    if (rc == HTTP_HEAD_INCOMPLETE) {
        c->scan = c->in_len > 2 ? c->in_len - 2 : 0;
        return STOP;
    }
    if (rc == HTTP_HEAD_INVALID) {
        answer_error(c, e.status, e.code, e.message, NULL, 0);
        return AGAIN;
    }
    c->body_off = c->head.length;
    c->body_chunked = c->head.chunked;
    c->body_left = c->head.has_length ? c->head.content_length : 0;
    http_chunked_init(&c->chunked);
    if (!request_begin(c, &c->head)) {
        conn_set_fallback_answer(c);
        return AGAIN;
    }
    dispatch_head(c);
    if (c->state != CONN_HEAD)
        return AGAIN;
    if (body_pending(c)) {
        c->state = CONN_BODY;
        return AGAIN;
    }
    run_handler(c);
    return AGAIN;
}

static enum step step_body(http_conn *c)
{
    char *staged = c->in + c->body_off;
    size_t avail = c->in_len - c->body_off;
    if (avail == 0)
        return STOP;
    size_t used;
    if (c->body_chunked) {
        used = http_chunked_feed(&c->chunked, staged, avail, body_sink, c);
    } else {
        used = avail < c->body_left ? avail : (size_t)c->body_left;
        body_sink(c, staged, used);
        c->body_left -= used;
    }
    memmove(staged, staged + used, avail - used);
    c->in_len -= used;
    const char *error = c->body_chunked ? http_chunked_error(&c->chunked) : NULL;
    if (error) {
        http_respond_error(c->req, HTTP_STATUS_BAD_REQUEST, "bad_request", error, NULL, NULL, 0);
        return AGAIN;
    }
    if (c->req->request_bytes > c->req->body_limit) {
        answer_too_large(c);
        return AGAIN;
    }
    if (c->gz_status == GUNZIP_TOO_LARGE) {
        char msg[128];
        snprintf(msg, sizeof(msg), "gzip body inflates past %zu bytes (KRONOS_MAX_DECOMPRESSED_MB)",
                 worker_config(c->w)->max_inflated);
        http_observe_oversized(c->req);
        http_respond_error(c->req, HTTP_STATUS_CONTENT_TOO_LARGE, "payload_too_large", msg, NULL,
                           NULL, 0);
        return AGAIN;
    }
    if (c->gz_status == GUNZIP_CORRUPT) {
        http_respond_error(c->req, HTTP_STATUS_BAD_REQUEST, "bad_request",
                           "the body is not valid gzip (Content-Encoding: gzip)", NULL, NULL, 0);
        return AGAIN;
    }
    if (c->over_budget) {
        conn_release_body(c);
        http_header_kv retry = {"Retry-After", "1"};
        http_respond_error(c->req, HTTP_STATUS_SERVICE_UNAVAILABLE, "overloaded",
                           "the server's buffer memory (KRONOS_MAX_BUFFERED_MB) is in use; retry "
                           "later",
                           NULL, &retry, 1);
        return AGAIN;
    }
    if (body_pending(c))
        return STOP;
    if (c->body_gzip && c->req->route->reads_body && !gunzip_done(&c->gz)) {
        http_respond_error(c->req, HTTP_STATUS_BAD_REQUEST, "bad_request",
                           "the gzip body ends before its gzip stream", NULL, NULL, 0);
        return AGAIN;
    }
    run_handler(c);
    return AGAIN;
}

static void begin_linger(http_conn *c)
{
    if (c->peer_eof) {
        conn_close(c, "answered; peer closed");
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->in_len = 0;
    c->linger_until_ns = clock_mono_ns() + LINGER_NS;
    worker_watch(c->w, c, EPOLLIN | EPOLLRDHUP);
}

/* The answer is out: the next request (maybe already buffered) or the end. */
static enum step answer_sent(http_conn *c)
{
    free_answer(c);
    request_end(c, true);
    c->served++;
    c->idle_since_ns = clock_mono_ns();
    if (c->close_after || c->peer_eof) {
        begin_linger(c);
        return STOP;
    }
    size_t left = c->in_len - c->body_off;
    memmove(c->in, c->in + c->body_off, left);
    c->in_len = left;
    c->body_off = 0;
    c->scan = 0;
    c->body_left = 0;
    c->body_chunked = false;
    c->over_budget = false;
    c->body_gzip = false;
    c->gz_status = GUNZIP_OK;
    c->req_start_ns = left ? c->idle_since_ns : 0;
    c->state = CONN_HEAD;
    worker_watch(c->w, c, EPOLLIN | EPOLLRDHUP);
    return AGAIN;
}

static enum step step_write(http_conn *c)
{
    while (c->out_sent < c->out_total) {
        struct iovec iov[2];
        int n_iov = 0;
        size_t skip = c->out_sent;
        for (int i = 0; i < 2; i++) {
            if (skip >= c->out[i].iov_len) {
                skip -= c->out[i].iov_len;
                continue;
            }
            iov[n_iov].iov_base = (char *)c->out[i].iov_base + skip;
            iov[n_iov].iov_len = c->out[i].iov_len - skip;
            n_iov++;
            skip = 0;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            worker_watch(c->w, c, EPOLLOUT);
            return STOP;
        }
        conn_close(c, "write failed");
        return STOP;
    }
    return answer_sent(c);
}

/* Drives the connection as far as the bytes at hand allow. c may be freed on return. */
static void conn_advance(http_conn *c)
{
    for (;;) {
        enum step s;
        switch (c->state) {
        case CONN_HEAD:
            s = step_head(c);
            if (s == STOP && c->peer_eof) { /* nothing more will come */
                if (c->in_len == 0) {
                    conn_close(c, "peer closed");
                    return;
                }
                answer_error(c, HTTP_STATUS_BAD_REQUEST, "bad_request",
                             "the client closed its side before the request head was complete",
                             NULL, 0);
                s = AGAIN;
            }
            break;
        case CONN_BODY:
            s = step_body(c);
            if (s == STOP && c->state == CONN_BODY && c->peer_eof) {
                conn_close(c, "peer closed during the body");
                return;
            }
            break;
        case CONN_WRITING:
            s = step_write(c);
            break;
        case CONN_SUSPENDED:
            worker_watch(c->w, c, EPOLLRDHUP);
            return;
        default:
            return;
        }
        if (s == STOP)
            return;
    }
}

/* Reads what the socket has into the buffer. false when the connection was closed. */
static bool read_input(http_conn *c)
{
    while (c->in_len < HTTP_CONN_BUFFER) {
        ssize_t n = recv(c->fd, c->in + c->in_len, HTTP_CONN_BUFFER - c->in_len, 0);
        if (n > 0) {
            if (c->state == CONN_HEAD && c->in_len == 0)
                c->req_start_ns = clock_mono_ns();
            c->in_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            c->peer_eof = true;
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        conn_close(c, "read failed");
        return false;
    }
    return true;
}

static void discard_input(http_conn *c)
{
    char sink[16384];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
        if (n > 0) {
            c->in_len += (size_t)n; /* counts discarded bytes while lingering */
            if (c->in_len > LINGER_MAX_BYTES) {
                conn_close(c, "linger limit");
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c, "linger done");
        return;
    }
}

static void hang_up_suspended(http_conn *c)
{
    http_request *r = c->req;
    worker_unwatch(c->w, c);
    c->peer_eof = true;
    if (r && r->on_hangup)
        r->on_hangup(r->handler_state);
}

void conn_on_events(http_conn *c, uint32_t events)
{
    switch (c->state) {
    case CONN_HEAD:
    case CONN_BODY:
        if (read_input(c))
            conn_advance(c);
        return;
    case CONN_SUSPENDED:
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            hang_up_suspended(c);
        return;
    case CONN_WRITING:
        if (events & (EPOLLHUP | EPOLLERR)) {
            conn_close(c, "peer reset");
            return;
        }
        conn_advance(c);
        return;
    case CONN_LINGER:
        discard_input(c);
        return;
    case CONN_HANDLING:
        return;
    }
}

void conn_on_resume(http_conn *c)
{
    if (c->state != CONN_SUSPENDED)
        return;
    run_handler(c);
    if (c->peer_eof) { /* the client hung up while the work ran: its answer goes nowhere */
        conn_close(c, "client hung up");
        return;
    }
    conn_advance(c);
}

bool conn_evictable(const http_conn *c)
{
    return c->state == CONN_HEAD;
}

void conn_check_deadlines(http_conn *c, uint64_t now)
{
    const http_server_config *cfg = worker_config(c->w);
    switch (c->state) {
    case CONN_HEAD:
        if (c->in_len == 0) {
            uint64_t limit = c->served ? c->idle_since_ns + to_ns(cfg->connection_timeout)
                                       : c->opened_ns + to_ns(cfg->header_timeout);
            if (now >= limit)
                conn_close(c, "idle");
        } else if (now >= c->req_start_ns + to_ns(cfg->header_timeout)) {
            answer_error(c, HTTP_STATUS_REQUEST_TIMEOUT, "request_timeout",
                         "request head not received within KRONOS_HEADER_TIMEOUT", NULL, 0);
            conn_advance(c);
        }
        return;
    case CONN_BODY:
        if (now >= c->req_start_ns + to_ns(cfg->connection_timeout)) {
            http_respond_error(c->req, HTTP_STATUS_REQUEST_TIMEOUT, "request_timeout",
                               "request body not received within KRONOS_CONNECTION_TIMEOUT", NULL,
                               NULL, 0);
            conn_advance(c);
        }
        return;
    case CONN_WRITING:
        if (now >= c->send_deadline_ns) {
            /* Reset, not close: a plain close would leave the unsent answer in the kernel's
             * send buffer for as long as the slow reader keeps the window open. */
            struct linger reset = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
            conn_close(c, "client too slow to read the answer");
        }
        return;
    case CONN_LINGER:
        if (now >= c->linger_until_ns)
            conn_close(c, "linger over");
        return;
    default:
        return;
    }
}
