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
    iso_error rc = iso8601_parse(s, strlen(s), &t);
    if (rc != 0)
        fail_msg("rejected valid timestamp '%s': %s", s, iso8601_error_text(rc));
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

    t = parse_ok("9999-12-31T23:59:59.999999-23:59");
    assert_int_equal(t.epoch_sec, 253402387139); /* 253402300799 + 23:59 */
    assert_int_equal(t.nsec, 999999000);
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

/* What pydantic v2 (speedate) accepts beyond RFC 3339. */
static void accepts_what_pydantic_accepts(void **state)
{
    (void)state;
    static const char *same[] = {
        "2025-10-14 10:00:00",
        "2025-10-14t10:00:00z",
        "2025-10-14_10:00:00Z",
        "2025-10-14T10:00:00+0000",
        "2025-10-14T12:00:00+0200",
        "2025-10-14T05:00-0500",
        "2025-10-14T05:00\xe2\x88\x92"
        "05:00", /* U+2212 MINUS SIGN */
        "2025-10-14T10:00:00.0000000001",
        "2025-10-14 10:00:00,0",
        "1760436000",
        "+1760436000",
        "1760436000000",
        "1760436000.0",
        "1760436000000.0",
        "1.760436e9",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        iso_time t = parse_ok(same[i]);
        if (t.epoch_sec != 1760436000 || t.nsec != 0)
            fail_msg("'%s' read as %lld.%09d", same[i], (long long)t.epoch_sec, (int)t.nsec);
    }
    /* A date alone is midnight. */
    iso_time t = parse_ok("2025-10-14");
    assert_int_equal(t.epoch_sec, 1760400000);
    assert_int_equal(t.wall.hour, 0);
    assert_int_equal(t.wall.weekday, 1);
    /* Digits past the sixth are dropped, not rounded. */
    assert_int_equal(parse_ok("2025-10-14T10:00:00.1234569").nsec, 123456000);
    /* Unix times: UTC wall clock; milliseconds above 2e10 (pydantic's watershed). */
    t = parse_ok("1760436000123");
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.nsec, 123000000);
    assert_int_equal(t.wall.hour, 10);
    assert_int_equal(parse_ok("20000000000").epoch_sec, 20000000000LL); /* 2603-10-11 */
    t = parse_ok("20000000001");                                        /* 1970-08-20 */
    assert_int_equal(t.epoch_sec, 20000000);
    assert_int_equal(t.nsec, 1000000);
    assert_int_equal(t.wall.month, 8);
    assert_int_equal(t.wall.weekday, 3);
    assert_int_equal(parse_ok("-1").epoch_sec, -1);
    assert_int_equal(parse_ok("2025").epoch_sec, 2025); /* a number, as pydantic reads it */
    assert_int_equal(parse_ok("1760436000.25").nsec, 250000000);
}

static void converts_json_numbers(void **state)
{
    (void)state;
    iso_time t;
    assert_int_equal(iso8601_from_unix_int(1760436000, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.wall.hour, 10);
    assert_int_equal(t.wall.day, 14);
    assert_int_equal(iso8601_from_unix_int(1760436000123LL, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.nsec, 123000000);
    assert_int_equal(iso8601_from_unix_int(-20000000001LL, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, -20000001);
    assert_int_equal(t.nsec, 999000000);
    assert_int_equal(iso8601_from_unix_real(1760436000.5, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.nsec, 500000000);
    assert_int_equal(iso8601_from_unix_real(-1.25, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, -2);
    assert_int_equal(t.nsec, 750000000);
    assert_int_equal(iso8601_from_unix_real(1760436000123.0, &t), ISO_OK);
    assert_int_equal(t.epoch_sec, 1760436000);
    assert_int_equal(t.nsec, 123000000);
    assert_int_equal(iso8601_from_unix_int(253402300799LL, &t), ISO_OK);
    assert_int_equal(iso8601_from_unix_int(253402300799999LL, &t), ISO_OK);
    assert_int_equal(iso8601_from_unix_int(253402300800000LL, &t), ISO_DATE_TOO_LARGE);
    assert_int_equal(iso8601_from_unix_int(-62135596801000LL, &t), ISO_DATE_TOO_SMALL);
    assert_int_equal(iso8601_from_unix_int(INT64_MIN, &t), ISO_DATE_TOO_SMALL);
    assert_int_equal(iso8601_from_unix_int(INT64_MAX, &t), ISO_DATE_TOO_LARGE);
    assert_int_equal(iso8601_from_unix_real(1e300, &t), ISO_DATE_TOO_LARGE);
    assert_int_equal(iso8601_from_unix_real(-1e300, &t), ISO_DATE_TOO_SMALL);
}

static void formats_rfc3339_utc(void **state)
{
    (void)state;
    char out[ISO8601_UTC_MAX];
    iso_time t;
    assert_int_equal(iso8601_from_unix_int(1760436000, &t), ISO_OK);
    assert_int_equal(iso8601_format_utc(&t, out), 20);
    assert_string_equal(out, "2025-10-14T10:00:00Z");
    assert_int_equal(iso8601_from_unix_int(1760436000123LL, &t), ISO_OK);
    iso8601_format_utc(&t, out);
    assert_string_equal(out, "2025-10-14T10:00:00.123000Z");
    assert_int_equal(iso8601_from_unix_int(-1, &t), ISO_OK);
    iso8601_format_utc(&t, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    t = parse_ok("2025-10-14T12:30:00.5+02:30");
    iso8601_format_utc(&t, out);
    assert_string_equal(out, "2025-10-14T10:00:00.500000Z");
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
    static const struct {
        const char *text;
        iso_error why;
    } bad[] = {
        {"", ISO_TOO_SHORT},
        {"2025-1", ISO_TOO_SHORT},
        {"2025-10-14T", ISO_TOO_SHORT},
        {"2025-10-14T10", ISO_TOO_SHORT},
        {"2025-10-14T10:0", ISO_TOO_SHORT},
        {"2025-10-14X10:00:00Z", ISO_BAD_DATETIME_SEP},
        {"2025-10-14T10:00:00ZZ", ISO_EXTRA_CHARACTERS},
        {"2025-10-14T10:00:00Z ", ISO_EXTRA_CHARACTERS},
        {" 2025-10-14T10:00:00Z", ISO_BAD_YEAR},
        {"2025-10-14T10:00:00+02", ISO_BAD_TZ_MINUTE},
        {"2025-10-14T10:00:00+2:00", ISO_BAD_TZ_HOUR},
        {"2025-10-14T10:00:00+24:00", ISO_RANGE_TZ},
        {"2025-10-14T10:00:00+02:60", ISO_RANGE_TZ_MINUTE},
        {"2025-10-14T10:00:00#02:00", ISO_BAD_TZ_SIGN},
        {"2025-10-14T10:00:00.", ISO_FRACTION_MISSING},
        {"2025-10-14T10:00.5", ISO_BAD_TZ_SIGN},
        {"2025-10-14T10:00:60", ISO_RANGE_SECOND},
        {"2025-10-14T24:00", ISO_RANGE_HOUR},
        {"2025-10-14T23:60", ISO_RANGE_MINUTE},
        {"2025-13-01T00:00", ISO_RANGE_MONTH},
        {"2025-00-01T00:00", ISO_RANGE_MONTH},
        {"2025-01-00T00:00", ISO_RANGE_DAY},
        {"2025-01-32T00:00", ISO_RANGE_DAY},
        {"2025-02-29T00:00", ISO_RANGE_DAY},
        {"1900-02-29T00:00", ISO_RANGE_DAY},
        {"2025-04-31", ISO_RANGE_DAY},
        {"0000-01-01T00:00", ISO_RANGE_YEAR},
        {"20251014T100000Z", ISO_BAD_DATE_SEP},
        {"2025-W42-2T10:00", ISO_BAD_MONTH},
        {"2025-287T10:00", ISO_BAD_DATE_SEP},
        {"+2025-10-14T10:00", ISO_BAD_YEAR},
        {"12025-10-14T10:00", ISO_BAD_DATE_SEP},
        {"2025-1-14T10:00", ISO_BAD_MONTH},
        {"2025-10-14T1:00", ISO_TOO_SHORT},
        {"2025-10-14T1:000", ISO_BAD_HOUR},
        {"2025-10-1T10:00", ISO_BAD_DAY},
        {"2025/10/14T10:00", ISO_BAD_DATE_SEP},
        {"2025-10-14T10-00", ISO_BAD_TIME_SEP},
        {"2025-10-14T10:00:0a", ISO_BAD_SECOND},
        {"\xef\xbc\x92"
         "025-10-14T10:00",
         ISO_BAD_YEAR},
        {"2025-10-14T10:00:00Z\n", ISO_EXTRA_CHARACTERS},
        {"now", ISO_TOO_SHORT},
        {"1e9", ISO_TOO_SHORT},
        {" 1760436000", ISO_BAD_YEAR},
        {"1760436000 ", ISO_BAD_DATE_SEP},
        {"253402300800000", ISO_DATE_TOO_LARGE},
        {"99999999999999999999", ISO_DATE_TOO_LARGE},
        {"-62135596801000", ISO_DATE_TOO_SMALL},
        {"1.0e999", ISO_DATE_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iso_time t;
        iso_error e = iso8601_parse(bad[i].text, strlen(bad[i].text), &t);
        if (e != bad[i].why)
            fail_msg("'%s': got %d (%s), want %d (%s)", bad[i].text, e, iso8601_error_text(e),
                     bad[i].why, iso8601_error_text(bad[i].why));
    }
}

static void honours_length_not_nul(void **state)
{
    (void)state;
    iso_time t;
    const char s[] = "2025-10-14T10:00:00Zjunk";
    assert_int_equal(iso8601_parse(s, 20, &t), ISO_OK);
    assert_int_equal(iso8601_parse(s, 21, &t), ISO_EXTRA_CHARACTERS);
    assert_int_equal(iso8601_parse(s, 19, &t), ISO_OK);         /* no zone */
    assert_int_equal(iso8601_parse(s, 18, &t), ISO_BAD_SECOND); /* "...10:00:0" */
    const char nul[] = "2025-10-14T10:00\0Z";
    assert_int_equal(iso8601_parse(nul, sizeof nul - 1, &t), ISO_BAD_TZ_SIGN);
    assert_int_equal(iso8601_parse(NULL, 0, &t), ISO_TOO_SHORT);
}

static void compares_utc_instants(void **state)
{
    (void)state;
    iso_time a = parse_ok("2025-10-14T10:00:00+02:00");
    iso_time b = parse_ok("2025-10-14T08:00:00Z");
    iso_time c = parse_ok("2025-10-14T08:00:00.000001Z");
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
        cmocka_unit_test(compares_utc_instants), cmocka_unit_test(accepts_what_pydantic_accepts),
        cmocka_unit_test(converts_json_numbers), cmocka_unit_test(formats_rfc3339_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
