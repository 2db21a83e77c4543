/* The OTLP protobuf encoder, read back by a minimal wire-format walker: field numbers, wire
 * types, nesting and values of an ExportTraceServiceRequest as opentelemetry-proto defines them.
 * (The integration tests decode real exports with the official schema as well.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "obs/otlp_encode.h"
#include "obs/span.h"

typedef struct field {
    unsigned num, wire;
    uint64_t v;          /* varint, fixed64, fixed32 */
    const uint8_t *data; /* LEN */
    size_t len;
} field;

typedef struct msg {
    const uint8_t *p, *end;
} msg;

static uint64_t varint(msg *m)
{
    uint64_t v = 0;
    for (int shift = 0; m->p < m->end; shift += 7) {
        uint8_t b = *m->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("truncated varint");
    return 0;
}

static bool next(msg *m, field *f)
{
    if (m->p >= m->end)
        return false;
    uint64_t tag = varint(m);
    f->num = (unsigned)(tag >> 3);
    f->wire = (unsigned)(tag & 7);
    f->data = NULL;
    f->len = 0;
    f->v = 0;
    switch (f->wire) {
    case 0:
        f->v = varint(m);
        break;
    case 1:
        assert_true(m->end - m->p >= 8);
        for (int i = 0; i < 8; i++)
            f->v |= (uint64_t)m->p[i] << (8 * i);
        m->p += 8;
        break;
    case 2:
        f->len = (size_t)varint(m);
        assert_true((size_t)(m->end - m->p) >= f->len);
        f->data = m->p;
        m->p += f->len;
        break;
    case 5:
        assert_true(m->end - m->p >= 4);
        for (int i = 0; i < 4; i++)
            f->v |= (uint64_t)m->p[i] << (8 * i);
        m->p += 4;
        break;
    default:
        fail_msg("wire type %u", f->wire);
    }
    return true;
}

static msg sub(const field *f)
{
    assert_int_equal(f->wire, 2);
    return (msg){f->data, f->data + f->len};
}

/* The only occurrence of field `num` in m (fails when absent or repeated). */
static field only(msg m, unsigned num)
{
    field f, found = {0};
    int n = 0;
    while (next(&m, &f))
        if (f.num == num) {
            found = f;
            n++;
        }
    assert_int_equal(n, 1);
    return found;
}

static bool str_is(const field *f, const char *s)
{
    return f->wire == 2 && f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* KeyValue with that key in m's repeated field `num`; its AnyValue. */
static msg attr(msg m, unsigned num, const char *key)
{
    field f;
    while (next(&m, &f)) {
        if (f.num != num)
            continue;
        field k = only(sub(&f), 1);
        if (str_is(&k, key)) {
            field v = only(sub(&f), 2);
            return sub(&v);
        }
    }
    fail_msg("attribute %s missing", key);
    return (msg){0};
}

static void make_span(span *s)
{
    trace_ctx t;
    trace_set_sampler(true, TRACE_SAMPLER_ALWAYS_ON, 1.0);
    trace_start(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v");
    span_begin_server(s, &t, "POST /v1/predict/single", 1000);
    span_str(s, "http.route", "/v1/predict/single");
    span_int(s, "http.response.status_code", 503);
    span_int(s, "negative", -2);
    span_double(s, "ratio", 0.25);
    span_bool(s, "flag", true);
    span_error(s, "503", "overloaded");
    s->end_unix_ns = s->start_unix_ns + 12345;
}

static void proto_request(void **state)
{
    (void)state;
    span s;
    make_span(&s);
    assert_true(s.active);
    otlp_resource res = {0};
    otlp_resource_set(&res, "service.name", "kronosd");
    otlp_resource_set(&res, "host.name", "h1");
    otlp_resource_set(&res, "service.name", "kronos-api"); /* replaced, not repeated */
    strcpy(res.scope_name, "kronosd");
    strcpy(res.scope_version, "1.2.3");
    strbuf out;
    sb_init(&out, 0);
    span two[2] = {s, s};
    assert_int_equal(otlp_encode_proto(&res, two, 2, &out), 0);

    msg req = {(const uint8_t *)out.data, (const uint8_t *)out.data + out.len};
    field rs = only(req, 1); /* resource_spans */
    field resource = only(sub(&rs), 1);
    msg v = attr(sub(&resource), 1, "service.name");
    field sv = only(v, 1);
    assert_true(str_is(&sv, "kronos-api"));
    field ss = only(sub(&rs), 2); /* scope_spans */
    field scope = only(sub(&ss), 1);
    field sname = only(sub(&scope), 1), sver = only(sub(&scope), 2);
    assert_true(str_is(&sname, "kronosd") && str_is(&sver, "1.2.3"));

    msg spans = sub(&ss);
    field f;
    int n = 0;
    while (next(&spans, &f)) {
        if (f.num != 2)
            continue;
        n++;
        msg sp = sub(&f);
        field tid = only(sp, 1), sid = only(sp, 2), ts = only(sp, 3), pid = only(sp, 4);
        static const uint8_t want_tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                             0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
        static const uint8_t want_pid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
        assert_int_equal(tid.len, 16);
        assert_memory_equal(tid.data, want_tid, 16);
        assert_int_equal(sid.len, 8);
        assert_memory_equal(sid.data, s.span_id, 8);
        assert_true(str_is(&ts, "k=v"));
        assert_memory_equal(pid.data, want_pid, 8);
        field name = only(sp, 5), kind = only(sp, 6), start = only(sp, 7), end = only(sp, 8);
        assert_true(str_is(&name, "POST /v1/predict/single"));
        assert_int_equal(kind.wire, 0);
        assert_int_equal(kind.v, 2); /* SPAN_KIND_SERVER */
        assert_int_equal(start.wire, 1);
        assert_int_equal(end.wire, 1);
        assert_int_equal(end.v - start.v, 12345);
        field code = only(attr(sp, 9, "http.response.status_code"), 3);
        assert_int_equal(code.v, 503);
        field neg = only(attr(sp, 9, "negative"), 3);
        assert_int_equal((int64_t)neg.v, -2);
        field ratio = only(attr(sp, 9, "ratio"), 4);
        double d;
        memcpy(&d, &ratio.v, 8);
        assert_true(ratio.wire == 1 && d == 0.25);
        field flag = only(attr(sp, 9, "flag"), 2);
        assert_int_equal(flag.v, 1);
        field et = only(attr(sp, 9, "error.type"), 1);
        assert_true(str_is(&et, "503"));
        field status = only(sp, 15);
        field scode = only(sub(&status), 3), smsg = only(sub(&status), 2);
        assert_int_equal(scode.v, 2); /* STATUS_CODE_ERROR */
        assert_true(str_is(&smsg, "overloaded"));
        field flags = only(sp, 16);
        assert_int_equal(flags.wire, 5);
        assert_int_equal(flags.v, 0x301); /* sampled, parent remoteness known, remote parent */
    }
    assert_int_equal(n, 2);
    sb_free(&out);
}

static void attributes_bounded(void **state)
{
    (void)state;
    span s;
    make_span(&s);
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7",
                                       "k8", "k9", "ka", "kb", "kc", "kd", "ke", "kf"};
    for (int i = 0; i < 16; i++)
        span_int(&s, keys[i], i);
    assert_int_equal(s.nattrs, SPAN_MAX_ATTRS);
    assert_true(s.dropped_attrs > 0);
    /* an invalid UTF-8 value is sanitised, a long one cut */
    span t;
    make_span(&t);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = (char)0xff;
    span_str(&t, "big", big);
    const span_attr *a = &t.attrs[t.nattrs - 1];
    assert_true(a->len <= SPAN_STR_MAX);
    assert_memory_equal(t.pool + a->off, "\xef\xbf\xbd", 3); /* U+FFFD */
    strbuf out;
    sb_init(&out, 0);
    assert_int_equal(otlp_encode_json(&(otlp_resource){.n = 0}, &t, 1, &out), 0);
    assert_non_null(strstr(out.data, "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
    assert_non_null(strstr(out.data, "\"intValue\":\"503\""));
    assert_non_null(strstr(out.data, "\"kind\":2"));
    sb_free(&out);
}

static void inert_when_not_recording(void **state)
{
    (void)state;
    trace_ctx t;
    trace_set_sampler(true, TRACE_SAMPLER_ALWAYS_OFF, 1.0);
    trace_start(&t, NULL, NULL);
    assert_false(t.recording);
    assert_int_equal(t.flags, 0);
    span s;
    span_begin(&s, &t, NULL, "x", SPAN_KIND_INTERNAL, 1);
    assert_false(s.active);
    span_str(&s, "k", "v");
    span_end(&s, 2);
    trace_set_sampler(false, TRACE_SAMPLER_PARENT_ALWAYS_ON, 1.0);
    trace_start(&t, NULL, NULL);
    assert_false(t.recording);
    assert_int_equal(t.flags, 1); /* tracing off: flagged sampled, as before tracing existed */
}

static void ratio_sampler(void **state)
{
    (void)state;
    trace_set_sampler(true, TRACE_SAMPLER_RATIO, 0.5);
    /* the decision reads the low 8 bytes: below half of 2^63 after the shift samples */
    assert_true(trace_sample("ffffffffffffffff0000000000000001", false, false));
    assert_false(trace_sample("0000000000000000ffffffffffffffff", false, false));
    trace_set_sampler(true, TRACE_SAMPLER_RATIO, 0);
    assert_false(trace_sample("00000000000000000000000000000001", true, true));
    trace_set_sampler(true, TRACE_SAMPLER_PARENT_RATIO, 0);
    assert_true(trace_sample("00000000000000000000000000000001", true, true));
    trace_set_sampler(false, TRACE_SAMPLER_PARENT_ALWAYS_ON, 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proto_request),
        cmocka_unit_test(attributes_bounded),
        cmocka_unit_test(inert_when_not_recording),
        cmocka_unit_test(ratio_sampler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
