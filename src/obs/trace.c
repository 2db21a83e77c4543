#include "obs/trace.h"

#include <stdio.h>
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

void trace_start(trace_ctx *t, const char *header)
{
    memset(t, 0, sizeof(*t));
    if (traceparent_parse(header, t->trace_id, t->parent_id, &t->flags)) {
        t->continued = true;
        t->flags &= 0x01; /* version 00 defines only the sampled bit */
    } else {
        random_hex(t->trace_id, 32);
        t->parent_id[0] = '\0';
        t->flags = 0x01;
    }
    random_hex(t->span_id, 16);
}

void trace_format(const trace_ctx *t, char out[TRACEPARENT_LEN + 1])
{
    snprintf(out, TRACEPARENT_LEN + 1, "00-%s-%s-%02x", t->trace_id, t->span_id, t->flags);
}
