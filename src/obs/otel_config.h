#ifndef KRONOS_OBS_OTEL_CONFIG_H
#define KRONOS_OBS_OTEL_CONFIG_H

/* The OpenTelemetry SDK environment variables kronosd honours for tracing (SPEC §2: standard
 * meanings). Tracing is on when an endpoint is set, unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. Every value is validated: a bad one stops start-up with a message
 * naming the variable, as a bad KRONOS_* value does. */

#include <stdbool.h>
#include <stddef.h>

#include "obs/span_export.h"
#include "obs/trace.h"

typedef struct otel_config {
    bool enabled;
    enum trace_sampler sampler;
    double ratio;
    char sampler_name[40];
    char endpoint[1024]; /* the URL spans are POSTed to */
    span_export_config exporter;
} otel_config;

/* version: service.version; instance: service.instance.id unless OTEL_RESOURCE_ATTRIBUTES sets
 * it. 0, or -1 with one line in err. */
int otel_config_load(otel_config *c, const char *(*getenv_fn)(const char *), const char *version,
                     const char *instance, char *err, size_t errlen);

#endif
