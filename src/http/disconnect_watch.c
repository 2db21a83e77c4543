#include "http/disconnect_watch.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scheduler.h"

#define WATCH_MAX 4096
#define WATCH_INTERVAL_MS 100

typedef struct watched {
    int fd;
    sched_job *job;
} watched;

struct disconnect_watch {
    pthread_mutex_t lock;
    pthread_t thread;
    atomic_bool stop;
    size_t n;
    watched items[WATCH_MAX];
    struct pollfd fds[WATCH_MAX]; /* the watch thread's snapshot */
};

static void *watch_loop(void *arg)
{
    disconnect_watch *w = arg;
    struct pollfd *fds = w->fds;
    while (!atomic_load(&w->stop)) {
        pthread_mutex_lock(&w->lock);
        size_t n = w->n;
        for (size_t i = 0; i < n; i++)
            fds[i] = (struct pollfd){.fd = w->items[i].fd, .events = POLLRDHUP};
        pthread_mutex_unlock(&w->lock);
        if (n == 0 || poll(fds, n, 0) <= 0) {
            poll(NULL, 0, WATCH_INTERVAL_MS);
            continue;
        }
        pthread_mutex_lock(&w->lock);
        /* Entries may have moved since the snapshot: match hung-up fds by value. Abandoning
         * under the lock keeps remove() a barrier: after it, the job is never touched here. */
        for (size_t i = 0; i < n; i++) {
            if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
                continue;
            for (size_t j = 0; j < w->n; j++) {
                if (w->items[j].fd == fds[i].fd) {
                    sched_job_abandon(w->items[j].job);
                    w->items[j] = w->items[--w->n];
                    break;
                }
            }
        }
        pthread_mutex_unlock(&w->lock);
        poll(NULL, 0, WATCH_INTERVAL_MS);
    }
    return NULL;
}

disconnect_watch *disconnect_watch_start(void)
{
    disconnect_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, watch_loop, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void disconnect_watch_stop(disconnect_watch *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

int disconnect_watch_add(disconnect_watch *w, int fd, sched_job *job)
{
    int rc = -1;
    pthread_mutex_lock(&w->lock);
    if (w->n < WATCH_MAX) {
        w->items[w->n++] = (watched){fd, job};
        rc = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void disconnect_watch_remove(disconnect_watch *w, sched_job *job)
{
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->n; i++) {
        if (w->items[i].job == job) {
            w->items[i] = w->items[--w->n];
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
}
