/* The request head parser and the chunked decoder, case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/chunked.h"
#include "http/head.h"
#include "util/strbuf.h"

typedef struct head_case {
    const char *input;
    int rc;     /* HTTP_HEAD_* */
    int status; /* for HTTP_HEAD_INVALID */
} head_case;

static const head_case cases[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_COMPLETE, 0},
    {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_COMPLETE, 0},
    {"GET / HTTP/1.0\r\n\r\n", HTTP_HEAD_COMPLETE, 0},
    {"GET http://h:8000/v1/healthz?x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_COMPLETE, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\n", HTTP_HEAD_INCOMPLETE, 0},
    {"GET / HTTP/1.1\r\nHost: a\n\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET /\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 505},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 505},
    {"GET / HTTP/3\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 505},
    {"GET / HTTP/1.\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET v1 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
     HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
     HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_HEAD_INVALID, 501},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", HTTP_HEAD_INVALID,
     501},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_INVALID, 400},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", HTTP_HEAD_COMPLETE, 0},
};

static void each_case_gets_its_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512];
        size_t len = strlen(cases[i].input);
        memcpy(buf, cases[i].input, len + 1);
        http_head h;
        http_head_error e = {0};
        int rc = http_head_parse(buf, len, &h, &e);
        if (rc != cases[i].rc || (rc == HTTP_HEAD_INVALID && e.status != cases[i].status))
            fail_msg("case %zu (%s): rc %d status %d", i, cases[i].input, rc, e.status);
    }
}

static void fields_of_a_complete_head(void **state)
{
    (void)state;
    char buf[] = "POST http://h/v1/predict/single?a=1&b HTTP/1.0\r\nHost: h\r\n"
                 "Content-Length:  42 \r\nConnection: Keep-Alive\r\nX-Request-ID: abc\r\n\r\nBODY";
    http_head h;
    http_head_error e;
    assert_int_equal(http_head_parse(buf, strlen(buf), &h, &e), HTTP_HEAD_COMPLETE);
    assert_string_equal(h.method, "POST");
    assert_string_equal(h.path, "/v1/predict/single");
    assert_string_equal(h.query, "a=1&b");
    assert_int_equal(h.minor, 0);
    assert_true(h.has_length);
    assert_int_equal(h.content_length, 42);
    assert_true(h.keep_alive);
    assert_string_equal(http_head_get(&h, "x-request-id"), "abc");
    assert_int_equal(http_head_count(&h, "HOST"), 1);
    assert_memory_equal(buf + h.length, "BODY", 4);
}

static void oversized_heads(void **state)
{
    (void)state;
    static char buf[HTTP_HEAD_MAX + 64];
    http_head h;
    http_head_error e;
    /* a request line that never ends: 414 */
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "GET /", 5);
    assert_int_equal(http_head_parse(buf, HTTP_HEAD_MAX, &h, &e), HTTP_HEAD_INVALID);
    assert_int_equal(e.status, 414);
    /* headers that never end: 431 */
    int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(buf + n, 'b', sizeof(buf) - (size_t)n);
    assert_int_equal(http_head_parse(buf, HTTP_HEAD_MAX, &h, &e), HTTP_HEAD_INVALID);
    assert_int_equal(e.status, 431);
    /* 101 header lines: 431 */
    strbuf sb;
    sb_init(&sb, 0);
    sb_puts(&sb, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++)
        sb_printf(&sb, "X-%d: v\r\n", i);
    sb_puts(&sb, "\r\n");
    assert_int_equal(http_head_parse(sb.data, sb.len, &h, &e), HTTP_HEAD_INVALID);
    assert_int_equal(e.status, 431);
    sb_free(&sb);
}

static void sink(void *ctx, const char *data, size_t len)
{
    sb_append(ctx, data, len);
}

static void chunked_bodies(void **state)
{
    (void)state;
    const char body[] =
        "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: v\r\n\r\nNEXT";
    /* byte by byte: state carries across calls and stops at the end of the body */
    http_chunked c;
    http_chunked_init(&c);
    strbuf out;
    sb_init(&out, 0);
    size_t used = 0;
    while (!http_chunked_done(&c) && used < sizeof(body) - 1)
        used += http_chunked_feed(&c, body + used, 1, sink, &out);
    assert_true(http_chunked_done(&c));
    assert_string_equal(out.data, "helloabcdefghijklmnopqrstuvwxyz");
    assert_string_equal(body + used, "NEXT");
    sb_free(&out);

    const char *bad[] = {"x\r\n", "12345678901234567\r\n", "5\r\nhelloX", "5\nhello\r\n",
                         "0\r\nT: v\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_chunked_init(&c);
        sb_init(&out, 0);
        http_chunked_feed(&c, bad[i], strlen(bad[i]), sink, &out);
        if (!http_chunked_error(&c))
            fail_msg("malformed chunk %zu accepted", i);
        sb_free(&out);
    }
    /* a 64 KiB extension is refused once the line passes its limit */
    static char ext[70000];
    memset(ext, 'e', sizeof(ext));
    memcpy(ext, "5;", 2);
    http_chunked_init(&c);
    sb_init(&out, 0);
    http_chunked_feed(&c, ext, sizeof(ext), sink, &out);
    assert_non_null(http_chunked_error(&c));
    sb_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_case_gets_its_answer),
        cmocka_unit_test(fields_of_a_complete_head),
        cmocka_unit_test(oversized_heads),
        cmocka_unit_test(chunked_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
