#ifndef KRONOS_API_PREDICT_TRACE_H
#define KRONOS_API_PREDICT_TRACE_H

/* The spans of a prediction job, children of the request's server span: kronosd.queue (the wait
 * for a worker) and kronosd.inference, under which one kronos.item span per series (series id,
 * sizes and sample count; never candle values) holds the engine's phases as the engine recorded
 * them (engine_series.phases): kronos.encode, kronos.prefill, kronos.cached_steps,
 * kronos.sliding_recompute, kronos.decode. Built from timestamps after the job is done, so the
 * engine and the scheduler only record numbers. */

#include <stdint.h>

#include "api/predict_request.h"
#include "engine/scheduler.h"
#include "obs/trace.h"

/* Any thread, once done has been called; submit_ns: just before scheduler_submit. */
void predict_trace_job(const trace_ctx *t, uint64_t submit_ns, const sched_job *job,
                       const predict_request *req);
/* A job the queue refused (full or closed): a zero-length kronosd.queue span with the error. */
void predict_trace_refused(const trace_ctx *t, uint64_t at_ns, const char *error_type);

#endif
