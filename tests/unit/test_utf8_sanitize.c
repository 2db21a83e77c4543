#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8_sanitize.h"

static size_t sanitize(char *dst, size_t dstlen, const char *src)
{
    return utf8_sanitize(dst, dstlen, src, strlen(src));
}

static void valid_text_is_copied(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(sanitize(out, sizeof(out), "Kronos-small"), 12);
    assert_string_equal(out, "Kronos-small");
    assert_int_equal(sanitize(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 14);
    assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_int_equal(sanitize(out, sizeof(out), ""), 0);
    assert_string_equal(out, "");
}

static void each_bad_byte_becomes_fffd(void **state)
{
    (void)state;
    char out[64];
    sanitize(out, sizeof(out),
             "a\xff\xfe"
             "b");
    assert_string_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd"
                             "b");
    /* a lead byte without its continuation, an overlong '/', a surrogate, > U+10FFFF */
    sanitize(out, sizeof(out), "\xc3(");
    assert_string_equal(out, "\xef\xbf\xbd(");
    sanitize(out, sizeof(out), "\xc0\xaf");
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
    sanitize(out, sizeof(out), "\xed\xa0\x80");
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    sanitize(out, sizeof(out), "\xf4\x90\x80\x80");
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* a sequence cut by srclen is not well-formed either */
    utf8_sanitize(out, sizeof(out), "\xc3\xa9", 1);
    assert_string_equal(out, "\xef\xbf\xbd");
}

static void never_cut_inside_a_character(void **state)
{
    (void)state;
    char out[6];
    /* 5 bytes of room: two 2-byte characters fit, the third does not */
    assert_int_equal(sanitize(out, sizeof(out), "\xc3\xa9\xc3\xa9\xc3\xa9"), 4);
    assert_string_equal(out, "\xc3\xa9\xc3\xa9");
    /* one replacement (3 bytes) fits, the second does not */
    assert_int_equal(sanitize(out, sizeof(out), "\xff\xff"), 3);
    assert_string_equal(out, "\xef\xbf\xbd");
    char one[1];
    assert_int_equal(sanitize(one, sizeof(one), "abc"), 0);
    assert_string_equal(one, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_text_is_copied),
        cmocka_unit_test(each_bad_byte_becomes_fffd),
        cmocka_unit_test(never_cut_inside_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
