#include "api/predict_trace.h"

#include "obs/span.h"

static const char *const phase_names[ENGINE_PHASE_COUNT] = {
    [ENGINE_PHASE_ENCODE] = "kronos.encode",
    [ENGINE_PHASE_PREFILL] = "kronos.prefill",
    [ENGINE_PHASE_CACHED] = "kronos.cached_steps",
    [ENGINE_PHASE_SLIDING] = "kronos.sliding_recompute",
    [ENGINE_PHASE_DECODE] = "kronos.decode",
};

static void phase_spans(const trace_ctx *t, const span *item, const engine_phases *p)
{
    for (int ph = 0; ph < ENGINE_PHASE_COUNT; ph++) {
        const engine_phase_record *r = &p->phase[ph];
        if (!r->count)
            continue;
        span s;
        span_begin(&s, t, item, phase_names[ph], SPAN_KIND_INTERNAL, r->start_ns);
        if (ph == ENGINE_PHASE_CACHED || ph == ENGINE_PHASE_SLIDING)
            span_int(&s, "kronos.steps", (int64_t)r->count);
        else if (ph == ENGINE_PHASE_DECODE)
            span_int(&s, "kronos.samples", (int64_t)r->count);
        span_end(&s, r->end_ns);
    }
}

/* The series' extent from its phases; false when the engine recorded none. */
static bool phases_extent(const engine_phases *p, uint64_t *start, uint64_t *end)
{
    bool any = false;
    for (int ph = 0; p && ph < ENGINE_PHASE_COUNT; ph++) {
        const engine_phase_record *r = &p->phase[ph];
        if (!r->count)
            continue;
        if (!any || r->start_ns < *start)
            *start = r->start_ns;
        if (!any || r->end_ns > *end)
            *end = r->end_ns;
        any = true;
    }
    return any;
}

static void item_span(const trace_ctx *t, const span *inference, const sched_job *job,
                      const predict_request *req, size_t i, uint64_t inf_start, uint64_t inf_end)
{
    const engine_phases *p = sched_job_phases(job, i);
    uint64_t start = inf_start, end = inf_end;
    bool recorded = phases_extent(p, &start, &end);
    if (!recorded && sched_job_outcome(job) != SCHED_OK)
        return; /* the engine stopped before this series */
    span s;
    span_begin(&s, t, inference, "kronos.item", SPAN_KIND_INTERNAL, start);
    span_int(&s, "kronos.item.index", (int64_t)i);
    if (req->items[i].series_id)
        span_str(&s, "kronos.series_id", req->items[i].series_id);
    span_int(&s, "kronos.rows", (int64_t)req->series[i].rows);
    span_int(&s, "kronos.pred_len", (int64_t)req->series[i].pred_len);
    span_int(&s, "kronos.sample_count", req->series[i].sampling.sample_count);
    if (recorded)
        phase_spans(t, &s, p);
    span_end(&s, end);
}

void predict_trace_job(const trace_ctx *t, uint64_t submit_ns, const sched_job *job,
                       const predict_request *req)
{
    if (!t->recording)
        return;
    sched_outcome o = sched_job_outcome(job);
    uint64_t waited = (uint64_t)(sched_job_queue_wait_seconds(job) * 1e9);
    uint64_t ran = (uint64_t)(sched_job_inference_seconds(job) * 1e9);
    span q;
    span_begin(&q, t, NULL, "kronosd.queue", SPAN_KIND_INTERNAL, submit_ns);
    span_int(&q, "kronos.series_count", (int64_t)req->n);
    if (!sched_job_started(job))
        span_error(&q, o == SCHED_TIMEOUT ? "timeout" : "cancelled",
                   o == SCHED_TIMEOUT ? "the deadline passed in the queue"
                                      : "cancelled before a worker took it");
    span_end(&q, submit_ns + waited);
    if (!sched_job_started(job))
        return;
    uint64_t inf_start = submit_ns + waited, inf_end = inf_start + ran;
    span s;
    span_begin(&s, t, NULL, "kronosd.inference", SPAN_KIND_INTERNAL, inf_start);
    span_int(&s, "kronos.series_count", (int64_t)req->n);
    span_int(&s, "kronos.rows", (int64_t)req->total_rows);
    span_int(&s, "kronos.pred_len", (int64_t)req->total_pred_len);
    span_str(&s, "kronos.outcome", sched_outcome_name(o));
    if (o == SCHED_TIMEOUT)
        span_error(&s, "timeout", "KRONOS_INFERENCE_TIMEOUT passed; cancelled");
    else if (o == SCHED_CANCELLED)
        span_error(&s, "cancelled", "cancelled (client gone or shutdown)");
    else if (o == SCHED_FAILED)
        span_error(&s, "inference_error", sched_job_error(job));
    if (o == SCHED_OK || o == SCHED_FAILED)
        for (size_t i = 0; i < req->n; i++)
            item_span(t, &s, job, req, i, inf_start, inf_end);
    span_end(&s, inf_end);
}

void predict_trace_refused(const trace_ctx *t, uint64_t at_ns, const char *error_type)
{
    span q;
    span_begin(&q, t, NULL, "kronosd.queue", SPAN_KIND_INTERNAL, at_ns);
    span_error(&q, error_type, "the job was not queued");
    span_end(&q, at_ns);
}
