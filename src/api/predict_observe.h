#ifndef KRONOS_API_PREDICT_OBSERVE_H
#define KRONOS_API_PREDICT_OBSERVE_H

#include <stdbool.h>

#include "api/predict_request.h"
#include "api/predict_response.h"
#include "engine/scheduler.h"
#include "http/request.h"

/* Logs and metrics of the prediction path (SPEC §3, §4). Candle values are never logged. */

/* A validated request, before it is queued: input sizes. */
void predict_observe_input(http_request *r, const predict_request *req);
/* The job is done: queue wait, inference time, timeouts, the prediction log line. */
void predict_observe_outcome(http_request *r, const predict_request *req, const sched_job *job);
/* A forecast answered: points produced and consistency adjustments. */
void predict_observe_output(http_request *r, const predict_request *req,
                            const predict_output_stats *stats);

#endif
