#ifndef KRONOS_OBS_SPAN_EXPORT_H
#define KRONOS_OBS_SPAN_EXPORT_H

/*
 * The batch span processor and OTLP/HTTP exporter. Ended spans are copied into a bounded ring
 * allocated (and touched) at start; one background thread takes up to `batch` of them at a time,
 * encodes them and POSTs them to the collector, retrying with exponential backoff (or the
 * collector's Retry-After) on no answer, 429, 502, 503 and 504, as the OTLP specification says.
 * The request path only copies a span under a mutex held for that copy: a full ring drops the
 * span (kronos_trace_spans_dropped_total), so a slow or dead collector never costs requests
 * latency or the process memory.
 */

#include <stdbool.h>
#include <stddef.h>

#include "obs/otlp_encode.h"
#include "obs/otlp_http.h"
#include "obs/span.h"

typedef struct span_export_config {
    otlp_endpoint endpoint;
    char headers[2048]; /* "Name: value\r\n" lines */
    bool json;          /* http/json instead of http/protobuf */
    double timeout;     /* seconds per export request (OTEL_EXPORTER_OTLP_TIMEOUT) */
    double delay;       /* seconds between exports of a partial batch (OTEL_BSP_SCHEDULE_DELAY) */
    double
        export_timeout; /* seconds a batch may take, retries included (OTEL_BSP_EXPORT_TIMEOUT) */
    size_t queue_size;  /* OTEL_BSP_MAX_QUEUE_SIZE */
    size_t batch_size;  /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE */
    otlp_resource resource;
} span_export_config;

/* Starts the exporter thread (once per process, or again after span_export_shutdown when no
 * thread can still end spans). 0, or -1 with a message. */
int span_export_start(const span_export_config *c, char *err, size_t errlen);
/* Copies an ended span into the queue (no-op when the exporter is not running). */
void span_export_enqueue(const span *s);
/* Stops taking spans, exports what is queued for at most `seconds`, drops (and counts) the rest,
 * joins the thread. */
void span_export_shutdown(double seconds);

#endif
