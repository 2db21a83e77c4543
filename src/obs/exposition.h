#ifndef KRONOS_OBS_EXPOSITION_H
#define KRONOS_OBS_EXPOSITION_H

/* Rendering a registry as Prometheus text 0.0.4 or OpenMetrics 1.0.0, and choosing between them. */

#include <stdbool.h>
#include <stddef.h>

#include "obs/metrics.h"
#include "util/strbuf.h"

enum metric_format { METRIC_FMT_TEXT, METRIC_FMT_OPENMETRICS };

#define METRIC_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define METRIC_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/*
 * Picks the format for an Accept header (NULL or empty: text) the way Prometheus' expfmt
 * NegotiateIncludingOpenMetrics does: clauses sorted by q (then specificity), the first that
 * names text/plain (version 0.0.4 or none) or application/openmetrics-text (version 1.0.0,
 * 0.0.1 or none) wins; otherwise text. Clauses with q=0 are skipped (RFC 9110: not acceptable).
 * *content_type, when not NULL, receives the exact Content-Type to send.
 */
enum metric_format metric_negotiate(const char *accept, const char **content_type);

/* Appends the whole registry to out. 0 on success, -1 when out of memory (or past out's limit). */
int metric_registry_render(struct metric_registry *r, enum metric_format fmt, strbuf *out);

#define METRIC_DOUBLE_MAX 32

/*
 * Writes v as the shortest decimal that reads back as the same double (integers without a
 * decimal point, "+Inf", "-Inf", "NaN"); returns the length. out needs METRIC_DOUBLE_MAX bytes.
 */
size_t metric_format_double(double v, char *out);

/* Escapes a HELP text or label value (quote: also `"`), mapping ill-formed UTF-8 to U+FFFD. */
void metric_escape(strbuf *b, const char *s, bool quote);

#endif
