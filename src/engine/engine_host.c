#include "engine/engine_host.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/clock.h"

struct engine_host {
    engine *e;
    double timeout;
    engine_host_listener on_change;
    void *user;

    pthread_t loader, timer;
    bool timer_started;

    /* notify_mu serialises transition + listener call, so listeners see changes in order;
     * mu guards the fields below and is never held while the listener runs. */
    pthread_mutex_t notify_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* load finished, or destroy */
    engine_state state;
    bool load_finished;
    bool late;
    bool stopping;
    bool silenced; /* engine_host_stop() was called: no more listener calls */
    double started_at, load_seconds;
    char reason[256];
};

const char *engine_state_name(engine_state s)
{
    switch (s) {
    case ENGINE_STATE_LOADING:
        return "loading";
    case ENGINE_STATE_READY:
        return "ready";
    case ENGINE_STATE_FAILED:
        return "failed";
    }
    return "unknown";
}

/* Caller holds notify_mu (not mu). */
static void notify(engine_host *h)
{
    if (!h->on_change)
        return;
    pthread_mutex_lock(&h->mu);
    engine_state st = h->state;
    char reason[sizeof h->reason];
    memcpy(reason, h->reason, sizeof reason);
    double secs = h->load_finished ? h->load_seconds : clock_mono_seconds() - h->started_at;
    bool late = h->late;
    pthread_mutex_unlock(&h->mu);
    h->on_change(h, st, reason, secs, late, h->user);
}

static void *loader_main(void *arg)
{
    engine_host *h = arg;
    char err[256] = "";
    int rc = h->e->ops->load ? h->e->ops->load(h->e, err, sizeof err) : ENGINE_OK;
    double secs = clock_mono_seconds() - h->started_at;

    pthread_mutex_lock(&h->notify_mu);
    pthread_mutex_lock(&h->mu);
    bool timed_out = h->state == ENGINE_STATE_FAILED;
    h->load_finished = true;
    h->load_seconds = secs;
    if (rc == ENGINE_OK) {
        h->state = ENGINE_STATE_READY;
        if (timed_out) {
            h->late = true;
            snprintf(h->reason, sizeof h->reason,
                     "model loaded after the %g s startup timeout (took %.1f s)", h->timeout, secs);
        } else {
            h->reason[0] = '\0';
        }
    } else {
        h->state = ENGINE_STATE_FAILED;
        snprintf(h->reason, sizeof h->reason, "%s", err[0] ? err : "model load failed");
    }
    bool silenced = h->silenced;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (!silenced)
        notify(h);
    pthread_mutex_unlock(&h->notify_mu);
    return NULL;
}

static void *timer_main(void *arg)
{
    engine_host *h = arg;
    double until = h->started_at + h->timeout;
    struct timespec ts = clock_mono_timespec(until);
    pthread_mutex_lock(&h->mu);
    while (!h->load_finished && !h->stopping && clock_mono_seconds() < until)
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    pthread_mutex_unlock(&h->mu);

    pthread_mutex_lock(&h->notify_mu);
    pthread_mutex_lock(&h->mu);
    bool fire = !h->load_finished && !h->stopping;
    if (fire) {
        h->state = ENGINE_STATE_FAILED;
        snprintf(h->reason, sizeof h->reason, "model load did not finish within %g s", h->timeout);
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (fire)
        notify(h);
    pthread_mutex_unlock(&h->notify_mu);
    return NULL;
}

engine_host *engine_host_start(engine *e, double startup_timeout_s, engine_host_listener on_change,
                               void *user)
{
    if (!e || !e->ops)
        return NULL;
    engine_host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->e = e;
    h->timeout = startup_timeout_s > 0 && isfinite(startup_timeout_s) ? startup_timeout_s : 0;
    h->on_change = on_change;
    h->user = user;
    h->state = ENGINE_STATE_LOADING;
    if (pthread_mutex_init(&h->mu, NULL) || pthread_mutex_init(&h->notify_mu, NULL) ||
        clock_cond_init(&h->cv)) {
        free(h);
        return NULL;
    }
    h->started_at = clock_mono_seconds();
    pthread_mutex_lock(&h->notify_mu);
    notify(h); /* LOADING */
    pthread_mutex_unlock(&h->notify_mu);
    if (pthread_create(&h->loader, NULL, loader_main, h)) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        pthread_mutex_destroy(&h->notify_mu);
        free(h);
        return NULL;
    }
    if (h->timeout > 0) {
        if (pthread_create(&h->timer, NULL, timer_main, h) == 0) {
            h->timer_started = true;
        } else {
            /* no timer: readiness would wait forever on a hung load; say so instead */
            pthread_mutex_lock(&h->notify_mu);
            pthread_mutex_lock(&h->mu);
            bool fire = !h->load_finished;
            if (fire) {
                h->state = ENGINE_STATE_FAILED;
                snprintf(h->reason, sizeof h->reason, "cannot start the startup timer");
                pthread_cond_broadcast(&h->cv);
            }
            pthread_mutex_unlock(&h->mu);
            if (fire)
                notify(h);
            pthread_mutex_unlock(&h->notify_mu);
        }
    }
    return h;
}

engine_state engine_host_state(const engine_host *h)
{
    engine_host *m = (engine_host *)h;
    pthread_mutex_lock(&m->mu);
    engine_state s = m->state;
    pthread_mutex_unlock(&m->mu);
    return s;
}

bool engine_host_ready(const engine_host *h)
{
    return engine_host_state(h) == ENGINE_STATE_READY;
}

void engine_host_reason(const engine_host *h, char *buf, size_t len)
{
    engine_host *m = (engine_host *)h;
    if (!len)
        return;
    pthread_mutex_lock(&m->mu);
    snprintf(buf, len, "%s", m->reason);
    pthread_mutex_unlock(&m->mu);
}

double engine_host_load_seconds(const engine_host *h)
{
    engine_host *m = (engine_host *)h;
    pthread_mutex_lock(&m->mu);
    double s = m->load_finished ? m->load_seconds : clock_mono_seconds() - m->started_at;
    pthread_mutex_unlock(&m->mu);
    return s;
}

engine *engine_host_engine(const engine_host *h)
{
    return h->e;
}

void engine_host_destroy(engine_host *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->timer_started)
        pthread_join(h->timer, NULL);
    pthread_join(h->loader, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->notify_mu);
    free(h);
}

bool engine_host_stop(engine_host *h)
{
    if (!h)
        return true;
    /* notify_mu first: a listener call in progress ends before silenced is set, and none starts
     * after. load_finished is set under notify_mu, so when it is true the loader is past its
     * last use of notify_mu and joins at once. */
    pthread_mutex_lock(&h->notify_mu);
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    h->silenced = true;
    bool finished = h->load_finished;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_unlock(&h->notify_mu);
    if (h->timer_started) {
        pthread_join(h->timer, NULL);
        h->timer_started = false;
    }
    if (!finished) {
        pthread_detach(h->loader);
        return false;
    }
    engine_host_destroy(h);
    return true;
}
