#ifndef KRONOS_SD_NOTIFY_H
#define KRONOS_SD_NOTIFY_H

/*
 * The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram of
 * "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace). Without $NOTIFY_SOCKET every call does nothing, so kronosd runs the same
 * under any supervisor.
 */

#include <stdint.h>

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID; call once at start, before threads. */
void sd_notify_init(void);
/* Sends `state` ("READY=1", "STOPPING=1", "STATUS=..."); 0 when sent or nobody listens, -1 on a
 * send error. */
int sd_notify_send(const char *state);
/* Nanoseconds between watchdog pings: half of $WATCHDOG_USEC (when $WATCHDOG_PID, if set, is
 * this process), else 0. */
uint64_t sd_watchdog_interval_ns(void);
/* Sends WATCHDOG=1 when the interval has passed since the last ping (now: monotonic ns). */
void sd_watchdog_tick(uint64_t now_ns);

#endif
