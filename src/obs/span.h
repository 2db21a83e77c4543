#ifndef KRONOS_OBS_SPAN_H
#define KRONOS_OBS_SPAN_H

/*
 * OpenTelemetry spans of one process, as plain fixed-size records: a span is filled on the
 * stack of whoever measures it and copied whole into the export queue when it ends
 * (obs/span_export.h), so recording never allocates. A span begun from a trace context that is
 * not recording (tracing off, or the trace not sampled) is inert: every call on it does nothing.
 *
 *   span s;
 *   span_begin(&s, &r->trace, NULL, "kronosd.parse", SPAN_KIND_INTERNAL, start_mono_ns);
 *   span_int(&s, "kronos.rows", rows);
 *   span_end(&s, clock_mono_ns());
 *
 * Attribute keys must be string literals (they are read later, on the exporter thread); string
 * values are copied (cut at SPAN_STR_MAX bytes).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/trace.h"

#define SPAN_MAX_ATTRS 16
#define SPAN_POOL_BYTES 768
#define SPAN_STR_MAX 256
#define SPAN_NAME_MAX 64
#define SPAN_STATUS_MAX 128

enum span_kind { SPAN_KIND_INTERNAL = 1, SPAN_KIND_SERVER = 2 };
enum span_status { SPAN_STATUS_UNSET = 0, SPAN_STATUS_OK = 1, SPAN_STATUS_ERROR = 2 };
enum span_attr_type { SPAN_ATTR_STR, SPAN_ATTR_INT, SPAN_ATTR_DOUBLE, SPAN_ATTR_BOOL };

typedef struct span_attr {
    const char *key;
    uint8_t type;
    uint16_t off, len; /* SPAN_ATTR_STR: the value's bytes in the span's pool */
    union {
        int64_t i;
        double d;
        bool b;
    } v;
} span_attr;

typedef struct span {
    bool active;
    uint8_t trace_id[16], span_id[8], parent_id[8];
    bool has_parent;
    uint8_t kind, status, flags;
    char name[SPAN_NAME_MAX];
    uint64_t start_unix_ns, end_unix_ns;
    uint16_t nattrs, dropped_attrs, pool_used;
    span_attr attrs[SPAN_MAX_ATTRS];
    char pool[SPAN_POOL_BYTES];
    char status_message[SPAN_STATUS_MAX];
    char trace_state[TRACESTATE_MAX + 1];
} span;

/* A child of `parent`, or of the request's server span when parent is NULL. */
void span_begin(span *s, const trace_ctx *t, const span *parent, const char *name,
                enum span_kind kind, uint64_t start_mono_ns);
/* The request's server span: its id is t->span_id (the one the response's traceparent names),
 * its parent the caller's span when the trace was continued. */
void span_begin_server(span *s, const trace_ctx *t, const char *name, uint64_t start_mono_ns);
void span_str(span *s, const char *key, const char *value);
void span_strn(span *s, const char *key, const char *value, size_t len);
void span_int(span *s, const char *key, int64_t value);
void span_double(span *s, const char *key, double value);
void span_bool(span *s, const char *key, bool value);
/* Status ERROR with the error.type attribute (low-cardinality) and a message (may be NULL). */
void span_error(span *s, const char *error_type, const char *message);
void span_rename(span *s, const char *name);
/* Ends the span and hands it to the exporter (dropped and counted when its queue is full). */
void span_end(span *s, uint64_t end_mono_ns);

/* 16 lowercase hex digits of the span id. */
void span_id_hex(const span *s, char out[17]);
/* Wall-clock nanoseconds of a monotonic instant (one offset per process, so durations keep the
 * monotonic clock's precision). */
uint64_t span_unix_ns(uint64_t mono_ns);

#endif
