#ifndef KRONOS_API_PREDICT_OBSERVE_H
#define KRONOS_API_PREDICT_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/predict_request.h"
#include "api/predict_response.h"
#include "engine/scheduler.h"
#include "http/request.h"

#include "obs/log.h"

/* Logs and metrics of the prediction path (SPEC §3, §4). Candle values are never logged. */

/* The prediction figures of one request, for its log lines. */
typedef struct predict_log {
    char series_id[129];
    size_t rows;
    size_t pred_len;
    size_t series_count;
    double queue_time_ms;
    double model_inference_ms;
    const char *status; /* success, timeout, failed, cancelled; NULL until the job is done */
} predict_log;

/* A validated request, before it is queued: input sizes. */
void predict_observe_input(predict_log *pl, const predict_request *req);
/* The job is done: queue wait, inference time, timeouts, the prediction log line. */
void predict_observe_outcome(const http_request *r, predict_log *pl, const predict_request *req,
                             const sched_job *job);
/* A forecast answered: points produced and consistency adjustments. */
void predict_observe_output(const http_request *r, const predict_log *pl,
                            const predict_request *req, const predict_output_stats *stats);
/* A DEBUG line per phase of a request ("prediction validated", "prediction queued", "prediction
 * job done", "prediction answer built"): how long the phase took, with the request's figures. */
void predict_observe_phase(const http_request *r, const char *phase, uint64_t phase_start_ns,
                           const predict_log *pl);
/* The prediction fields of the request's `request completed` line. */
void predict_log_request_fields(log_line *l, const predict_log *pl);

#endif
