#include "http/conn_reaper.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "obs/log.h"
#include "util/clock.h"

#define REAPER_INTERVAL_MS 200

struct conn_track {
    int fd;
    atomic_uint_fast64_t phase_start_ns;
    atomic_bool receiving;
    bool reaped;
    conn_track *prev, *next;
};

struct conn_reaper {
    pthread_mutex_t lock; /* guards the list; held while touching a tracked fd */
    pthread_t thread;
    atomic_bool stop;
    uint64_t limit_ns;
    conn_track *head;
};

static void *reaper_loop(void *arg)
{
    conn_reaper *r = arg;
    while (!atomic_load(&r->stop)) {
        poll(NULL, 0, REAPER_INTERVAL_MS);
        uint64_t now = clock_mono_ns();
        int reaped = 0;
        pthread_mutex_lock(&r->lock);
        /* closed() unlinks under this lock before libmicrohttpd closes the fd, so every fd
         * seen here is still the connection's own. */
        for (conn_track *t = r->head; t; t = t->next) {
            if (t->reaped || !atomic_load(&t->receiving))
                continue;
            if (now - atomic_load(&t->phase_start_ns) > r->limit_ns) {
                shutdown(t->fd, SHUT_RDWR);
                t->reaped = true;
                reaped++;
            }
        }
        pthread_mutex_unlock(&r->lock);
        if (reaped) {
            log_line l;
            if (log_begin(&l, LOG_WARNING, "kronosd.http",
                          "closed connections that did not deliver a request in time")) {
                log_int(&l, "connections", reaped);
                log_double(&l, "limit_seconds", (double)r->limit_ns / 1e9);
                log_end(&l);
            }
        }
    }
    return NULL;
}

conn_reaper *conn_reaper_start(double limit_seconds)
{
    conn_reaper *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->limit_ns = (uint64_t)(limit_seconds * 1e9);
    pthread_mutex_init(&r->lock, NULL);
    if (pthread_create(&r->thread, NULL, reaper_loop, r) != 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void conn_reaper_stop(conn_reaper *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

conn_track *conn_reaper_opened(conn_reaper *r, int fd)
{
    conn_track *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->fd = fd;
    atomic_init(&t->phase_start_ns, clock_mono_ns());
    atomic_init(&t->receiving, true);
    pthread_mutex_lock(&r->lock);
    t->next = r->head;
    if (r->head)
        r->head->prev = t;
    r->head = t;
    pthread_mutex_unlock(&r->lock);
    return t;
}

void conn_reaper_closed(conn_reaper *r, conn_track *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&r->lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        r->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&r->lock);
    free(t);
}

void conn_track_received(conn_track *t)
{
    if (t)
        atomic_store(&t->receiving, false);
}

void conn_track_idle(conn_track *t)
{
    if (!t)
        return;
    atomic_store(&t->phase_start_ns, clock_mono_ns());
    atomic_store(&t->receiving, true);
}
