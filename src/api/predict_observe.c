#include "app.h"
#include "api/predict_observe.h"

#include <stdio.h>

#include "obs/log.h"
#include "obs/service_metrics.h"

static enum sm_endpoint endpoint_of(bool batch)
{
    return batch ? SM_ENDPOINT_BATCH : SM_ENDPOINT_SINGLE;
}

void predict_observe_input(http_request *r, const predict_request *req)
{
    enum sm_endpoint ep = endpoint_of(req->batch);
    for (size_t i = 0; i < req->n; i++)
        sm_input_size(ep, req->series[i].rows);
    if (req->batch)
        sm_batch_items(req->n);
    r->predict.series_count = req->n;
    r->predict.rows = req->total_rows;
    r->predict.pred_len = req->total_pred_len;
    if (req->n == 1 && req->items[0].series_id)
        snprintf(r->predict.series_id, sizeof(r->predict.series_id), "%s", req->items[0].series_id);
}

/* The fields every prediction log line carries (SPEC §4); never candle values. endpoint is the
 * route path, as the FastAPI service logged it. */
static void log_prediction_fields(log_line *l, const http_request *r, bool batch)
{
    log_str(l, "request_id", r->request_id);
    log_str(l, "endpoint", sm_endpoint_names[endpoint_of(batch)]);
    log_str(l, "trace_id", r->trace.trace_id);
    log_str(l, "container", r->identity);
    if (r->predict.series_id[0])
        log_str(l, "series_id", r->predict.series_id);
    log_uint(l, "rows", r->predict.rows);
    log_uint(l, "pred_len", r->predict.pred_len);
    log_uint(l, "series_count", r->predict.series_count);
    log_double(l, "queue_time_ms", r->predict.queue_time_ms);
    log_double(l, "model_inference_ms", r->predict.model_inference_ms);
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

void predict_observe_outcome(http_request *r, const predict_request *req, const sched_job *job)
{
    bool batch = req->batch;
    sched_outcome o = sched_job_outcome(job);
    r->predict.status = outcome_status(o);
    r->predict.queue_time_ms = sched_job_queue_wait_seconds(job) * 1e3;
    r->predict.model_inference_ms = sched_job_inference_seconds(job) * 1e3;
    enum sm_endpoint ep = endpoint_of(batch);
    sm_queue_wait(ep, sched_job_queue_wait_seconds(job));
    if (sched_job_started(job))
        sm_inference(ep, sched_job_inference_seconds(job), r->trace.trace_id);
    if (o == SCHED_TIMEOUT)
        sm_timeout(ep);
    if (o == SCHED_OK)
        return; /* logged with its output figures */
    const char *what = batch ? "batch prediction" : "single prediction";
    char message[64];
    snprintf(message, sizeof(message), "%s %s", what,
             o == SCHED_TIMEOUT ? "timeout" : (o == SCHED_CANCELLED ? "cancelled" : "failed"));
    log_line l;
    if (!log_begin(&l, o == SCHED_CANCELLED ? LOG_WARNING : LOG_ERROR, "kronosd.predict", message))
        return;
    log_prediction_fields(&l, r, batch);
    log_str(&l, "status", r->predict.status);
    if (o == SCHED_TIMEOUT)
        log_double(&l, "timeout_seconds", r->app->cfg->inference_timeout);
    if (o == SCHED_FAILED) {
        log_str(&l, "error_type", "inference_error");
        log_str(&l, "error_message", sched_job_error(job));
    }
    log_end(&l);
}

void predict_observe_output(http_request *r, const predict_request *req,
                            const predict_output_stats *stats)
{
    bool batch = req->batch;
    sm_predicted_points(endpoint_of(batch), stats->points);
    log_line l;
    if (!log_begin(&l, LOG_INFO, "kronosd.predict",
                   batch ? "batch prediction completed" : "single prediction completed"))
        return;
    log_prediction_fields(&l, r, batch);
    log_str(&l, "status", "success");
    log_uint(&l, "ohlc_adjusted", stats->ohlc_adjusted);
    log_uint(&l, "volume_clamped", stats->volume_clamped);
    log_end(&l);
}
