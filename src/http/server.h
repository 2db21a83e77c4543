#ifndef KRONOS_HTTP_SERVER_H
#define KRONOS_HTTP_SERVER_H

#include <stddef.h>

#include "app.h"

typedef struct http_server http_server;

/* Starts libmicrohttpd (thread pool + epoll) on cfg->host:cfg->port. NULL with err on failure. */
http_server *http_server_start(app *a, char *err, size_t errlen);
unsigned http_server_port(const http_server *s);
/* Stops accepting new connections; requests in flight continue. */
void http_server_quiesce(http_server *s);
/* Requests received and not yet completed. */
long http_server_inflight(const http_server *s);
void http_server_stop(http_server *s);

#endif
