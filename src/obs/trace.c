#include "obs/trace.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/random.h"

bool request_id_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= REQUEST_ID_MAX)
            return false;
    }
    return n > 0;
}

void request_id_generate(char out[37])
{
    char hex[33];
    random_hex(hex, 32);
    hex[12] = '4';                      /* version 4 */
    hex[16] = "89ab"[random_u64() & 3]; /* RFC 4122 variant */
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static bool all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

static int hex_byte(const char *s)
{
    int v = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        v = v * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

bool traceparent_parse(const char *s, char trace_id[33], char parent_id[17], uint8_t *flags)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len < TRACEPARENT_LEN)
        return false;
    /* version "-" trace-id "-" parent-id "-" flags */
    if (!lower_hex(s, 2) || s[2] != '-' || !lower_hex(s + 3, 32) || s[35] != '-' ||
        !lower_hex(s + 36, 16) || s[52] != '-' || !lower_hex(s + 53, 2))
        return false;
    int version = hex_byte(s);
    if (version == 0xff)
        return false;
    if (version == 0 && len != TRACEPARENT_LEN)
        return false;
    if (version > 0 && len > TRACEPARENT_LEN && s[TRACEPARENT_LEN] != '-')
        return false;
    if (all_zero(s + 3, 32) || all_zero(s + 36, 16))
        return false;
    memcpy(trace_id, s + 3, 32);
    trace_id[32] = '\0';
    memcpy(parent_id, s + 36, 16);
    parent_id[16] = '\0';
    *flags = (uint8_t)hex_byte(s + 53);
    return true;
}

/* Set once before serving, read by every request. */
static bool g_enabled;
static enum trace_sampler g_sampler = TRACE_SAMPLER_PARENT_ALWAYS_ON;
static uint64_t g_ratio_bound; /* trace ids whose low 63 bits are below this are sampled */

void trace_set_sampler(bool enabled, enum trace_sampler sampler, double ratio)
{
    g_enabled = enabled;
    g_sampler = sampler;
    if (!(ratio > 0))
        g_ratio_bound = 0;
    else if (ratio >= 1)
        g_ratio_bound = UINT64_MAX;
    else
        g_ratio_bound = (uint64_t)(ratio * 9223372036854775808.0); /* 2^63 */
}

bool trace_recording_enabled(void)
{
    return g_enabled;
}

/* TraceIdRatioBased: a deterministic function of the trace id, so every service with the same
 * ratio makes the same decision; the low 8 bytes are the random part W3C level 2 defines. */
static bool ratio_sample(const char trace_id[33])
{
    if (g_ratio_bound == UINT64_MAX)
        return true;
    uint64_t low = strtoull(trace_id + 16, NULL, 16) >> 1;
    return low < g_ratio_bound;
}

bool trace_sample(const char trace_id[33], bool has_parent, bool parent_sampled)
{
    switch (g_sampler) {
    case TRACE_SAMPLER_ALWAYS_ON:
        return true;
    case TRACE_SAMPLER_ALWAYS_OFF:
        return false;
    case TRACE_SAMPLER_RATIO:
        return ratio_sample(trace_id);
    case TRACE_SAMPLER_PARENT_ALWAYS_ON:
        return has_parent ? parent_sampled : true;
    case TRACE_SAMPLER_PARENT_ALWAYS_OFF:
        return has_parent ? parent_sampled : false;
    case TRACE_SAMPLER_PARENT_RATIO:
        return has_parent ? parent_sampled : ratio_sample(trace_id);
    }
    return false;
}

/* Kept only when printable ASCII and no longer than a vendor must propagate; the list itself is
 * passed on as received (W3C Trace Context §3.3: a vendor may not mend another's entries). */
static void keep_tracestate(trace_ctx *t, const char *ts)
{
    if (!ts)
        return;
    size_t n = strlen(ts);
    if (n == 0 || n > TRACESTATE_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if (ts[i] < 0x20 || ts[i] > 0x7e)
            return;
    memcpy(t->tracestate, ts, n + 1);
}

void trace_start(trace_ctx *t, const char *header, const char *tracestate)
{
    memset(t, 0, sizeof(*t));
    if (traceparent_parse(header, t->trace_id, t->parent_id, &t->flags)) {
        t->continued = true;
        t->flags &= 0x01; /* version 00 defines only the sampled bit */
        keep_tracestate(t, tracestate);
    } else {
        random_hex(t->trace_id, 32);
        t->parent_id[0] = '\0';
        t->flags = 0x01;
    }
    random_hex(t->span_id, 16);
    if (g_enabled) {
        bool sampled = trace_sample(t->trace_id, t->continued, t->flags & 0x01);
        t->flags = sampled ? 0x01 : 0x00;
        t->recording = sampled;
    }
}

void trace_format(const trace_ctx *t, char out[TRACEPARENT_LEN + 1])
{
    snprintf(out, TRACEPARENT_LEN + 1, "00-%s-%s-%02x", t->trace_id, t->span_id, t->flags);
}
