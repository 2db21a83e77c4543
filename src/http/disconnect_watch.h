#ifndef KRONOS_HTTP_DISCONNECT_WATCH_H
#define KRONOS_HTTP_DISCONNECT_WATCH_H

/* libmicrohttpd does not look at a suspended connection, so a client that hangs up while its
 * forecast is queued or running would go unnoticed. This thread polls the sockets of suspended
 * requests for a peer hang-up (POLLRDHUP) and abandons their scheduler jobs, so the work of a
 * client that disconnected is dropped. */

typedef struct disconnect_watch disconnect_watch;
typedef struct sched_job sched_job;

disconnect_watch *disconnect_watch_start(void);
void disconnect_watch_stop(disconnect_watch *w);
/* Watches fd for job until removed. Returns -1 when the table is full (the job is then simply
 * not watched). */
int disconnect_watch_add(disconnect_watch *w, int fd, sched_job *job);
/* Stops watching job; once this returns, the watch will not touch job again. */
void disconnect_watch_remove(disconnect_watch *w, sched_job *job);

#endif
