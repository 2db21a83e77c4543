#ifndef KRONOS_SCHEDULER_H
#define KRONOS_SCHEDULER_H

/*
 * The inference scheduler: a bounded FIFO queue in front of a fixed pool of worker threads that
 * run engine predictions, plus a watchdog thread that enforces one absolute deadline per job
 * (queue wait + inference, monotonic clock).
 *
 * Life of a job:
 *   j = sched_job_create(series, n, timeout, done, user);   caller holds one reference
 *   scheduler_submit(s, j)        0, or SCHED_FULL / SCHED_CLOSED (then done is never called)
 *   ... done(j, user) is called exactly once, from a scheduler thread (worker or watchdog),
 *       never with a scheduler lock held, with sched_job_outcome(j) one of SCHED_OK,
 *       SCHED_TIMEOUT, SCHED_CANCELLED, SCHED_FAILED.
 *   sched_job_release(j)          the caller drops its reference (before or after done)
 *
 * The job deep-copies the series at creation, so the caller's buffers may be freed right after
 * sched_job_create. `user` must stay valid until done has returned: done is always called once
 * for a submitted job, even after sched_job_abandon or when the caller released early.
 *
 * On timeout, done fires at the deadline without waiting for the engine; the job's cancel token
 * is set and the worker becomes free as soon as the engine returns (its late result is freed).
 * A job whose deadline passes while it waits in the queue never runs.
 *
 * With an engine that has batch ops (engine.h), each worker runs one batch of jobs: jobs join it
 * between steps of the model, in order, as the engine has room, and leave when finished, failed,
 * timed out or cancelled; a job starts (its queue wait ends) when it joins.
 *
 * With a suspended HTTP request: done() records what to answer and resumes the
 * connection; the handler then reads the outcome and releases the job. Do not call
 * scheduler_shutdown or scheduler_destroy from inside done (they join the calling thread).
 */

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

typedef struct scheduler scheduler;
typedef struct sched_job sched_job;

typedef void (*sched_done_fn)(sched_job *job, void *user);

enum sched_submit_result {
    SCHED_SUBMITTED = 0,
    SCHED_FULL = -1,    /* queue full: answer 503 overloaded at once */
    SCHED_CLOSED = -2,  /* shutting down: answer 503 not_ready */
    SCHED_INVALID = -3, /* NULL job, or a job submitted before (a programming error) */
};

typedef enum sched_outcome {
    SCHED_PENDING = 0, /* done not called yet */
    SCHED_OK,
    SCHED_TIMEOUT,   /* deadline passed, in the queue or while running */
    SCHED_CANCELLED, /* abandoned by the caller, or cancelled at shutdown */
    SCHED_FAILED,    /* the engine returned an error; see sched_job_error */
} sched_outcome;

/* workers >= 1, queue_size >= 0: jobs may wait beyond those the free workers are about to take.
 * The engine is borrowed and must outlive the scheduler. Returns NULL on bad arguments or when
 * threads cannot be started. */
scheduler *scheduler_create(engine *e, int workers, int queue_size);

/* Returns 0 and takes the scheduler's reference, or SCHED_FULL / SCHED_CLOSED / SCHED_INVALID
 * (the job is left untouched: the caller still owns it and must release it). Never blocks. A job
 * is submitted at most once. */
int scheduler_submit(scheduler *s, sched_job *j);

/* Stops accepting (submit returns SCHED_CLOSED), lets queued and running jobs finish for up to
 * grace_seconds, then cancels whatever is left (done fires with SCHED_CANCELLED), waits for
 * running engine calls to return and joins every thread. Idempotent. */
void scheduler_shutdown(scheduler *s, double grace_seconds);

/* Shuts down with no grace if still running, then frees. */
void scheduler_destroy(scheduler *s);

/* Called after every step of an engine batch (continuous batching) with the rows the model
 * stacked and the jobs in the batch, from the worker thread, without locks. Set before the first
 * submit. */
void scheduler_set_pass_observer(scheduler *s, void (*fn)(int rows, int jobs, void *user),
                                 void *user);

/* Cheap atomic reads for metrics and health checks. */
size_t scheduler_depth(const scheduler *s);    /* jobs waiting in the queue */
size_t scheduler_capacity(const scheduler *s); /* queue_size */
int scheduler_busy_workers(const scheduler *s);
int scheduler_workers(const scheduler *s);

/* Copies n >= 1 series (x, x_time and y_time; the time arrays may be NULL). timeout_seconds <= 0
 * means no deadline. Returns NULL when out of memory or on bad arguments. */
sched_job *sched_job_create(const engine_series *series, size_t n, double timeout_seconds,
                            sched_done_fn done, void *user);

/* Asks the engine to record where each series' time goes (engine_series.phases), into memory
 * the job owns. Before submit. 0, or -1 when out of memory (the job runs unrecorded). */
int sched_job_record_phases(sched_job *j);
/* Series i's phases: NULL unless recorded, and only for SCHED_OK and SCHED_FAILED (the engine
 * has returned; after a timeout or a cancel it may still be writing). */
const engine_phases *sched_job_phases(const sched_job *j, size_t i);

/* The client went away: sets the cancel token; a queued job is removed and never runs. done is
 * still called (SCHED_CANCELLED) from a scheduler thread unless it was already called. Safe to
 * call at any time while the caller holds its reference, including before submit. */
void sched_job_abandon(sched_job *j);

/* Drops the caller's reference. The job is freed once the scheduler is done with it too. */
void sched_job_release(sched_job *j);

/* "pending", "ok", "timeout", "cancelled", "failed": for logs. */
const char *sched_outcome_name(sched_outcome o);

/* Valid once done has been called (and from inside done). */
sched_outcome sched_job_outcome(const sched_job *j);
const char *sched_job_error(const sched_job *j); /* "" unless SCHED_FAILED */
size_t sched_job_count(const sched_job *j);      /* n series */
/* The forecasts (n of them) on SCHED_OK, else NULL, handed over: free each with
 * engine_forecast_free and the array with free; later calls return NULL. */
engine_forecast *sched_job_take_forecasts(sched_job *j);
/* Seconds from submit until a worker started the job (or until done, if it never started). */
double sched_job_queue_wait_seconds(const sched_job *j);
/* Seconds the engine worked on the job until done fired (0 if it never started). */
double sched_job_inference_seconds(const sched_job *j);
bool sched_job_started(const sched_job *j);

#endif
