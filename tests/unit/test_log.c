#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "obs/log.h"
#include "util/json_escape.h"

static int pipe_fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe(pipe_fds) != 0)
        return -1;
    log_set_fd(pipe_fds[1]);
    log_set_level(LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_fd(STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* Reads the one line the logger wrote and parses it as JSON. */
static json_t *read_line(void)
{
    static char buf[LOG_LINE_MAX + 64];
    ssize_t n = read(pipe_fds[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(buf[n - 1], '\n');
    assert_null(memchr(buf, '\n', (size_t)n - 1)); /* exactly one line */
    json_error_t err;
    json_t *j = json_loads(buf, JSON_ALLOW_NUL, &err);
    if (!j)
        fail_msg("not JSON (%s): %s", err.text, buf);
    return j;
}

static void required_fields_and_timestamp(void **state)
{
    (void)state;
    log_line l;
    assert_true(log_begin(&l, LOG_WARNING, "kronosd.test", "hello"));
    log_int(&l, "status_code", 404);
    log_double(&l, "latency_ms", 1.5);
    log_bool(&l, "ok", false);
    log_end(&l);
    json_t *j = read_line();
    assert_string_equal(json_string_value(json_object_get(j, "level")), "WARNING");
    assert_string_equal(json_string_value(json_object_get(j, "logger")), "kronosd.test");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "hello");
    assert_int_equal(json_integer_value(json_object_get(j, "status_code")), 404);
    assert_true(json_real_value(json_object_get(j, "latency_ms")) == 1.5);
    assert_true(json_is_false(json_object_get(j, "ok")));
    const char *ts = json_string_value(json_object_get(j, "timestamp"));
    /* 2025-10-14T10:30:15.123Z */
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[4], '-');
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
    json_decref(j);
}

static void level_threshold(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    log_line l;
    assert_false(log_begin(&l, LOG_INFO, "x", "dropped"));
    assert_true(log_enabled(LOG_CRITICAL));
    log_set_level(LOG_DEBUG);
    assert_int_equal(log_level_parse("warning"), LOG_WARNING);
    assert_int_equal(log_level_parse("WARN"), LOG_WARNING);
    assert_int_equal(log_level_parse("loud"), -1);
}

static void nasty_strings_escaped(void **state)
{
    (void)state;
    const char nasty[] = "quote\" backslash\\ newline\n tab\t cr\r bell\x07 nul-free del\x7f "
                         "utf8 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xff\xfe lone "
                         "\xc3 overlong \xc0\xaf surrogate \xed\xa0\x80 end";
    log_line l;
    assert_true(log_begin(&l, LOG_INFO, "kronosd.test", nasty));
    log_str(&l, "path", nasty);
    log_end(&l);
    json_t *j = read_line();
    const char *msg = json_string_value(json_object_get(j, "message"));
    assert_non_null(strstr(msg, "quote\" backslash\\ newline\n tab\t cr\r bell\x07"));
    assert_non_null(strstr(msg, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    assert_non_null(strstr(msg, "bad \xef\xbf\xbd\xef\xbf\xbd lone \xef\xbf\xbd overlong"));
    assert_non_null(strstr(msg, "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end"));
    assert_string_equal(json_string_value(json_object_get(j, "path")), msg);
    json_decref(j);
}

static void overlong_line_stays_valid(void **state)
{
    (void)state;
    char *big = malloc(LOG_LINE_MAX * 2);
    memset(big, '"', LOG_LINE_MAX * 2 - 1); /* every char doubles when escaped */
    big[LOG_LINE_MAX * 2 - 1] = '\0';
    log_line l;
    assert_true(log_begin(&l, LOG_INFO, "kronosd.test", "big"));
    log_str(&l, "request_id", "r1");
    log_str(&l, "huge", big);
    log_str(&l, "after", "dropped too");
    log_end(&l);
    json_t *j = read_line();
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), "r1");
    assert_null(json_object_get(j, "huge"));
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    free(big);
}

static void escape_control_chars_as_unicode(void **state)
{
    (void)state;
    strbuf sb;
    sb_init(&sb, 0);
    json_escape_append(&sb, "\x01\x1f", 2);
    assert_string_equal(sb.data, "\"\\u0001\\u001f\"");
    sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_fields_and_timestamp),
        cmocka_unit_test(level_threshold),
        cmocka_unit_test(nasty_strings_escaped),
        cmocka_unit_test(overlong_line_stays_valid),
        cmocka_unit_test(escape_control_chars_as_unicode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
