#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/iso8601.h"

static iso_time parse_ok(const char *s)
{
    iso_time t;
    memset(&t, 0xab, sizeof t);
    int rc = iso8601_parse(s, strlen(s), &t);
    if (rc != 0)
        fail_msg("rejected valid timestamp '%s'", s);
    return t;
}

/* Expected instants were computed independently with Python's datetime. */
static void accepts_every_form(void **state)
{
    (void)state;
    iso_time t = parse_ok("2025-10-14T10:00:00Z");
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.nsec, 0);
    assert_int_equal(t.wall.minute, 0);
    assert_int_equal(t.wall.hour, 10);
    assert_int_equal(t.wall.weekday, 1); /* Tuesday */
    assert_int_equal(t.wall.day, 14);
    assert_int_equal(t.wall.month, 10);

    assert_int_equal(parse_ok("2025-10-14T10:00").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T10:00Z").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T10:00:00").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T10:00:00+00:00").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T10:00:00-00:00").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T12:30+02:30").epoch_sec, 1760436000);
    assert_int_equal(parse_ok("2025-10-14T05:00-05:00").epoch_sec, 1760436000);

    t = parse_ok("2024-02-29T23:59:59.5+05:30");
    assert_int_equal(t.epoch_sec, 1709231399);
    assert_int_equal(t.nsec, 500000000);
    /* Wall clock as written: Thursday 29 Feb 23:59 although UTC is 18:29. */
    assert_int_equal(t.wall.hour, 23);
    assert_int_equal(t.wall.minute, 59);
    assert_int_equal(t.wall.weekday, 3);
    assert_int_equal(t.wall.day, 29);
    assert_int_equal(t.wall.month, 2);

    t = parse_ok("9999-12-31T23:59:59.999999999-23:59");
    assert_int_equal(t.epoch_sec, 253402387139); /* 253402300799 + 23:59 */
    assert_int_equal(t.nsec, 999999999);
    assert_int_equal(t.wall.weekday, 4);

    t = parse_ok("0001-01-01T00:00Z");
    assert_int_equal(t.epoch_sec, -62135596800LL);
    assert_int_equal(t.wall.weekday, 0);

    t = parse_ok("1969-12-31T23:59:59Z");
    assert_int_equal(t.epoch_sec, -1);
    assert_int_equal(t.wall.weekday, 2);

    assert_int_equal(parse_ok("2000-03-01T00:00").epoch_sec, 951868800);
    assert_int_equal(parse_ok("2000-02-29T00:00").wall.day, 29); /* 400-year leap */
    assert_int_equal(parse_ok("2025-01-01T00:00:00.1").nsec, 100000000);
    assert_int_equal(parse_ok("2025-01-01T00:00:00.123").nsec, 123000000);
    assert_int_equal(parse_ok("2025-01-01T00:00:00.000001").nsec, 1000);
}

static void weekdays_follow_the_calendar(void **state)
{
    (void)state;
    /* 2025-10-13 is a Monday; walk two weeks. */
    char buf[32];
    for (int d = 13; d < 27; d++) {
        snprintf(buf, sizeof buf, "2025-10-%02dT00:00", d);
        assert_int_equal(parse_ok(buf).wall.weekday, (d - 13) % 7);
    }
}

static void rejects_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2025",
        "2025-10-14",
        "2025-10-14T",
        "2025-10-14T10",
        "2025-10-14T10:0",
        "2025-10-14 10:00:00Z",
        "2025-10-14t10:00:00Z",
        "2025-10-14T10:00:00z",
        "2025-10-14T10:00:00ZZ",
        "2025-10-14T10:00:00Z ",
        " 2025-10-14T10:00:00Z",
        "2025-10-14T10:00:00+0200",
        "2025-10-14T10:00:00+02",
        "2025-10-14T10:00:00+2:00",
        "2025-10-14T10:00:00+24:00",
        "2025-10-14T10:00:00+02:60",
        "2025-10-14T10:00:00.",
        "2025-10-14T10:00:00.1234567890",
        "2025-10-14T10:00:00,5",
        "2025-10-14T10:00.5",
        "2025-10-14T10:00:60",
        "2025-10-14T24:00",
        "2025-10-14T23:60",
        "2025-13-01T00:00",
        "2025-00-01T00:00",
        "2025-01-00T00:00",
        "2025-01-32T00:00",
        "2025-02-29T00:00",
        "1900-02-29T00:00",
        "2025-04-31T00:00",
        "0000-01-01T00:00",
        "20251014T100000Z",
        "2025-W42-2T10:00",
        "2025-287T10:00",
        "+2025-10-14T10:00",
        "-2025-10-14T10:00",
        "12025-10-14T10:00",
        "2025-1-14T10:00",
        "2025-10-1T10:00",
        "2025-10-14T1:00",
        "2025/10/14T10:00",
        "2025-10-14T10-00",
        "2025-10-14T10:00:0a",
        "２025-10-14T10:00",
        "2025-10-14T10:00:00Z\n",
        "now",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iso_time t;
        if (iso8601_parse(bad[i], strlen(bad[i]), &t) != -1)
            fail_msg("accepted malformed timestamp '%s'", bad[i]);
    }
}

static void honours_length_not_nul(void **state)
{
    (void)state;
    iso_time t;
    const char s[] = "2025-10-14T10:00:00Zjunk";
    assert_int_equal(iso8601_parse(s, 20, &t), 0);
    assert_int_equal(iso8601_parse(s, 21, &t), -1);
    assert_int_equal(iso8601_parse(s, 19, &t), 0);  /* no zone */
    assert_int_equal(iso8601_parse(s, 18, &t), -1); /* "...10:00:0" */
    const char nul[] = "2025-10-14T10:00\0Z";
    assert_int_equal(iso8601_parse(nul, sizeof nul - 1, &t), -1);
    assert_int_equal(iso8601_parse(NULL, 0, &t), -1);
}

static void compares_utc_instants(void **state)
{
    (void)state;
    iso_time a = parse_ok("2025-10-14T10:00:00+02:00");
    iso_time b = parse_ok("2025-10-14T08:00:00Z");
    iso_time c = parse_ok("2025-10-14T08:00:00.000000001Z");
    iso_time d = parse_ok("2025-10-14T09:59:59Z");
    assert_int_equal(iso_time_cmp(&a, &b), 0);
    assert_true(iso_time_cmp(&b, &c) < 0);
    assert_true(iso_time_cmp(&c, &b) > 0);
    assert_true(iso_time_cmp(&a, &d) < 0); /* wall clock later, instant earlier */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_every_form),    cmocka_unit_test(weekdays_follow_the_calendar),
        cmocka_unit_test(rejects_malformed),     cmocka_unit_test(honours_length_not_nul),
        cmocka_unit_test(compares_utc_instants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
