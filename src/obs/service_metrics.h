#ifndef KRONOS_OBS_SERVICE_METRICS_H
#define KRONOS_OBS_SERVICE_METRICS_H

/*
 * kronosd's metric set (SPEC §3). service_metrics_init() registers every family with every label
 * combination of the fixed routes, statuses, endpoints, events and configured containers at 0.
 * The sm_* recorders take enum indices, never allocate or lock, and are no-ops before init, so
 * code under test may call them freely.
 */

#include <stdbool.h>
#include <stddef.h>

#include "obs/exposition.h"
#include "util/strbuf.h"

enum sm_route {
    SM_ROUTE_ROOT,
    SM_ROUTE_HEALTHZ,
    SM_ROUTE_READYZ,
    SM_ROUTE_HEALTHZ_DETAILED,
    SM_ROUTE_PREDICT_SINGLE,
    SM_ROUTE_PREDICT_BATCH,
    SM_ROUTE_METRICS,
    SM_ROUTE_OPENAPI,
    SM_ROUTE_DOCS,
    SM_ROUTE_REDOC,
    SM_ROUTE_OTHER,
    SM_ROUTE_COUNT
};

enum sm_status {
    SM_STATUS_SUCCESS,      /* 1xx-3xx */
    SM_STATUS_INVALID,      /* 4xx other than 429 and 499 */
    SM_STATUS_RATE_LIMITED, /* 429 */
    SM_STATUS_UNAVAILABLE,  /* 503: overloaded, not ready, draining */
    SM_STATUS_TIMEOUT,      /* 504 */
    SM_STATUS_CANCELLED,    /* 499: the client hung up before the answer */
    SM_STATUS_ERROR,        /* other 5xx */
    SM_STATUS_COUNT
};

enum sm_endpoint { SM_ENDPOINT_SINGLE, SM_ENDPOINT_BATCH, SM_ENDPOINT_COUNT };

enum sm_event {
    SM_EVENT_UNAUTHORIZED,
    SM_EVENT_BLOCKED,
    SM_EVENT_INVALID_API_KEY,
    SM_EVENT_RATE_LIMITED,
    SM_EVENT_OVERSIZED,
    SM_EVENT_COUNT
};

extern const char *const sm_route_names[SM_ROUTE_COUNT];
extern const char *const sm_status_names[SM_STATUS_COUNT];
extern const char *const sm_endpoint_names[SM_ENDPOINT_COUNT];
extern const char *const sm_event_names[SM_EVENT_COUNT];

/* The status label for an HTTP status code; 499 (a client hang-up, as logged) is cancelled. */
enum sm_status sm_status_from_http(int code);

/*
 * Registers the metric set, process_* included. containers are the configured caller identities
 * (any other identity is recorded as "unknown"). 0, or -1 with a message in err.
 * Not thread-safe against the recorders: call before serving, shut down after.
 */
int service_metrics_init(const char *const *containers, size_t n_containers, char *err,
                         size_t errlen);
void service_metrics_shutdown(void);

/* Renders the exposition (uncompressed) into out. 0, or -1 when out of memory / not initialised. */
int service_metrics_render(enum metric_format fmt, strbuf *out);

/* trace_id: 32 lowercase hex digits or NULL; becomes the exemplar in OpenMetrics. */
void sm_request_done(enum sm_route route, enum sm_status status, double seconds,
                     size_t request_bytes, size_t response_bytes, const char *trace_id);
void sm_concurrent_inc(void);
void sm_concurrent_dec(void);

void sm_inference(enum sm_endpoint ep, double seconds, const char *trace_id);
void sm_timeout(enum sm_endpoint ep);
void sm_queue_wait(enum sm_endpoint ep, double seconds);
void sm_input_size(enum sm_endpoint ep, size_t candles);
void sm_batch_items(size_t n);
/* Rows one step of the model stacked (continuous batching). */
void sm_inference_batch_rows(int rows);
void sm_predicted_points(enum sm_endpoint ep, size_t n);

/* container: the caller identity; NULL or unconfigured is recorded as "unknown". */
void sm_security_event(enum sm_event ev, const char *container);
void sm_rate_limit_hit(const char *container);
void sm_size_rejection(const char *container);

/* Queue figures read at scrape time; fn must not call into the metrics library. */
void sm_queue_callbacks(double (*depth)(void *), double (*capacity)(void *), void *arg);

void sm_model_loaded(bool loaded);
void sm_model_load_seconds(double seconds);
void sm_model_load_failure(void);
/* Replaces kronos_model_info's series (engine "kronos"/"baseline", model and tokenizer names). */
void sm_model_info(const char *engine, const char *model, const char *tokenizer, int max_context);

/* Span export (obs/span_export): spans dropped, failed export requests, spans accepted. */
void sm_trace_spans_dropped(size_t n);
void sm_trace_export_failure(void);
void sm_trace_spans_exported(size_t n);

#endif
