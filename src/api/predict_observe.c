#include "api/app.h"
#include "api/predict_observe.h"

#include <stdio.h>

#include "obs/log.h"
#include "obs/service_metrics.h"
#include "util/clock.h"

static enum sm_endpoint endpoint_of(bool batch)
{
    return batch ? SM_ENDPOINT_BATCH : SM_ENDPOINT_SINGLE;
}

void predict_observe_input(predict_log *pl, const predict_request *req)
{
    enum sm_endpoint ep = endpoint_of(req->batch);
    for (size_t i = 0; i < req->n; i++)
        sm_input_size(ep, req->series[i].rows);
    if (req->batch)
        sm_batch_items(req->n);
    pl->series_count = req->n;
    pl->rows = req->total_rows;
    pl->pred_len = req->total_pred_len;
    if (req->n == 1 && req->items[0].series_id)
        snprintf(pl->series_id, sizeof(pl->series_id), "%s", req->items[0].series_id);
}

void predict_log_request_fields(log_line *l, const predict_log *pl)
{
    if (!pl->series_count)
        return;
    if (pl->series_id[0])
        log_str(l, "series_id", pl->series_id);
    log_uint(l, "rows", pl->rows);
    log_uint(l, "pred_len", pl->pred_len);
    log_uint(l, "series_count", pl->series_count);
    if (pl->status) {
        log_double(l, "queue_time_ms", pl->queue_time_ms);
        log_double(l, "model_inference_ms", pl->model_inference_ms);
        log_str(l, "status", pl->status);
    }
}

static double ms_since(uint64_t start_ns)
{
    return (double)(clock_mono_ns() - start_ns) / 1e6;
}

/* The fields every prediction log line carries (SPEC §4, the old guide's endpoint, latency_ms,
 * status, series_id, rows, pred_len, plus ours); never candle values. */
static void log_prediction_fields(log_line *l, const http_request *r, const predict_log *pl,
                                  bool batch, const char *status)
{
    log_str(l, "endpoint", sm_endpoint_names[endpoint_of(batch)]);
    log_double(l, "latency_ms", ms_since(r->start_ns));
    log_str(l, "status", status);
    log_str(l, "request_id", r->request_id);
    log_str(l, "trace_id", r->trace.trace_id);
    log_str(l, "span_id", r->trace.span_id);
    log_str(l, "container", r->identity);
    if (pl->series_id[0])
        log_str(l, "series_id", pl->series_id);
    log_uint(l, "rows", pl->rows);
    log_uint(l, "pred_len", pl->pred_len);
    log_uint(l, "series_count", pl->series_count);
    log_double(l, "queue_time_ms", pl->queue_time_ms);
    log_double(l, "model_inference_ms", pl->model_inference_ms);
}

static const char *outcome_status(sched_outcome o)
{
    switch (o) {
    case SCHED_OK:
        return "success";
    case SCHED_TIMEOUT:
        return "timeout";
    case SCHED_CANCELLED:
        return "cancelled";
    default:
        return "failed";
    }
}

void predict_observe_outcome(const http_request *r, predict_log *pl, const predict_request *req,
                             const sched_job *job)
{
    bool batch = req->batch;
    sched_outcome o = sched_job_outcome(job);
    pl->status = outcome_status(o);
    pl->queue_time_ms = sched_job_queue_wait_seconds(job) * 1e3;
    pl->model_inference_ms = sched_job_inference_seconds(job) * 1e3;
    enum sm_endpoint ep = endpoint_of(batch);
    sm_queue_wait(ep, sched_job_queue_wait_seconds(job));
    if (sched_job_started(job))
        sm_inference(ep, sched_job_inference_seconds(job),
                     !trace_recording_enabled() || r->trace.recording ? r->trace.trace_id : NULL);
    if (o == SCHED_TIMEOUT)
        sm_timeout(ep);
    if (o == SCHED_OK)
        return; /* logged with its output figures */
    const char *what = batch ? "batch prediction" : "single prediction";
    char message[64];
    snprintf(message, sizeof(message), "%s %s", what,
             o == SCHED_TIMEOUT ? "timeout" : (o == SCHED_CANCELLED ? "cancelled" : "failed"));
    log_line l;
    /* A timeout is the service protecting itself (WARNING, as the old service logged it). */
    log_level level = o == SCHED_FAILED ? LOG_ERROR : LOG_WARNING;
    if (!log_begin(&l, level, "kronosd.predict", message))
        return;
    log_prediction_fields(&l, r, pl, batch, pl->status);
    if (o == SCHED_TIMEOUT)
        log_double(&l, "timeout_seconds", app_of(r)->cfg->inference_timeout);
    if (o == SCHED_FAILED) {
        log_str(&l, "error_type", "inference_error");
        log_str(&l, "error_message", sched_job_error(job));
    }
    log_end(&l);
}

void predict_observe_output(const http_request *r, const predict_log *pl,
                            const predict_request *req, const predict_output_stats *stats)
{
    bool batch = req->batch;
    sm_predicted_points(endpoint_of(batch), stats->points);
    log_line l;
    if (!log_begin(&l, LOG_INFO, "kronosd.predict",
                   batch ? "batch prediction completed" : "single prediction completed"))
        return;
    log_prediction_fields(&l, r, pl, batch, "success");
    log_uint(&l, "ohlc_adjusted", stats->ohlc_adjusted);
    log_uint(&l, "volume_clamped", stats->volume_clamped);
    log_end(&l);
}

void predict_observe_phase(const http_request *r, const char *phase, uint64_t phase_start_ns,
                           const predict_log *pl)
{
    log_line l;
    if (!log_begin(&l, LOG_DEBUG, "kronosd.predict", phase))
        return;
    log_str(&l, "request_id", r->request_id);
    log_str(&l, "path", r->path);
    log_double(&l, "phase_ms", ms_since(phase_start_ns));
    log_double(&l, "latency_ms", ms_since(r->start_ns));
    if (pl && pl->series_count) {
        log_uint(&l, "rows", pl->rows);
        log_uint(&l, "pred_len", pl->pred_len);
        log_uint(&l, "series_count", pl->series_count);
    }
    if (pl && pl->status) {
        log_str(&l, "status", pl->status);
        log_double(&l, "queue_time_ms", pl->queue_time_ms);
        log_double(&l, "model_inference_ms", pl->model_inference_ms);
    }
    log_end(&l);
}
