#include "obs/otlp_encode.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int otlp_resource_set(otlp_resource *r, const char *key, const char *value)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->attrs[i].key, key) == 0) {
            snprintf(r->attrs[i].value, sizeof(r->attrs[i].value), "%s", value);
            return 0;
        }
    if (r->n >= OTLP_RESOURCE_MAX_ATTRS)
        return -1;
    snprintf(r->attrs[r->n].key, sizeof(r->attrs[r->n].key), "%s", key);
    snprintf(r->attrs[r->n].value, sizeof(r->attrs[r->n].value), "%s", value);
    r->n++;
    return 0;
}

const char *otlp_resource_get(const otlp_resource *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return r->attrs[i].value;
    return NULL;
}

/* ---- protobuf wire format ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static void pb_varint(strbuf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (char)(byte | (v ? 0x80 : 0));
    } while (v);
    sb_append(b, tmp, n);
}

static void pb_tag(strbuf *b, unsigned field, unsigned wire)
{
    pb_varint(b, (uint64_t)field << 3 | wire);
}

static void pb_bytes(strbuf *b, unsigned field, const void *data, size_t len)
{
    pb_tag(b, field, WT_LEN);
    pb_varint(b, len);
    sb_append(b, data, len);
}

static void pb_string(strbuf *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

static void pb_fixed64(strbuf *b, unsigned field, uint64_t v)
{
    char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (char)(v >> (8 * i));
    pb_tag(b, field, WT_I64);
    sb_append(b, le, 8);
}

static void pb_fixed32(strbuf *b, unsigned field, uint32_t v)
{
    char le[4];
    for (int i = 0; i < 4; i++)
        le[i] = (char)(v >> (8 * i));
    pb_tag(b, field, WT_I32);
    sb_append(b, le, 4);
}

/* A nested message: the tag now, the length once the body is written (moved up to make room). */
static size_t pb_open(strbuf *b, unsigned field)
{
    pb_tag(b, field, WT_LEN);
    return b->len;
}

static void pb_close(strbuf *b, size_t mark)
{
    if (!sb_ok(b))
        return;
    size_t body = b->len - mark;
    char tmp[10];
    size_t n = 0;
    uint64_t v = body;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (char)(byte | (v ? 0x80 : 0));
    } while (v);
    if (!sb_reserve(b, n))
        return;
    memmove(b->data + mark + n, b->data + mark, body);
    memcpy(b->data + mark, tmp, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* KeyValue { key = 1; AnyValue value = 2 } with AnyValue { string 1, bool 2, int 3, double 4 } */
static void pb_kv_string(strbuf *b, unsigned field, const char *key, const char *v, size_t len)
{
    size_t kv = pb_open(b, field);
    pb_string(b, 1, key);
    size_t any = pb_open(b, 2);
    pb_bytes(b, 1, v, len);
    pb_close(b, any);
    pb_close(b, kv);
}

static void pb_kv_attr(strbuf *b, unsigned field, const span *s, const span_attr *a)
{
    if (a->type == SPAN_ATTR_STR) {
        pb_kv_string(b, field, a->key, s->pool + a->off, a->len);
        return;
    }
    size_t kv = pb_open(b, field);
    pb_string(b, 1, a->key);
    size_t any = pb_open(b, 2);
    if (a->type == SPAN_ATTR_BOOL) {
        pb_tag(b, 2, WT_VARINT);
        pb_varint(b, a->v.b ? 1 : 0);
    } else if (a->type == SPAN_ATTR_INT) {
        pb_tag(b, 3, WT_VARINT);
        pb_varint(b, (uint64_t)a->v.i); /* int64: two's complement, 10 bytes when negative */
    } else {
        uint64_t bits;
        memcpy(&bits, &a->v.d, 8);
        pb_fixed64(b, 4, bits);
        /* field 4 is a double: wire type I64, same layout as fixed64 */
    }
    pb_close(b, any);
    pb_close(b, kv);
}

static void pb_span(strbuf *b, const span *s)
{
    size_t m = pb_open(b, 2); /* ScopeSpans.spans */
    pb_bytes(b, 1, s->trace_id, 16);
    pb_bytes(b, 2, s->span_id, 8);
    if (s->trace_state[0])
        pb_string(b, 3, s->trace_state);
    if (s->has_parent)
        pb_bytes(b, 4, s->parent_id, 8);
    pb_string(b, 5, s->name);
    pb_tag(b, 6, WT_VARINT);
    pb_varint(b, s->kind);
    pb_fixed64(b, 7, s->start_unix_ns);
    pb_fixed64(b, 8, s->end_unix_ns);
    for (uint16_t i = 0; i < s->nattrs; i++)
        pb_kv_attr(b, 9, s, &s->attrs[i]);
    if (s->dropped_attrs) {
        pb_tag(b, 10, WT_VARINT);
        pb_varint(b, s->dropped_attrs);
    }
    if (s->status != SPAN_STATUS_UNSET || s->status_message[0]) {
        size_t st = pb_open(b, 15);
        if (s->status_message[0])
            pb_string(b, 2, s->status_message);
        pb_tag(b, 3, WT_VARINT);
        pb_varint(b, s->status);
        pb_close(b, st);
    }
    /* SpanFlags: the W3C trace flags, and that the parent's remoteness is known (bit 8) and
     * whether it is remote (bit 9) */
    uint32_t flags = s->flags | 0x100u;
    if (s->has_parent && s->kind == SPAN_KIND_SERVER)
        flags |= 0x200u;
    pb_fixed32(b, 16, flags);
    pb_close(b, m);
}

int otlp_encode_proto(const otlp_resource *res, const span *spans, size_t n, strbuf *out)
{
    size_t rs = pb_open(out, 1); /* ExportTraceServiceRequest.resource_spans */
    size_t r = pb_open(out, 1);  /* ResourceSpans.resource */
    for (size_t i = 0; i < res->n; i++)
        pb_kv_string(out, 1, res->attrs[i].key, res->attrs[i].value, strlen(res->attrs[i].value));
    pb_close(out, r);
    size_t ss = pb_open(out, 2); /* ResourceSpans.scope_spans */
    size_t sc = pb_open(out, 1); /* ScopeSpans.scope */
    pb_string(out, 1, res->scope_name);
    pb_string(out, 2, res->scope_version);
    pb_close(out, sc);
    for (size_t i = 0; i < n; i++)
        pb_span(out, &spans[i]);
    pb_close(out, ss);
    pb_close(out, rs);
    return sb_ok(out) ? 0 : -1;
}

/* ---- OTLP/JSON ---- */

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static json_t *u64_string(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
}

static json_t *json_kv(const char *key, json_t *value)
{
    return json_pack("{s:s, s:o}", "key", key, "value", value);
}

static json_t *json_attr(const span *s, const span_attr *a)
{
    char buf[24];
    switch (a->type) {
    case SPAN_ATTR_STR:
        return json_kv(a->key,
                       json_pack("{s:s%}", "stringValue", s->pool + a->off, (size_t)a->len));
    case SPAN_ATTR_BOOL:
        return json_kv(a->key, json_pack("{s:b}", "boolValue", a->v.b));
    case SPAN_ATTR_INT:
        snprintf(buf, sizeof(buf), "%" PRId64, a->v.i);
        return json_kv(a->key, json_pack("{s:s}", "intValue", buf));
    default:
        return json_kv(a->key, json_pack("{s:f}", "doubleValue", a->v.d));
    }
}

static json_t *json_span(const span *s)
{
    char tid[33], sid[17], pid[17];
    hex(tid, s->trace_id, 16);
    hex(sid, s->span_id, 8);
    json_t *o = json_object();
    json_object_set_new(o, "traceId", json_string(tid));
    json_object_set_new(o, "spanId", json_string(sid));
    if (s->trace_state[0])
        json_object_set_new(o, "traceState", json_string(s->trace_state));
    if (s->has_parent) {
        hex(pid, s->parent_id, 8);
        json_object_set_new(o, "parentSpanId", json_string(pid));
    }
    uint32_t flags = s->flags | 0x100u;
    if (s->has_parent && s->kind == SPAN_KIND_SERVER)
        flags |= 0x200u;
    json_object_set_new(o, "flags", json_integer(flags));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "kind", json_integer(s->kind));
    json_object_set_new(o, "startTimeUnixNano", u64_string(s->start_unix_ns));
    json_object_set_new(o, "endTimeUnixNano", u64_string(s->end_unix_ns));
    json_t *attrs = json_array();
    for (uint16_t i = 0; i < s->nattrs; i++)
        json_array_append_new(attrs, json_attr(s, &s->attrs[i]));
    json_object_set_new(o, "attributes", attrs);
    if (s->dropped_attrs)
        json_object_set_new(o, "droppedAttributesCount", json_integer(s->dropped_attrs));
    json_t *st = json_object();
    if (s->status_message[0])
        json_object_set_new(st, "message", json_string(s->status_message));
    if (s->status)
        json_object_set_new(st, "code", json_integer(s->status));
    json_object_set_new(o, "status", st);
    return o;
}

int otlp_encode_json(const otlp_resource *res, const span *spans, size_t n, strbuf *out)
{
    json_t *rattrs = json_array();
    for (size_t i = 0; i < res->n; i++)
        json_array_append_new(rattrs, json_kv(res->attrs[i].key, json_pack("{s:s}", "stringValue",
                                                                           res->attrs[i].value)));
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_span(&spans[i]));
    json_t *doc = json_pack("{s:[{s:{s:o}, s:[{s:{s:s, s:s}, s:o}]}]}", "resourceSpans", "resource",
                            "attributes", rattrs, "scopeSpans", "scope", "name", res->scope_name,
                            "version", res->scope_version, "spans", list);
    if (!doc)
        return -1;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -1;
    sb_puts(out, text);
    free(text);
    return sb_ok(out) ? 0 : -1;
}
