#ifndef KRONOS_TRACE_H
#define KRONOS_TRACE_H

#include <stdbool.h>
#include <stdint.h>

/* Request identity (SPEC §4): X-Request-ID and W3C Trace Context. */

#define REQUEST_ID_MAX 128
#define TRACEPARENT_LEN 55

typedef struct trace_ctx {
    char trace_id[33];  /* 32 lowercase hex */
    char span_id[17];   /* this server's span */
    char parent_id[17]; /* the caller's span, empty when the trace started here */
    uint8_t flags;
    bool continued; /* a valid traceparent was received */
} trace_ctx;

/* 1..128 characters of [A-Za-z0-9._:-]. */
bool request_id_valid(const char *s);
/* A random UUID v4 string (36 chars). */
void request_id_generate(char out[37]);

/* Parses a traceparent header value per W3C Trace Context §3.2 and its processing rules for
 * version-format: lowercase hex only, version ff invalid, all-zero trace or parent id invalid;
 * version 00 must be exactly 55 chars; a higher version may carry more fields after a '-'. */
bool traceparent_parse(const char *s, char trace_id[33], char parent_id[17], uint8_t *flags);

/* Continues the caller's trace when `header` is valid, else starts a new one (sampled). */
void trace_start(trace_ctx *t, const char *header);
/* The traceparent to send back: version 00, our trace id, our span id, the flags. */
void trace_format(const trace_ctx *t, char out[TRACEPARENT_LEN + 1]);

#endif
