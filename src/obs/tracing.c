#include "obs/tracing.h"

#include <stdio.h>
#include <string.h>

#include "obs/log.h"
#include "obs/span_export.h"

/* Header names only: their values are often credentials. */
static void header_names(const char *lines, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = lines; *p;) {
        size_t n = strcspn(p, ":");
        int w = snprintf(out + o, cap - o, "%s%.*s", o ? "," : "", (int)n, p);
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        p = eol + 2;
    }
}

int tracing_start(const otel_config *c, char *err, size_t errlen)
{
    trace_set_sampler(c->enabled, c->sampler, c->ratio);
    log_line l;
    if (!c->enabled) {
        if (log_begin(&l, LOG_INFO, "kronosd.tracing", "tracing off")) {
            log_str(&l, "reason",
                    c->endpoint[0] ? "OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none"
                                   : "no OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT");
            log_end(&l);
        }
        return 0;
    }
    if (span_export_start(&c->exporter, err, errlen) != 0)
        return -1;
    if (log_begin(&l, LOG_INFO, "kronosd.tracing", "tracing on")) {
        char names[512];
        header_names(c->exporter.headers, names, sizeof(names));
        log_str(&l, "endpoint", c->endpoint);
        log_str(&l, "protocol", c->exporter.json ? "http/json" : "http/protobuf");
        log_str(&l, "sampler", c->sampler_name);
        log_double(&l, "sampler_ratio", c->ratio);
        log_str(&l, "service_name", otlp_resource_get(&c->exporter.resource, "service.name"));
        log_uint(&l, "queue_size", c->exporter.queue_size);
        log_uint(&l, "batch_size", c->exporter.batch_size);
        log_double(&l, "schedule_delay_seconds", c->exporter.delay);
        if (names[0])
            log_str(&l, "headers", names);
        log_end(&l);
    }
    return 0;
}

void tracing_shutdown(double seconds)
{
    span_export_shutdown(seconds);
}
