#include "obs/span.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "obs/span_export.h"
#include "util/clock.h"
#include "util/random.h"
#include "util/utf8_sanitize.h"

static int64_t g_mono_to_unix;
static pthread_once_t g_offset_once = PTHREAD_ONCE_INIT;

static void offset_init(void)
{
    g_mono_to_unix = (int64_t)clock_real_ns() - (int64_t)clock_mono_ns();
}

uint64_t span_unix_ns(uint64_t mono_ns)
{
    pthread_once(&g_offset_once, offset_init);
    return (uint64_t)((int64_t)mono_ns + g_mono_to_unix);
}

static int hex_val(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
}

static void begin(span *s, const trace_ctx *t, const char *name, enum span_kind kind,
                  uint64_t start_mono_ns)
{
    memset(s, 0, offsetof(span, pool));
    s->status_message[0] = '\0';
    s->active = true;
    hex_to_bytes(t->trace_id, s->trace_id, 16);
    s->kind = (uint8_t)kind;
    s->flags = t->flags;
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->trace_state, sizeof(s->trace_state), "%s", t->tracestate);
    s->start_unix_ns = span_unix_ns(start_mono_ns);
}

void span_begin(span *s, const trace_ctx *t, const span *parent, const char *name,
                enum span_kind kind, uint64_t start_mono_ns)
{
    s->active = false;
    if (!t->recording)
        return;
    begin(s, t, name, kind, start_mono_ns);
    uint64_t id = random_u64();
    if (!id)
        id = 1;
    memcpy(s->span_id, &id, 8);
    s->has_parent = true;
    if (parent && parent->active)
        memcpy(s->parent_id, parent->span_id, 8);
    else
        hex_to_bytes(t->span_id, s->parent_id, 8);
}

void span_begin_server(span *s, const trace_ctx *t, const char *name, uint64_t start_mono_ns)
{
    s->active = false;
    if (!t->recording)
        return;
    begin(s, t, name, SPAN_KIND_SERVER, start_mono_ns);
    hex_to_bytes(t->span_id, s->span_id, 8);
    if (t->continued && t->parent_id[0]) {
        s->has_parent = true;
        hex_to_bytes(t->parent_id, s->parent_id, 8);
    }
}

static span_attr *attr_slot(span *s, const char *key)
{
    if (!s->active)
        return NULL;
    for (uint16_t i = 0; i < s->nattrs; i++)
        if (strcmp(s->attrs[i].key, key) == 0)
            return &s->attrs[i]; /* a key set again keeps its latest value */
    if (s->nattrs >= SPAN_MAX_ATTRS) {
        s->dropped_attrs++;
        return NULL;
    }
    span_attr *a = &s->attrs[s->nattrs++];
    a->key = key;
    return a;
}

void span_strn(span *s, const char *key, const char *value, size_t len)
{
    span_attr *a = attr_slot(s, key);
    if (!a)
        return;
    size_t room = (size_t)(SPAN_POOL_BYTES - s->pool_used);
    if (room > SPAN_STR_MAX + 1)
        room = SPAN_STR_MAX + 1;
    if (room < 2) {
        s->nattrs--;
        s->dropped_attrs++;
        return;
    }
    /* OTLP strings must be valid UTF-8 (collectors refuse the whole export otherwise); the
     * sanitiser also cuts whole characters only. Its NUL is overwritten by the next value. */
    size_t n = utf8_sanitize(s->pool + s->pool_used, room, value, len);
    a->type = SPAN_ATTR_STR;
    a->off = s->pool_used;
    a->len = (uint16_t)n;
    s->pool_used += (uint16_t)n;
}

void span_str(span *s, const char *key, const char *value)
{
    if (s->active && value)
        span_strn(s, key, value, strlen(value));
}

void span_int(span *s, const char *key, int64_t value)
{
    span_attr *a = attr_slot(s, key);
    if (a) {
        a->type = SPAN_ATTR_INT;
        a->v.i = value;
    }
}

void span_double(span *s, const char *key, double value)
{
    span_attr *a = attr_slot(s, key);
    if (a) {
        a->type = SPAN_ATTR_DOUBLE;
        a->v.d = value;
    }
}

void span_bool(span *s, const char *key, bool value)
{
    span_attr *a = attr_slot(s, key);
    if (a) {
        a->type = SPAN_ATTR_BOOL;
        a->v.b = value;
    }
}

void span_error(span *s, const char *error_type, const char *message)
{
    if (!s->active)
        return;
    s->status = SPAN_STATUS_ERROR;
    if (error_type)
        span_str(s, "error.type", error_type);
    const char *m = message ? message : "";
    utf8_sanitize(s->status_message, sizeof(s->status_message), m, strlen(m));
}

void span_rename(span *s, const char *name)
{
    if (s->active)
        snprintf(s->name, sizeof(s->name), "%s", name);
}

void span_end(span *s, uint64_t end_mono_ns)
{
    if (!s->active)
        return;
    s->end_unix_ns = span_unix_ns(end_mono_ns);
    if (s->end_unix_ns < s->start_unix_ns)
        s->end_unix_ns = s->start_unix_ns;
    span_export_enqueue(s);
    s->active = false;
}

void span_id_hex(const span *s, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = digits[s->span_id[i] >> 4];
        out[2 * i + 1] = digits[s->span_id[i] & 15];
    }
    out[16] = '\0';
}
