#include "http/server.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/auth.h"
#include "http/conn_reaper.h"
#include "http/observe.h"
#include "http/request.h"
#include "http/response.h"
#include "obs/log.h"
#include "util/clock.h"

struct http_server {
    struct MHD_Daemon *daemon;
    conn_reaper *reaper;
    app *app;
    atomic_long inflight;
    unsigned port;
};

const char *http_header(http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_WARNING, "kronosd.http", msg);
}

static void format_client(http_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->client_ip, sizeof(r->client_ip), "unknown");
    if (!ci || !ci->client_addr || cidr_addr_from_sockaddr(ci->client_addr, r->client_addr) != 0)
        return;
    static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(r->client_addr, v4_prefix, 12) == 0)
        inet_ntop(AF_INET, r->client_addr + 12, r->client_ip, sizeof(r->client_ip));
    else
        inet_ntop(AF_INET6, r->client_addr, r->client_ip, sizeof(r->client_ip));
}

static conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? conn_reaper_opened(s->reaper, ci->connect_fd) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_reaper_closed(s->reaper, *socket_context);
        *socket_context = NULL;
    }
}

/* Called by libmicrohttpd when the request line arrives: the request's clock starts here. */
static void *on_request_start(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    http_server *s = cls;
    http_request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->conn = conn;
    r->app = s->app;
    r->start_ns = clock_mono_ns();
    r->label = ROUTE_OTHER;
    r->container = "unknown";
    sb_init(&r->body, 0);
    atomic_fetch_add(&s->inflight, 1);
    http_observe_started();
    return r;
}

static bool content_length_over(http_request *r)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return *end == '\0' && n > r->body_limit;
}

static enum MHD_Result reject_too_large(http_request *r)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "request body exceeds %zu bytes (KRONOS_MAX_REQUEST_SIZE_MB)",
             r->body_limit);
    http_observe_oversized(r);
    return http_respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", msg, NULL, NULL,
                              0);
}

/* First call for a request: headers are complete. Identity, routing and early rejections. */
static enum MHD_Result begin(http_request *r, const char *url, const char *method)
{
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->path, sizeof(r->path), "%s", url);
    const char *rid = http_header(r, "X-Request-ID");
    if (request_id_valid(rid))
        snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
    else
        request_id_generate(r->request_id);
    trace_start(&r->trace, http_header(r, "traceparent"));
    format_client(r);

    r->route = router_find(url);
    if (!r->route)
        return http_respond_error(r, MHD_HTTP_NOT_FOUND, "not_found", "route not found", NULL, NULL,
                                  0);
    r->label = r->route->label;
    if (!(router_method_bit(method) & r->route->methods)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "method %s not allowed", r->method);
        http_header_kv allow = {MHD_HTTP_HEADER_ALLOW, r->route->allow};
        return http_respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", msg, NULL,
                                  &allow, 1);
    }
    if (!api_admit(r))
        return MHD_YES; /* refused: the error response is queued */
    r->body_limit = config_max_request_bytes(r->app->cfg);
    if (r->route->reads_body && content_length_over(r)) {
        r->body_too_large = true;
        return reject_too_large(r);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)conn;
    (void)version;
    http_request *r = *con_cls;
    if (!r)
        return MHD_NO;
    if (!r->request_id[0])
        return begin(r, url, method);
    if (r->status) /* already answered (404/405/413 before the body) */
        return MHD_YES;

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->request_bytes += n;
        if (!r->route->reads_body || r->body_too_large)
            return MHD_YES;
        if (r->body.len + n > r->body_limit) {
            r->body_too_large = true;
            sb_free(&r->body);
            return MHD_YES;
        }
        sb_append(&r->body, upload_data, n);
        return sb_ok(&r->body) ? MHD_YES : MHD_NO;
    }

    conn_track_received(track_of(conn));
    if (r->body_too_large)
        return reject_too_large(r);
    return r->route->handler(r);
}

static void on_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    conn_track_idle(track_of(conn));
    http_observe_completed(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (r->handler_cleanup)
        r->handler_cleanup(r->handler_state);
    sb_free(&r->body);
    free(r);
    atomic_fetch_sub(&s->inflight, 1);
}

static int bind_address(const config *cfg, struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, cfg->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        return 0;
    }
    if (inet_pton(AF_INET6, cfg->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        *flags |= MHD_USE_DUAL_STACK;
        return 0;
    }
    return -1;
}

http_server *http_server_start(app *a, char *err, size_t errlen)
{
    const config *cfg = a->cfg;
    http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->app = a;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_storage addr;
    if (bind_address(cfg, &addr, &flags) != 0) {
        snprintf(err, errlen, "KRONOS_HOST=\"%s\" is not an IP address", cfg->host);
        free(s);
        return NULL;
    }
    s->reaper = conn_reaper_start(cfg->connection_timeout);
    if (!s->reaper) {
        snprintf(err, errlen, "cannot start the connection reaper thread");
        free(s);
        return NULL;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* Handlers never wait on the model, but parsing a large body takes milliseconds: twice the
     * cores (at least 4) keeps probes and scrapes answered while one thread parses. */
    unsigned pool = (unsigned)(cores > 2 ? 2 * cores : 4);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, pool,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_start, s, MHD_OPTION_NOTIFY_COMPLETED, on_request_done, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not available)", cfg->host,
                 cfg->port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : (unsigned)cfg->port;
    return s;
}

unsigned http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_quiesce(http_server *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

long http_server_inflight(const http_server *s)
{
    return atomic_load(&s->inflight);
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    conn_reaper_stop(s->reaper);
    free(s);
}
