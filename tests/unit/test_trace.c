#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "obs/trace.h"

static void request_id_rules(void **state)
{
    (void)state;
    assert_true(request_id_valid("a"));
    assert_true(request_id_valid("req-123_abc.def:ghi"));
    assert_true(request_id_valid("550e8400-e29b-41d4-a716-446655440000"));
    char max[REQUEST_ID_MAX + 2];
    memset(max, 'x', REQUEST_ID_MAX);
    max[REQUEST_ID_MAX] = '\0';
    assert_true(request_id_valid(max));
    max[REQUEST_ID_MAX] = 'x';
    max[REQUEST_ID_MAX + 1] = '\0';
    assert_false(request_id_valid(max)); /* 129 chars */
    assert_false(request_id_valid(""));
    assert_false(request_id_valid(NULL));
    assert_false(request_id_valid("has space"));
    assert_false(request_id_valid("semi;colon"));
    assert_false(request_id_valid("new\nline"));
    assert_false(request_id_valid("quote\""));
    assert_false(request_id_valid("slash/"));
    assert_false(request_id_valid("caf\xc3\xa9"));

    char id[37], id2[37];
    request_id_generate(id);
    request_id_generate(id2);
    assert_int_equal(strlen(id), 36);
    assert_true(request_id_valid(id));
    assert_int_equal(id[14], '4');
    assert_string_not_equal(id, id2);
}

static bool parses(const char *s)
{
    char t[33], p[17];
    uint8_t f;
    return traceparent_parse(s, t, p, &f);
}

/* Examples and rules of W3C Trace Context Level 1, §3.2 (traceparent). */
static void traceparent_w3c_examples(void **state)
{
    (void)state;
    char t[33], p[17];
    uint8_t f;
    assert_true(
        traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p, &f));
    assert_string_equal(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(p, "00f067aa0ba902b7");
    assert_int_equal(f, 1);
    assert_true(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    /* future versions: more fields after a dash are tolerated, same prefix rules */
    assert_true(parses("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_true(parses("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future"));
    assert_false(parses("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what"));

    /* invalid */
    assert_false(parses("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_false(parses("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    assert_false(parses("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
    assert_false(parses("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_false(parses("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"));
    assert_false(parses(""));
    assert_false(parses(NULL));
}

static void trace_continued_or_started(void **state)
{
    (void)state;
    trace_ctx t;
    trace_start(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL);
    assert_true(t.continued);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_string_not_equal(t.span_id, "00f067aa0ba902b7");
    char out[TRACEPARENT_LEN + 1];
    trace_format(&t, out);
    assert_int_equal(strlen(out), TRACEPARENT_LEN);
    assert_memory_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
    assert_true(parses(out));

    trace_start(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL);
    trace_format(&t, out);
    assert_string_equal(out + 53, "00"); /* not sampled stays not sampled */

    trace_start(&t, "garbage", NULL);
    assert_false(t.continued);
    assert_int_equal(strlen(t.trace_id), 32);
    assert_string_not_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    trace_format(&t, out);
    assert_true(parses(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_id_rules),
        cmocka_unit_test(traceparent_w3c_examples),
        cmocka_unit_test(trace_continued_or_started),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
