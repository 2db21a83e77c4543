#ifndef KRONOS_HTTP_SERVER_H
#define KRONOS_HTTP_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"
#include "http/router.h"

/* An HTTP/1.1 server: a pool of event-loop threads (epoll) sharing one listening socket. Every
 * request gets exactly one framed answer, counted and logged once (http/observe). The server knows
 * nothing of the handlers: it is given a route table and an admission middleware. */

typedef struct http_server http_server;

typedef struct http_server_config {
    const char *host; /* IPv4 or IPv6 literal; "::" listens on both families */
    int port;         /* 0: any free port */
    unsigned threads;
    double header_timeout;     /* seconds to send a complete request head */
    double connection_timeout; /* seconds to send a whole request; keep-alive idle limit */
    double min_send_rate;      /* bytes/s a client must read an answer at, after the timeout */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    size_t max_body;     /* bytes on the wire */
    size_t max_inflated; /* bytes a gzip body may inflate to */
    size_t max_buffered; /* bytes of bodies being received plus answers being sent, all
                            connections together; a body that would cross it is refused (503) */

    const route *routes;
    size_t nroutes;
    /* Runs once the head is parsed and routed, before the body is read. Returns false when it
     * answered the request itself (401/403/429...). */
    bool (*admit)(http_request *r);
    void *ctx;                   /* the handlers' context, handed to them as r->ctx */
    const atomic_bool *draining; /* when set, answers carry Connection: close */
} http_server_config;

/* Binds and starts the threads; NULL with a message in err. cfg's pointers must outlive the
 * server. */
http_server *http_server_start(const http_server_config *cfg, char *err, size_t errlen);
unsigned http_server_port(const http_server *s);
/* Stops accepting: new connections are refused; open ones are served. */
void http_server_quiesce(http_server *s);
/* Requests received and not yet completed. */
long http_server_inflight(const http_server *s);
/* Stops the threads and closes every connection. */
void http_server_stop(http_server *s);

#endif
