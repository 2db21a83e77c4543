#include "engine/scheduler.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/clock.h"

/*
 * Locking: one mutex (s->mu) guards the queue, the live list and every job field marked
 * [mu] below. done() is always called after dropping it. A job is "live" from submit until
 * done is fired; firing happens exactly once, under mu, by whoever gets there first (the worker
 * that ran it, or the watchdog on deadline / abandon / shutdown), and that thread calls done.
 *
 * References: the caller holds one from sched_job_create; submit adds the scheduler's. The
 * scheduler's is dropped by the worker that ran the job, or, for a job that never ran, by the
 * thread that fired it. A thread calling done on a job it does not own (the watchdog firing a
 * running job) holds an extra reference for the duration of the call.
 *
 * Continuous batching: with an engine that has batch ops, each worker keeps one engine batch and
 * loops: admit queued jobs (in order, while the engine has room), run one step for every job in
 * the batch (without the lock), then finish the jobs that left. A job "starts" when it is
 * admitted; deadlines, abandon and shutdown work as for predict: the watchdog fires the job and
 * sets its cancel token, and the engine drops it at its next step. A worker is busy while its
 * batch holds a job.
 */

enum job_place { J_NEW, J_QUEUED, J_RUNNING, J_FINISHED };

struct sched_job {
    atomic_int refs;
    atomic_bool abandoned;
    _Atomic(scheduler *) sched;
    engine_cancel cancel;

    size_t n;
    engine_series *series; /* deep copy, one allocation */
    engine_phases *phases; /* [n] when recorded, else NULL */
    double timeout;
    sched_done_fn done;
    void *user;

    /* [mu] */
    enum job_place place;
    bool fired;
    bool started;
    double submit_t, start_t, deadline;
    sched_job *qprev, *qnext; /* queue */
    sched_job *lprev, *lnext; /* live list */
    sched_job *fnext;         /* watchdog's batch of jobs to call done on */
    bool fnext_owns_sched_ref;

    /* results: written under mu before firing, read by the caller after done */
    sched_outcome outcome;
    engine_forecast *out;
    engine_forecast *batch_out; /* [worker] the outputs while the job is in an engine batch */
    char err[256];
    double queue_wait, inference;
};

struct scheduler {
    engine *e;
    int nworkers;
    size_t capacity;
    pthread_t *workers;
    int started_workers;
    pthread_t watchdog;
    bool watchdog_started;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;   /* workers: a job was queued, or stopping */
    pthread_cond_t wd_cv;     /* watchdog: new deadline, abandon, shutdown */
    pthread_cond_t idle_cv;   /* shutdown: a job left the queue or a worker finished */
    sched_job *qhead, *qtail; /* [mu] */
    sched_job *live;          /* [mu] */
    bool closed;              /* [mu] submit refused */
    bool cancel_all;          /* [mu] shutdown grace over */
    bool stopping;            /* [mu] workers exit once the queue is empty */
    bool wd_stop;             /* [mu] */
    bool shut_down;           /* [mu] shutdown completed or in progress */

    atomic_size_t depth;
    atomic_int busy;

    void (*on_pass)(int rows, int jobs, void *user); /* set before submits; read by workers */
    void *on_pass_user;
};

/* ---- jobs ---- */

static bool add_size(size_t *acc, size_t count, size_t elem)
{
    if (elem && count > (SIZE_MAX - *acc) / elem)
        return false;
    *acc += count * elem;
    return true;
}

sched_job *sched_job_create(const engine_series *series, size_t n, double timeout_seconds,
                            sched_done_fn done, void *user)
{
    if (!series || n == 0 || !done)
        return NULL;
    size_t bytes = 0;
    if (!add_size(&bytes, n, sizeof(engine_series)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!series[i].x || series[i].rows == 0)
            return NULL;
        if (series[i].rows > SIZE_MAX / ENGINE_FEATURES ||
            !add_size(&bytes, series[i].rows * ENGINE_FEATURES, sizeof(float)))
            return NULL;
        if (series[i].x_time && !add_size(&bytes, series[i].rows, sizeof(engine_time)))
            return NULL;
        if (series[i].y_time && !add_size(&bytes, series[i].pred_len, sizeof(engine_time)))
            return NULL;
    }
    sched_job *j = calloc(1, sizeof *j);
    char *blob = malloc(bytes);
    if (!j || !blob) {
        free(j);
        free(blob);
        return NULL;
    }
    /* series structs first (strictest alignment), then floats and ints (both 4-byte aligned) */
    j->series = (engine_series *)blob;
    char *p = blob + n * sizeof(engine_series);
    for (size_t i = 0; i < n; i++) {
        engine_series *d = &j->series[i];
        *d = series[i];
        d->phases = NULL; /* recorded only into memory the job owns (sched_job_record_phases) */
        size_t xb = series[i].rows * ENGINE_FEATURES * sizeof(float);
        memcpy(p, series[i].x, xb);
        d->x = (const float *)p;
        p += xb;
        if (series[i].x_time) {
            size_t tb = series[i].rows * sizeof(engine_time);
            memcpy(p, series[i].x_time, tb);
            d->x_time = (const engine_time *)p;
            p += tb;
        }
        if (series[i].y_time) {
            size_t tb = series[i].pred_len * sizeof(engine_time);
            memcpy(p, series[i].y_time, tb);
            d->y_time = (const engine_time *)p;
            p += tb;
        }
    }
    j->n = n;
    j->timeout = timeout_seconds > 0 && isfinite(timeout_seconds) ? timeout_seconds : INFINITY;
    j->done = done;
    j->user = user;
    atomic_init(&j->refs, 1);
    atomic_init(&j->abandoned, false);
    atomic_init(&j->sched, NULL);
    atomic_init(&j->cancel.cancelled, false);
    j->place = J_NEW;
    j->outcome = SCHED_PENDING;
    j->deadline = INFINITY;
    return j;
}

static void free_forecasts(engine_forecast *f, size_t n)
{
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        engine_forecast_free(&f[i]);
    free(f);
}

static void job_ref(sched_job *j)
{
    atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
}

static void job_unref(sched_job *j)
{
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_forecasts(j->out, j->n);
    free(j->series);
    free(j->phases);
    free(j);
}

int sched_job_record_phases(sched_job *j)
{
    if (j->place != J_NEW || j->phases)
        return j->phases ? 0 : -1;
    j->phases = calloc(j->n, sizeof *j->phases);
    if (!j->phases)
        return -1;
    for (size_t i = 0; i < j->n; i++)
        j->series[i].phases = &j->phases[i];
    return 0;
}

const engine_phases *sched_job_phases(const sched_job *j, size_t i)
{
    if (!j->phases || i >= j->n || (j->outcome != SCHED_OK && j->outcome != SCHED_FAILED))
        return NULL;
    return &j->phases[i];
}

void sched_job_release(sched_job *j)
{
    if (j)
        job_unref(j);
}

void sched_job_abandon(sched_job *j)
{
    if (!j)
        return;
    atomic_store(&j->cancel.cancelled, true);
    atomic_store(&j->abandoned, true);
    /* Pairs with submit, which publishes sched before reading abandoned: one of the two sees
     * the other, so an abandon racing a submit is never lost. */
    scheduler *s = atomic_load(&j->sched);
    if (s) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->wd_cv);
        pthread_mutex_unlock(&s->mu);
    }
}

const char *sched_outcome_name(sched_outcome o)
{
    switch (o) {
    case SCHED_PENDING:
        return "pending";
    case SCHED_OK:
        return "ok";
    case SCHED_TIMEOUT:
        return "timeout";
    case SCHED_CANCELLED:
        return "cancelled";
    case SCHED_FAILED:
        return "failed";
    }
    return "unknown";
}

sched_outcome sched_job_outcome(const sched_job *j)
{
    return j->outcome;
}

const char *sched_job_error(const sched_job *j)
{
    return j->err;
}

size_t sched_job_count(const sched_job *j)
{
    return j->n;
}

engine_forecast *sched_job_take_forecasts(sched_job *j)
{
    engine_forecast *f = j->out;
    j->out = NULL;
    return f;
}

double sched_job_queue_wait_seconds(const sched_job *j)
{
    return j->queue_wait;
}

double sched_job_inference_seconds(const sched_job *j)
{
    return j->inference;
}

bool sched_job_started(const sched_job *j)
{
    return j->started;
}

/* ---- queue and live list, all under mu ---- */

static void queue_push(scheduler *s, sched_job *j)
{
    j->qnext = NULL;
    j->qprev = s->qtail;
    if (s->qtail)
        s->qtail->qnext = j;
    else
        s->qhead = j;
    s->qtail = j;
    j->place = J_QUEUED;
    atomic_fetch_add(&s->depth, 1);
}

static void queue_remove(scheduler *s, sched_job *j)
{
    if (j->qprev)
        j->qprev->qnext = j->qnext;
    else
        s->qhead = j->qnext;
    if (j->qnext)
        j->qnext->qprev = j->qprev;
    else
        s->qtail = j->qprev;
    j->qprev = j->qnext = NULL;
    atomic_fetch_sub(&s->depth, 1);
}

static void live_add(scheduler *s, sched_job *j)
{
    j->lprev = NULL;
    j->lnext = s->live;
    if (s->live)
        s->live->lprev = j;
    s->live = j;
}

static void live_remove(scheduler *s, sched_job *j)
{
    if (j->lprev)
        j->lprev->lnext = j->lnext;
    else
        s->live = j->lnext;
    if (j->lnext)
        j->lnext->lprev = j->lprev;
    j->lprev = j->lnext = NULL;
}

/* Records the outcome and takes the job out of the queue and live list. Returns true when the
 * job never reached a worker, so the firing thread also owns the scheduler's reference. */
static bool fire(scheduler *s, sched_job *j, sched_outcome outcome, double now)
{
    j->fired = true;
    j->outcome = outcome;
    live_remove(s, j);
    if (j->started) {
        j->queue_wait = j->start_t - j->submit_t;
        j->inference = now - j->start_t;
    } else {
        j->queue_wait = now - j->submit_t;
        j->inference = 0;
    }
    if (j->queue_wait < 0)
        j->queue_wait = 0;
    if (j->inference < 0)
        j->inference = 0;
    if (j->place == J_QUEUED) {
        queue_remove(s, j);
        pthread_cond_broadcast(&s->idle_cv);
    }
    bool never_ran = j->place != J_RUNNING;
    if (never_ran)
        j->place = J_FINISHED;
    return never_ran;
}

/* ---- submit ---- */

int scheduler_submit(scheduler *s, sched_job *j)
{
    if (!j)
        return SCHED_INVALID;
    pthread_mutex_lock(&s->mu);
    if (j->place != J_NEW || atomic_load(&j->sched)) {
        pthread_mutex_unlock(&s->mu);
        return SCHED_INVALID;
    }
    if (s->closed) {
        pthread_mutex_unlock(&s->mu);
        return SCHED_CLOSED;
    }
    /* depth and busy change together under mu, so free workers are counted exactly */
    size_t free_workers = (size_t)(s->nworkers - atomic_load(&s->busy));
    if (atomic_load(&s->depth) >= s->capacity + free_workers) {
        pthread_mutex_unlock(&s->mu);
        return SCHED_FULL;
    }
    job_ref(j);
    j->submit_t = clock_mono_seconds();
    j->deadline = j->submit_t + j->timeout;
    live_add(s, j);
    atomic_store(&j->sched, s);
    if (atomic_load(&j->abandoned)) {
        /* abandoned before submit: the watchdog fires it; it never queues */
        j->place = J_FINISHED;
    } else {
        queue_push(s, j);
        pthread_cond_signal(&s->work_cv);
    }
    pthread_cond_signal(&s->wd_cv);
    pthread_mutex_unlock(&s->mu);
    return SCHED_SUBMITTED;
}

/* ---- workers ---- */

static sched_outcome outcome_of(const sched_job *j, int rc, double now)
{
    if (atomic_load(&j->abandoned))
        return SCHED_CANCELLED;
    if (rc == ENGINE_OK)
        return SCHED_OK;
    if (rc == ENGINE_CANCELLED)
        return now >= j->deadline ? SCHED_TIMEOUT : SCHED_CANCELLED;
    return SCHED_FAILED;
}

/* Under mu: records the engine's answer for a job that left the engine (unless the watchdog
 * fired it already) and marks it finished. Returns true when the caller must call done. The
 * outputs the job does not keep are left in *out for the caller to free. */
static bool finish_locked(scheduler *s, sched_job *j, int rc, const char *err,
                          engine_forecast **out, double now)
{
    j->place = J_FINISHED;
    bool mine = !j->fired;
    if (mine) {
        sched_outcome oc = outcome_of(j, rc, now);
        if (oc == SCHED_OK) {
            j->out = *out;
            *out = NULL;
        } else if (oc == SCHED_FAILED) {
            snprintf(j->err, sizeof j->err, "%s", err[0] ? err : "engine error");
        }
        fire(s, j, oc, now);
    }
    pthread_cond_broadcast(&s->idle_cv);
    return mine;
}

static void run_job(scheduler *s, sched_job *j)
{
    char err[sizeof j->err] = "";
    engine_forecast *out = calloc(j->n, sizeof *out);
    int rc;
    if (!out) {
        rc = ENGINE_ERROR;
        snprintf(err, sizeof err, "out of memory");
    } else {
        rc = s->e->ops->predict(s->e, j->series, j->n, out, &j->cancel, err, sizeof err);
    }
    double now = clock_mono_seconds();

    pthread_mutex_lock(&s->mu);
    atomic_fetch_sub(&s->busy, 1);
    bool mine = finish_locked(s, j, rc, err, &out, now);
    pthread_mutex_unlock(&s->mu);

    /* late or failed results are dropped; on failure the engine may have filled some */
    free_forecasts(out, j->n);
    if (mine)
        j->done(j, j->user);
}

/* Under mu: a queued job that must not run (shutdown, abandoned, past its deadline) is fired
 * and released; returns false when j may run. Drops and retakes mu around done. */
static bool drop_if_dead(scheduler *s, sched_job *j)
{
    double now = clock_mono_seconds();
    bool cancel = s->cancel_all || atomic_load(&j->abandoned);
    if (!cancel && now < j->deadline)
        return false;
    atomic_store(&j->cancel.cancelled, true);
    fire(s, j, cancel ? SCHED_CANCELLED : SCHED_TIMEOUT, now);
    pthread_mutex_unlock(&s->mu);
    j->done(j, j->user);
    job_unref(j);
    pthread_mutex_lock(&s->mu);
    return true;
}

/* Under mu: the job leaves the queue for a worker. */
static void start_job(scheduler *s, sched_job *j)
{
    queue_remove(s, j);
    pthread_cond_broadcast(&s->idle_cv);
    j->place = J_RUNNING;
    j->started = true;
    j->start_t = clock_mono_seconds();
}

/* Called with s->mu held: takes j off the queue, runs it with the lock released, takes it back. */
static void run_unlocked(scheduler *s, sched_job *j)
{
    start_job(s, j);
    atomic_fetch_add(&s->busy, 1);
    pthread_mutex_unlock(&s->mu);
    run_job(s, j);
    job_unref(j);
    pthread_mutex_lock(&s->mu);
}

static void *worker_main(void *arg);

/* A job a batch step finished: the engine's answer, then whether done is still to be called. */
typedef struct finished {
    sched_job *j;
    int status;
    bool call_done;
    engine_forecast *spare; /* outputs to free */
    char err[sizeof(((sched_job *)0)->err)];
} finished;

/*
 * Under mu: admits queued jobs into the worker's batch in order while the engine has room.
 * Returns false when the engine cannot batch yet (model not loaded): the caller runs the queue
 * head through predict instead.
 */
static bool admit(scheduler *s, engine_batch **b, int *held)
{
    const engine_batch_ops *ops = s->e->batch;
    while (s->qhead) {
        sched_job *j = s->qhead;
        if (drop_if_dead(s, j))
            continue;
        if (!*b && !(*b = ops->open(s->e)))
            return false;
        engine_forecast *out = calloc(j->n, sizeof *out);
        char err[sizeof j->err] = "";
        int rc =
            out ? ops->add(*b, j->series, j->n, out, &j->cancel, j, err, sizeof err) : ENGINE_ERROR;
        if (rc == ENGINE_BUSY) {
            free(out);
            return true; /* later jobs wait their turn */
        }
        start_job(s, j);
        if (*held == 0)
            atomic_fetch_add(&s->busy, 1);
        if (rc == ENGINE_OK) {
            j->batch_out = out;
            (*held)++;
            continue;
        }
        /* refused outright: finished now */
        if (!out)
            snprintf(err, sizeof err, "out of memory");
        bool mine = finish_locked(s, j, ENGINE_ERROR, err, &out, clock_mono_seconds());
        if (*held == 0)
            atomic_fetch_sub(&s->busy, 1);
        pthread_mutex_unlock(&s->mu);
        free_forecasts(out, j->n);
        if (mine)
            j->done(j, j->user);
        job_unref(j);
        pthread_mutex_lock(&s->mu);
    }
    return true;
}

static void batch_worker(scheduler *s)
{
    const engine_batch_ops *ops = s->e->batch;
    engine_batch *b = NULL;
    int held = 0; /* jobs in b */
    finished *fin = NULL;
    size_t fin_cap = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (!admit(s, &b, &held)) { /* no batch yet: predict, as without batching */
            run_unlocked(s, s->qhead);
            continue;
        }
        if (held == 0) {
            if (s->stopping && !s->qhead)
                break;
            if (!s->qhead)
                pthread_cond_wait(&s->work_cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);

        int rows = ops->step(b);
        if (s->on_pass && rows > 0)
            s->on_pass(rows, held, s->on_pass_user);
        size_t nfin = 0;
        if (fin_cap < (size_t)held) { /* room for every job in: none can be left untaken */
            finished *nf = realloc(fin, (size_t)held * sizeof *nf);
            if (nf) {
                fin = nf;
                fin_cap = (size_t)held;
            }
        }
        while (nfin < fin_cap) {
            finished *f = &fin[nfin];
            f->j = ops->take(b, &f->status, f->err, sizeof f->err);
            if (!f->j)
                break;
            f->spare = f->j->batch_out;
            f->j->batch_out = NULL;
            nfin++;
        }
        double now = clock_mono_seconds();

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nfin; i++) {
            finished *f = &fin[i];
            held--;
            f->call_done = finish_locked(s, f->j, f->status, f->err, &f->spare, now);
        }
        if (held == 0 && nfin > 0)
            atomic_fetch_sub(&s->busy, 1);
        if (nfin > 0) {
            pthread_mutex_unlock(&s->mu);
            for (size_t i = 0; i < nfin; i++) {
                free_forecasts(fin[i].spare, fin[i].j->n);
                if (fin[i].call_done)
                    fin[i].j->done(fin[i].j, fin[i].j->user);
                job_unref(fin[i].j);
            }
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (b)
        ops->close(b);
    free(fin);
}

static void *worker_main(void *arg)
{
    scheduler *s = arg;
    if (s->e->batch) {
        batch_worker(s);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->qhead && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        sched_job *j = s->qhead;
        if (!j)
            break; /* stopping and nothing queued */
        if (drop_if_dead(s, j))
            continue;
        run_unlocked(s, j);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- watchdog ---- */

static void *watchdog_main(void *arg)
{
    scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        double now = clock_mono_seconds();
        double next = INFINITY;
        sched_job *batch = NULL;
        for (sched_job *j = s->live, *nx; j; j = nx) {
            nx = j->lnext;
            bool cancel = s->cancel_all || atomic_load(&j->abandoned);
            if (!cancel && now < j->deadline) {
                if (j->deadline < next)
                    next = j->deadline;
                continue;
            }
            atomic_store(&j->cancel.cancelled, true);
            job_ref(j); /* held while done runs, even if the worker finishes meanwhile */
            j->fnext_owns_sched_ref = fire(s, j, cancel ? SCHED_CANCELLED : SCHED_TIMEOUT, now);
            j->fnext = batch;
            batch = j;
        }
        if (batch) {
            pthread_mutex_unlock(&s->mu);
            while (batch) {
                sched_job *j = batch;
                batch = j->fnext;
                bool owns = j->fnext_owns_sched_ref;
                j->done(j, j->user);
                job_unref(j);
                if (owns)
                    job_unref(j);
            }
            pthread_mutex_lock(&s->mu);
            continue; /* time has passed: rescan */
        }
        if (s->wd_stop && !s->live)
            break;
        if (isinf(next)) {
            pthread_cond_wait(&s->wd_cv, &s->mu);
        } else {
            struct timespec ts = clock_mono_timespec(next);
            pthread_cond_timedwait(&s->wd_cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifecycle ---- */

scheduler *scheduler_create(engine *e, int workers, int queue_size)
{
    if (!e || !e->ops || !e->ops->predict || workers < 1 || queue_size < 0)
        return NULL;
    scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    s->nworkers = workers;
    s->capacity = (size_t)queue_size;
    atomic_init(&s->depth, 0);
    atomic_init(&s->busy, 0);
    s->workers = calloc((size_t)workers, sizeof *s->workers);
    if (!s->workers || pthread_mutex_init(&s->mu, NULL)) {
        free(s->workers);
        free(s);
        return NULL;
    }
    if (clock_cond_init(&s->work_cv) || clock_cond_init(&s->wd_cv) ||
        clock_cond_init(&s->idle_cv)) {
        /* condition variables on Linux hold no resources; nothing else to undo */
        pthread_mutex_destroy(&s->mu);
        free(s->workers);
        free(s);
        return NULL;
    }
    if (pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0) {
        s->watchdog_started = true;
        for (int i = 0; i < workers; i++) {
            if (pthread_create(&s->workers[i], NULL, worker_main, s))
                break;
            s->started_workers++;
        }
    }
    if (!s->watchdog_started || s->started_workers < workers) {
        scheduler_destroy(s);
        return NULL;
    }
    return s;
}

void scheduler_shutdown(scheduler *s, double grace_seconds)
{
    pthread_mutex_lock(&s->mu);
    if (s->shut_down) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->shut_down = true;
    s->closed = true;
    double until = clock_mono_seconds() + (grace_seconds > 0 ? grace_seconds : 0);
    while ((s->qhead || atomic_load(&s->busy) > 0) && clock_mono_seconds() < until) {
        struct timespec ts = clock_mono_timespec(until);
        pthread_cond_timedwait(&s->idle_cv, &s->mu, &ts);
    }
    s->cancel_all = true;
    s->stopping = true;
    pthread_cond_signal(&s->wd_cv);
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);

    for (int i = 0; i < s->started_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->started_workers = 0;

    if (s->watchdog_started) {
        pthread_mutex_lock(&s->mu);
        s->wd_stop = true;
        pthread_cond_signal(&s->wd_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->watchdog, NULL);
        s->watchdog_started = false;
    }
}

void scheduler_destroy(scheduler *s)
{
    if (!s)
        return;
    scheduler_shutdown(s, 0);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->wd_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->mu);
    free(s->workers);
    free(s);
}

void scheduler_set_pass_observer(scheduler *s, void (*fn)(int rows, int jobs, void *user),
                                 void *user)
{
    pthread_mutex_lock(&s->mu);
    s->on_pass = fn;
    s->on_pass_user = user;
    pthread_mutex_unlock(&s->mu);
}

size_t scheduler_depth(const scheduler *s)
{
    return atomic_load_explicit(&((scheduler *)s)->depth, memory_order_relaxed);
}

size_t scheduler_capacity(const scheduler *s)
{
    return s->capacity;
}

int scheduler_busy_workers(const scheduler *s)
{
    return atomic_load_explicit(&((scheduler *)s)->busy, memory_order_relaxed);
}

int scheduler_workers(const scheduler *s)
{
    return s->nworkers;
}
