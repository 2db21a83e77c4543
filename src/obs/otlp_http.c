#include "obs/otlp_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"

int otlp_endpoint_parse(const char *url, otlp_endpoint *ep, char *why, size_t whylen)
{
    memset(ep, 0, sizeof(*ep));
    static const char scheme[] = "http://";
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(why, whylen,
                 "https is not supported: send to a local OpenTelemetry Collector or agent over "
                 "http:// and let it forward with TLS");
        return -1;
    }
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        snprintf(why, whylen, "an http:// URL");
        return -1;
    }
    const char *p = url + sizeof(scheme) - 1;
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || alen >= sizeof(ep->authority)) {
        snprintf(why, whylen, "a host after http://");
        return -1;
    }
    memcpy(ep->authority, p, alen);
    const char *port = NULL;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close || close == p + 1) {
            snprintf(why, whylen, "a closing ']' after the IPv6 address");
            return -1;
        }
        memcpy(ep->host, p + 1, (size_t)(close - p - 1));
        if (close + 1 < p + alen) {
            if (close[1] != ':') {
                snprintf(why, whylen, "':port' after the IPv6 address");
                return -1;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        size_t hlen = colon ? (size_t)(colon - p) : alen;
        if (hlen == 0 || hlen >= sizeof(ep->host)) {
            snprintf(why, whylen, "a host name");
            return -1;
        }
        memcpy(ep->host, p, hlen);
        if (colon)
            port = colon + 1;
    }
    if (port) {
        size_t plen = (size_t)(p + alen - port);
        long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9' || v > 65535) {
                v = -1;
                break;
            }
            v = v * 10 + (port[i] - '0');
        }
        if (plen == 0 || v < 1 || v > 65535) {
            snprintf(why, whylen, "a port in 1..65535");
            return -1;
        }
        snprintf(ep->port, sizeof(ep->port), "%ld", v);
    } else {
        snprintf(ep->port, sizeof(ep->port), "80");
    }
    const char *path = p + alen;
    if (*path == '?' || *path == '#' || !*path) {
        snprintf(ep->path, sizeof(ep->path), "/%s", *path == '#' ? "" : path);
    } else {
        if (strlen(path) >= sizeof(ep->path)) {
            snprintf(why, whylen, "a shorter path");
            return -1;
        }
        snprintf(ep->path, sizeof(ep->path), "%s", path);
    }
    char *hash = strchr(ep->path, '#');
    if (hash)
        *hash = '\0';
    for (const char *c = ep->path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            snprintf(why, whylen, "a path without spaces or control characters");
            return -1;
        }
    return 0;
}

static int ms_left(double deadline)
{
    double left = deadline - clock_mono_seconds();
    if (left <= 0)
        return 0;
    return left > 3600 ? 3600000 : (int)(left * 1000) + 1;
}

typedef struct waiter {
    double deadline;
    otlp_abort_fn should_abort;
    void *ctx;
} waiter;

static int wait_fd(int fd, short events, const waiter *w)
{
    for (;;) {
        int ms = ms_left(w->deadline);
        if (ms == 0)
            return -1;
        if (w->should_abort && w->should_abort(w->ctx))
            return -1;
        struct pollfd p = {fd, events, 0};
        int rc = poll(&p, 1, ms < 100 ? ms : 100);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int connect_to(const otlp_endpoint *ep, const waiter *deadline, char *error, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(ep->host, ep->port, &hints, &ai);
    if (rc != 0) {
        snprintf(error, errlen, "cannot resolve %s: %s", ep->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        int soerr = errno;
        if (soerr == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            socklen_t sl = sizeof(soerr);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
        } else if (soerr == EINPROGRESS) {
            soerr = ETIMEDOUT;
        }
        snprintf(error, errlen, "connect to %s: %s", ep->authority, strerror(soerr));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int send_all(int fd, const char *p, size_t len, const waiter *deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Status line and Retry-After from the answer's head; the body is not needed. */
static void parse_head(const char *head, otlp_http_result *res)
{
    int status = 0;
    if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) == 1 && status >= 100 && status <= 599)
        res->status = status;
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, "Retry-After:", 12) != 0)
            continue;
        h += 12;
        while (*h == ' ' || *h == '\t')
            h++;
        char *end;
        long v = strtol(h, &end, 10);
        if (end != h && v >= 0 && (*end == '\r' || *end == ' '))
            res->retry_after = (double)v;
        break;
    }
}

void otlp_http_post(const otlp_endpoint *ep, const char *extra_headers, const char *content_type,
                    const void *body, size_t len, double until, otlp_abort_fn should_abort,
                    void *ctx, otlp_http_result *res)
{
    waiter w = {until, should_abort, ctx};
    const waiter *deadline = &w;
    res->status = 0;
    res->retry_after = -1;
    res->error[0] = '\0';
    int fd = connect_to(ep, deadline, res->error, sizeof(res->error));
    if (fd < 0)
        return;
    char head[4096];
    int hn = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "User-Agent: kronosd-otlp\r\nConnection: close\r\n%s\r\n",
                      ep->path, ep->authority, content_type, len, extra_headers);
    if (hn < 0 || (size_t)hn >= sizeof(head)) {
        snprintf(res->error, sizeof(res->error), "request head too long");
        close(fd);
        return;
    }
    if (send_all(fd, head, (size_t)hn, deadline) != 0 || send_all(fd, body, len, deadline) != 0) {
        snprintf(res->error, sizeof(res->error), "sending to %s: %s", ep->authority,
                 errno ? strerror(errno) : "timed out");
        close(fd);
        return;
    }
    char in[4096];
    size_t got = 0;
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) != 0) {
            snprintf(res->error, sizeof(res->error), "no answer from %s in time", ep->authority);
            break;
        }
        ssize_t n = recv(fd, in + got, sizeof(in) - 1 - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            snprintf(res->error, sizeof(res->error), "%s closed the connection", ep->authority);
            break;
        }
        got += (size_t)n;
        in[got] = '\0';
        if (strstr(in, "\r\n\r\n") || got == sizeof(in) - 1) {
            parse_head(in, res);
            if (!res->status)
                snprintf(res->error, sizeof(res->error), "%s answered no HTTP status",
                         ep->authority);
            break;
        }
    }
    close(fd);
}
