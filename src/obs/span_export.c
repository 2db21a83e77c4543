#include "obs/span_export.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/log.h"
#include "obs/service_metrics.h"
#include "util/clock.h"
#include "util/random.h"

/* Retries of one batch, after its first attempt; backoff doubles from 1 s up to 30 s. */
#define EXPORT_MAX_RETRIES 5
#define BACKOFF_INITIAL 1.0
#define BACKOFF_MAX 30.0

typedef struct exporter {
    span_export_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    span *ring; /* [cfg.queue_size] */
    size_t head, count;
    bool stop;
    double stop_deadline;
    strbuf body;
    double last_error_log;
} exporter;

static _Atomic(exporter *) g_exp;
static atomic_bool g_running;

void span_export_enqueue(const span *s)
{
    if (!atomic_load_explicit(&g_running, memory_order_acquire))
        return;
    exporter *e = atomic_load_explicit(&g_exp, memory_order_acquire);
    if (!e)
        return;
    bool wake = false, dropped = false;
    pthread_mutex_lock(&e->mu);
    if (e->stop || e->count >= e->cfg.queue_size) {
        dropped = true;
    } else {
        size_t slot = (e->head + e->count) % e->cfg.queue_size;
        memcpy(&e->ring[slot], s, sizeof(*s));
        e->count++;
        wake = e->count == e->cfg.batch_size;
    }
    pthread_mutex_unlock(&e->mu);
    if (dropped)
        sm_trace_spans_dropped(1);
    if (wake)
        pthread_cond_signal(&e->cv);
}

/* Under mu: how many spans the next batch takes, from head on without wrapping, so they can be
 * encoded in place. Their slots stay counted until release_batch: producers only write past them.
 */
static size_t next_batch(const exporter *e)
{
    size_t n = e->count < e->cfg.batch_size ? e->count : e->cfg.batch_size;
    size_t to_end = e->cfg.queue_size - e->head;
    return n < to_end ? n : to_end;
}

/* Under mu: frees the slots of the n spans at head. */
static void release_batch(exporter *e, size_t n)
{
    e->head = (e->head + n) % e->cfg.queue_size;
    e->count -= n;
}

static bool retryable(int status)
{
    return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* One failure a minute is logged at most: a dead collector must not flood the log. */
static void log_failure(exporter *e, const otlp_http_result *res, size_t n, bool giving_up)
{
    double now = clock_mono_seconds();
    if (e->last_error_log && now - e->last_error_log < 60)
        return;
    e->last_error_log = now;
    log_line l;
    if (!log_begin(&l, LOG_WARNING, "kronosd.tracing", "span export failed"))
        return;
    log_str(&l, "endpoint", e->cfg.endpoint.authority);
    if (res->status)
        log_int(&l, "status_code", res->status);
    else
        log_str(&l, "error_message", res->error);
    log_uint(&l, "spans", n);
    log_bool(&l, "dropped", giving_up);
    log_end(&l);
}

/* Waits until t (monotonic seconds) or until a shutdown whose deadline is earlier. Called with
 * mu unlocked; returns false when the wait was cut short by the shutdown deadline. */
static bool sleep_until(exporter *e, double t)
{
    pthread_mutex_lock(&e->mu);
    bool ok = true;
    for (;;) {
        double limit = e->stop ? fmin(t, e->stop_deadline) : t;
        if (clock_mono_seconds() >= limit) {
            ok = !(e->stop && e->stop_deadline < t);
            break;
        }
        struct timespec ts = clock_mono_timespec(limit);
        pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    }
    pthread_mutex_unlock(&e->mu);
    return ok;
}

static double stop_deadline(exporter *e)
{
    pthread_mutex_lock(&e->mu);
    double d = e->stop ? e->stop_deadline : INFINITY;
    pthread_mutex_unlock(&e->mu);
    return d;
}

/* The exporter's HTTP request ends early once the shutdown deadline has passed. */
static bool past_stop_deadline(void *ctx)
{
    return clock_mono_seconds() >= stop_deadline(ctx);
}

/* Encodes n spans read in place from the ring; the lock is not held, so producers never wait
 * behind it. */
static int encode_batch(exporter *e, const span *spans, size_t n)
{
    sb_reset(&e->body);
    int rc = e->cfg.json ? otlp_encode_json(&e->cfg.resource, spans, n, &e->body)
                         : otlp_encode_proto(&e->cfg.resource, spans, n, &e->body);
    if (rc != 0) {
        sm_trace_spans_dropped(n);
        sm_trace_export_failure();
    }
    return rc;
}

/* Sends the encoded batch of n spans, retrying as OTLP/HTTP says. */
static void send_batch(exporter *e, size_t n)
{
    const char *ct = e->cfg.json ? "application/json" : "application/x-protobuf";
    double give_up = clock_mono_seconds() + e->cfg.export_timeout;
    double backoff = BACKOFF_INITIAL;
    for (int attempt = 0;; attempt++) {
        double deadline =
            fmin(clock_mono_seconds() + e->cfg.timeout, fmin(give_up, stop_deadline(e)));
        otlp_http_result res;
        otlp_http_post(&e->cfg.endpoint, e->cfg.headers, ct, e->body.data, e->body.len, deadline,
                       past_stop_deadline, e, &res);
        if (res.status >= 200 && res.status < 300) {
            sm_trace_spans_exported(n);
            return;
        }
        sm_trace_export_failure();
        /* Retry-After when given, else exponential backoff with jitter (OTLP/HTTP §Retryable
         * response codes). */
        double wait = res.retry_after >= 0
                          ? res.retry_after
                          : backoff * (0.5 + (double)(random_u64() % 1000) / 2000.0);
        backoff = fmin(backoff * 2, BACKOFF_MAX);
        double next = clock_mono_seconds() + wait;
        bool again = retryable(res.status) && attempt < EXPORT_MAX_RETRIES && next < give_up;
        log_failure(e, &res, n, !again);
        if (!again || !sleep_until(e, next)) {
            sm_trace_spans_dropped(n);
            return;
        }
    }
}

static void *exporter_main(void *arg)
{
    exporter *e = arg;
    pthread_mutex_lock(&e->mu);
    double next = clock_mono_seconds() + e->cfg.delay;
    for (;;) {
        while (!e->stop && e->count < e->cfg.batch_size && clock_mono_seconds() < next) {
            struct timespec ts = clock_mono_timespec(next);
            pthread_cond_timedwait(&e->cv, &e->mu, &ts);
        }
        if (e->stop && (e->count == 0 || clock_mono_seconds() >= e->stop_deadline))
            break;
        size_t n = next_batch(e);
        const span *spans = &e->ring[e->head];
        pthread_mutex_unlock(&e->mu);
        int rc = n ? encode_batch(e, spans, n) : -1;
        pthread_mutex_lock(&e->mu);
        release_batch(e, n);
        if (rc == 0) {
            pthread_mutex_unlock(&e->mu);
            send_batch(e, n);
            pthread_mutex_lock(&e->mu);
        }
        if (e->count < e->cfg.batch_size)
            next = clock_mono_seconds() + e->cfg.delay;
    }
    size_t left = e->count;
    e->count = 0;
    pthread_mutex_unlock(&e->mu);
    if (left)
        sm_trace_spans_dropped(left);
    return NULL;
}

int span_export_start(const span_export_config *c, char *err, size_t errlen)
{
    exporter *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->cfg = *c;
    if (!e->cfg.queue_size)
        e->cfg.queue_size = 2048;
    if (!e->cfg.batch_size || e->cfg.batch_size > e->cfg.queue_size)
        e->cfg.batch_size = e->cfg.queue_size < 512 ? e->cfg.queue_size : 512;
    e->ring = malloc(e->cfg.queue_size * sizeof(span));
    sb_init(&e->body, 0);
    if (!e->ring || pthread_mutex_init(&e->mu, NULL) != 0 || clock_cond_init(&e->cv) != 0) {
        free(e->ring);
        free(e);
        snprintf(err, errlen, "cannot allocate the span queue (%zu spans)", c->queue_size);
        return -1;
    }
    /* Touched now, so the process's memory does not grow when a dead collector fills the queue */
    memset(e->ring, 0, e->cfg.queue_size * sizeof(span));
    /* a restart (tests): the previous one is stopped, its thread joined */
    exporter *old = atomic_exchange(&g_exp, e);
    if (old) {
        free(old->ring);
        pthread_mutex_destroy(&old->mu);
        pthread_cond_destroy(&old->cv);
        free(old);
    }
    atomic_store(&g_running, true);
    if (pthread_create(&e->thread, NULL, exporter_main, e) != 0) {
        atomic_store(&g_running, false);
        snprintf(err, errlen, "cannot start the span exporter thread");
        return -1; /* the memory stays: enqueue may have read g_exp */
    }
    return 0;
}

void span_export_shutdown(double seconds)
{
    exporter *e = atomic_load(&g_exp);
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    e->stop_deadline = clock_mono_seconds() + (seconds > 0 ? seconds : 0);
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    atomic_store(&g_running, false);
    /* the ring stays allocated: a late span_end from a thread still running only drops */
    sb_free(&e->body);
}
