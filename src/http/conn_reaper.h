#ifndef KRONOS_HTTP_CONN_REAPER_H
#define KRONOS_HTTP_CONN_REAPER_H

#include <stdbool.h>
#include <stdint.h>

/* The absolute deadline to receive a request. libmicrohttpd's connection timeout is an
 * inactivity timer that every byte restarts, so a client trickling its headers or body one byte
 * at a time could hold a connection forever (slowloris). The reaper tracks, per connection, when
 * the current request began to arrive and shuts down the socket of any connection that has not
 * delivered a complete request within the limit; libmicrohttpd then sees EOF and closes it. */

typedef struct conn_reaper conn_reaper;
typedef struct conn_track conn_track;

conn_reaper *conn_reaper_start(double limit_seconds);
void conn_reaper_stop(conn_reaper *r);

/* From libmicrohttpd's connection notifications. */
conn_track *conn_reaper_opened(conn_reaper *r, int fd);
void conn_reaper_closed(conn_reaper *r, conn_track *t);
/* A whole request has arrived (stop the clock) / a response is done (the next request's clock
 * starts now). */
void conn_track_received(conn_track *t);
void conn_track_idle(conn_track *t);

#endif
