#ifndef KRONOS_OBS_OTLP_ENCODE_H
#define KRONOS_OBS_OTLP_ENCODE_H

/* An ExportTraceServiceRequest (opentelemetry-proto, collector/trace/v1) for one resource and
 * one instrumentation scope, in the OTLP/HTTP binary protobuf encoding or in OTLP/JSON (hex
 * ids, integer enums, 64-bit integers as strings). Fixed schema, so encoded by hand. */

#include <stddef.h>

#include "obs/span.h"
#include "util/strbuf.h"

#define OTLP_RESOURCE_MAX_ATTRS 32

typedef struct otlp_attr {
    char key[128];
    char value[256];
} otlp_attr;

typedef struct otlp_resource {
    otlp_attr attrs[OTLP_RESOURCE_MAX_ATTRS];
    size_t n;
    char scope_name[64], scope_version[64];
} otlp_resource;

/* Sets a resource attribute (replacing one of that key). -1 when full. */
int otlp_resource_set(otlp_resource *r, const char *key, const char *value);
const char *otlp_resource_get(const otlp_resource *r, const char *key);

/* Appends the request to out. 0, or -1 when out of memory. */
int otlp_encode_proto(const otlp_resource *res, const span *spans, size_t n, strbuf *out);
int otlp_encode_json(const otlp_resource *res, const span *spans, size_t n, strbuf *out);

#endif
