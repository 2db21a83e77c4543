#ifndef KRONOS_TRACE_H
#define KRONOS_TRACE_H

#include <stdbool.h>
#include <stdint.h>

/* Request identity (SPEC §4): X-Request-ID and W3C Trace Context. */

#define REQUEST_ID_MAX 128
#define TRACEPARENT_LEN 55
#define TRACESTATE_MAX 512 /* W3C Trace Context: what a vendor must be able to propagate */

typedef struct trace_ctx {
    char trace_id[33];  /* 32 lowercase hex */
    char span_id[17];   /* this server's span */
    char parent_id[17]; /* the caller's span, empty when the trace started here */
    uint8_t flags;
    bool continued; /* a valid traceparent was received */
    bool recording; /* tracing is on and this trace is sampled: its spans are exported */
    char tracestate[TRACESTATE_MAX + 1]; /* the caller's, kept when the traceparent was valid */
} trace_ctx;

/* Which traces are sampled (OTEL_TRACES_SAMPLER): parent-based samplers follow the sampled flag
 * of a valid incoming traceparent and use their root sampler for new traces. */
enum trace_sampler {
    TRACE_SAMPLER_ALWAYS_ON,
    TRACE_SAMPLER_ALWAYS_OFF,
    TRACE_SAMPLER_RATIO,
    TRACE_SAMPLER_PARENT_ALWAYS_ON,
    TRACE_SAMPLER_PARENT_ALWAYS_OFF,
    TRACE_SAMPLER_PARENT_RATIO,
};

/* Turns span recording on with that sampler (off by default: every new trace is flagged
 * sampled, as before tracing existed, and nothing records). Call before serving. */
void trace_set_sampler(bool enabled, enum trace_sampler sampler, double ratio);
bool trace_recording_enabled(void);
/* The sampler's decision for a trace id (32 hex digits), given the caller's context. */
bool trace_sample(const char trace_id[33], bool has_parent, bool parent_sampled);

/* 1..128 characters of [A-Za-z0-9._:-]. */
bool request_id_valid(const char *s);
/* A random UUID v4 string (36 chars). */
void request_id_generate(char out[37]);

/* Parses a traceparent header value per W3C Trace Context §3.2 and its processing rules for
 * version-format: lowercase hex only, version ff invalid, all-zero trace or parent id invalid;
 * version 00 must be exactly 55 chars; a higher version may carry more fields after a '-'. */
bool traceparent_parse(const char *s, char trace_id[33], char parent_id[17], uint8_t *flags);

/* Continues the caller's trace when `header` is valid (with its tracestate, which may be NULL),
 * else starts a new one; the sampled flag is the sampler's decision when tracing is on. */
void trace_start(trace_ctx *t, const char *header, const char *tracestate);
/* The traceparent to send back: version 00, our trace id, our span id, the flags. */
void trace_format(const trace_ctx *t, char out[TRACEPARENT_LEN + 1]);

#endif
