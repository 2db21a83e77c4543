#include "util/iso8601.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unix times of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: Python's datetime range. */
#define UNIX_0001 (-62135596800LL)
#define UNIX_9999 253402300799LL
/* Above this absolute value a Unix time is in milliseconds (pydantic's watershed). */
#define MS_WATERSHED 20000000000LL

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Howard Hinnant's days_from_civil: exact for the whole proleptic Gregorian calendar. */
int64_t iso_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Its inverse (civil_from_days). */
static void civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

static int weekday_of(int64_t days)
{
    /* 1970-01-01 was a Thursday, weekday 3 when Monday = 0. */
    return (int)(((days % 7) + 7 + 3) % 7);
}

/* Reads exactly n ASCII digits at s[*pos]; -1 if any is not a digit or input ends. */
static int read_digits(const char *s, size_t len, size_t *pos, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
            return -1;
        v = v * 10 + (s[*pos] - '0');
        (*pos)++;
    }
    return v;
}

static bool at(const char *s, size_t len, size_t pos, char c)
{
    return pos < len && s[pos] == c;
}

static iso_error parse_date(const char *s, size_t len, int *year, int *month, int *day)
{
    size_t p = 0;
    if (len < 10)
        return ISO_TOO_SHORT;
    if ((*year = read_digits(s, len, &p, 4)) < 0)
        return ISO_BAD_YEAR;
    if (!at(s, len, p++, '-'))
        return ISO_BAD_DATE_SEP;
    if ((*month = read_digits(s, len, &p, 2)) < 0)
        return ISO_BAD_MONTH;
    if (!at(s, len, p++, '-'))
        return ISO_BAD_DATE_SEP;
    if ((*day = read_digits(s, len, &p, 2)) < 0)
        return ISO_BAD_DAY;
    if (*year < 1)
        return ISO_RANGE_YEAR;
    if (*month < 1 || *month > 12)
        return ISO_RANGE_MONTH;
    if (*day < 1 || *day > days_in_month(*year, *month))
        return ISO_RANGE_DAY;
    return ISO_OK;
}

/* HH:MM[:SS[(.|,)digits]] from s[*p]. */
static iso_error parse_clock(const char *s, size_t len, size_t *p, int *hour, int *minute,
                             int *second, int32_t *usec)
{
    if (len - *p < 5)
        return ISO_TOO_SHORT;
    if ((*hour = read_digits(s, len, p, 2)) < 0)
        return ISO_BAD_HOUR;
    if (!at(s, len, (*p)++, ':'))
        return ISO_BAD_TIME_SEP;
    if ((*minute = read_digits(s, len, p, 2)) < 0)
        return ISO_BAD_MINUTE;
    if (*hour > 23)
        return ISO_RANGE_HOUR;
    if (*minute > 59)
        return ISO_RANGE_MINUTE;
    *second = 0;
    *usec = 0;
    if (!at(s, len, *p, ':'))
        return ISO_OK;
    (*p)++;
    if ((*second = read_digits(s, len, p, 2)) < 0)
        return ISO_BAD_SECOND;
    if (*second > 59)
        return ISO_RANGE_SECOND;
    if (!at(s, len, *p, '.') && !at(s, len, *p, ','))
        return ISO_OK;
    (*p)++;
    int digits = 0;
    for (; *p < len && s[*p] >= '0' && s[*p] <= '9'; (*p)++, digits++)
        if (digits < 6)
            *usec = *usec * 10 + (s[*p] - '0');
    if (digits == 0)
        return ISO_FRACTION_MISSING;
    for (int i = digits; i < 6; i++)
        *usec *= 10;
    return ISO_OK;
}

/* Z, z, +HH:MM, +HHMM, -..., U+2212 MINUS; or nothing. Offset in minutes east of UTC. */
static iso_error parse_zone(const char *s, size_t len, size_t *p, int *offset_min)
{
    *offset_min = 0;
    if (*p >= len)
        return ISO_OK;
    char c = s[(*p)++];
    if (c == 'Z' || c == 'z')
        return ISO_OK;
    int sign;
    if (c == '+') {
        sign = 1;
    } else if (c == '-') {
        sign = -1;
    } else if (c == '\xe2' && at(s, len, *p, '\x88') && at(s, len, *p + 1, '\x92')) {
        sign = -1;
        *p += 2;
    } else {
        return ISO_BAD_TZ_SIGN;
    }
    int oh = read_digits(s, len, p, 2);
    if (oh < 0)
        return ISO_BAD_TZ_HOUR;
    if (at(s, len, *p, ':'))
        (*p)++;
    int om = read_digits(s, len, p, 2);
    if (om < 0)
        return ISO_BAD_TZ_MINUTE;
    if (om > 59)
        return ISO_RANGE_TZ_MINUTE;
    if (oh * 60 + om >= 24 * 60)
        return ISO_RANGE_TZ;
    *offset_min = sign * (oh * 60 + om);
    return ISO_OK;
}

/* Seconds + microseconds since the epoch, both checked against years 0001..9999. */
static iso_error from_epoch(int64_t sec, int32_t usec, iso_time *out)
{
    if (sec < UNIX_0001)
        return ISO_DATE_TOO_SMALL;
    if (sec > UNIX_9999)
        return ISO_DATE_TOO_LARGE;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    out->epoch_sec = sec;
    out->nsec = usec * 1000;
    out->wall.hour = (int)(rem / 3600);
    out->wall.minute = (int)(rem / 60 % 60);
    out->wall.weekday = weekday_of(days);
    out->wall.day = day;
    out->wall.month = month;
    return ISO_OK;
}

iso_error iso8601_from_unix_int(int64_t ts, iso_time *out)
{
    if (ts > -MS_WATERSHED - 1 && ts < MS_WATERSHED + 1)
        return from_epoch(ts, 0, out);
    int64_t sec = ts / 1000, ms = ts % 1000;
    if (ms < 0) {
        sec -= 1;
        ms += 1000;
    }
    return from_epoch(sec, (int32_t)(ms * 1000), out);
}

iso_error iso8601_from_unix_real(double ts, iso_time *out)
{
    if (!isfinite(ts))
        return ISO_NOT_FINITE;
    if (fabs(ts) > (double)MS_WATERSHED)
        ts /= 1000.0;
    if (ts < (double)UNIX_0001)
        return ISO_DATE_TOO_SMALL;
    if (ts >= (double)UNIX_9999 + 1.0)
        return ISO_DATE_TOO_LARGE;
    double whole = floor(ts);
    int64_t sec = (int64_t)whole;
    int64_t usec = llround((ts - whole) * 1e6);
    if (usec >= 1000000) {
        sec += 1;
        usec -= 1000000;
    }
    return from_epoch(sec, (int32_t)usec, out);
}

/* [+-]digits, or [+-]digits.digits[e[+-]digits]: a Unix time written as a string (speedate
 * reads an integer, then a float only when the integer stopped at a '.'). */
static bool unix_text(const char *s, size_t len, iso_time *out, iso_error *err)
{
    size_t p = 0;
    if (p < len && (s[p] == '+' || s[p] == '-'))
        p++;
    size_t int_start = p;
    while (p < len && s[p] >= '0' && s[p] <= '9')
        p++;
    if (p == len && p > int_start) {
        if (p - int_start > 18) {
            *err = ISO_DATE_TOO_LARGE;
            return true;
        }
        *err = iso8601_from_unix_int(strtoll(s, NULL, 10), out);
        return true;
    }
    if (p == len || s[p] != '.')
        return false;
    size_t q = p + 1;
    while (q < len && s[q] >= '0' && s[q] <= '9')
        q++;
    if (q == p + 1 && p == int_start)
        return false; /* "." or "-." */
    if (q < len && (s[q] == 'e' || s[q] == 'E')) {
        size_t e = q + 1;
        if (e < len && (s[e] == '+' || s[e] == '-'))
            e++;
        size_t digits = e;
        while (e < len && s[e] >= '0' && s[e] <= '9')
            e++;
        if (e == digits)
            return false;
        q = e;
    }
    if (q != len || len > 64)
        return false;
    char buf[65];
    memcpy(buf, s, len);
    buf[len] = '\0';
    *err = iso8601_from_unix_real(strtod(buf, NULL), out);
    if (*err == ISO_NOT_FINITE)
        *err = ISO_DATE_TOO_LARGE;
    return true;
}

iso_error iso8601_parse(const char *s, size_t len, iso_time *out)
{
    int year, month, day, hour = 0, minute = 0, second = 0, offset_min = 0;
    int32_t usec = 0;
    if (!s)
        return ISO_TOO_SHORT;
    iso_error e = parse_date(s, len, &year, &month, &day);
    if (e == ISO_OK && len > 10) {
        size_t p = 11;
        char sep = s[10];
        if (sep != 'T' && sep != 't' && sep != ' ' && sep != '_')
            e = ISO_BAD_DATETIME_SEP;
        if (e == ISO_OK)
            e = parse_clock(s, len, &p, &hour, &minute, &second, &usec);
        if (e == ISO_OK)
            e = parse_zone(s, len, &p, &offset_min);
        if (e == ISO_OK && p != len)
            e = ISO_EXTRA_CHARACTERS;
    }
    if (e != ISO_OK) {
        iso_error num;
        if (unix_text(s, len, out, &num))
            return num;
        return e;
    }
    int64_t days = iso_days_from_civil(year, month, day);
    out->epoch_sec = days * 86400 + hour * 3600 + minute * 60 + second - (int64_t)offset_min * 60;
    out->nsec = usec * 1000;
    out->wall.minute = minute;
    out->wall.hour = hour;
    out->wall.weekday = weekday_of(days);
    out->wall.day = day;
    out->wall.month = month;
    return ISO_OK;
}

const char *iso8601_error_text(iso_error e)
{
    switch (e) {
    case ISO_OK:
        return "ok";
    case ISO_TOO_SHORT:
        return "input is too short";
    case ISO_EXTRA_CHARACTERS:
        return "unexpected extra characters at the end of the input";
    case ISO_BAD_DATETIME_SEP:
        return "invalid datetime separator, expected `T`, `t`, `_` or space";
    case ISO_BAD_DATE_SEP:
        return "invalid date separator, expected `-`";
    case ISO_BAD_YEAR:
        return "invalid character in year";
    case ISO_BAD_MONTH:
        return "invalid character in month";
    case ISO_BAD_DAY:
        return "invalid character in day";
    case ISO_BAD_TIME_SEP:
        return "invalid time separator, expected `:`";
    case ISO_BAD_HOUR:
        return "invalid character in hour";
    case ISO_BAD_MINUTE:
        return "invalid character in minute";
    case ISO_BAD_SECOND:
        return "invalid character in second";
    case ISO_BAD_TZ_SIGN:
        return "invalid timezone sign";
    case ISO_BAD_TZ_HOUR:
        return "invalid timezone hour";
    case ISO_BAD_TZ_MINUTE:
        return "invalid timezone minute";
    case ISO_RANGE_TZ_MINUTE:
        return "timezone minute value is outside expected range of 0-59";
    case ISO_RANGE_TZ:
        return "timezone offset must be less than 24 hours";
    case ISO_RANGE_YEAR:
        return "year 0000 is out of range";
    case ISO_RANGE_MONTH:
        return "month value is outside expected range of 1-12";
    case ISO_RANGE_DAY:
        return "day value is outside expected range";
    case ISO_RANGE_HOUR:
        return "hour value is outside expected range of 0-23";
    case ISO_RANGE_MINUTE:
        return "minute value is outside expected range of 0-59";
    case ISO_RANGE_SECOND:
        return "second value is outside expected range of 0-59";
    case ISO_FRACTION_MISSING:
        return "second fraction digits missing after `.`";
    case ISO_DATE_TOO_SMALL:
        return "dates before 0001 are not supported as unix timestamps";
    case ISO_DATE_TOO_LARGE:
        return "dates after 9999 are not supported as unix timestamps";
    case ISO_NOT_FINITE:
        return "NaN or infinite values are not permitted";
    }
    return "invalid timestamp";
}

size_t iso8601_format_utc(const iso_time *t, char *out)
{
    int64_t sec = t->epoch_sec;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    int n = snprintf(out, ISO8601_UTC_MAX, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (t->nsec / 1000 != 0)
        n += snprintf(out + n, ISO8601_UTC_MAX - (size_t)n, ".%06d", (int)(t->nsec / 1000));
    n += snprintf(out + n, ISO8601_UTC_MAX - (size_t)n, "Z");
    return (size_t)n;
}

int iso_time_cmp(const iso_time *a, const iso_time *b)
{
    if (a->epoch_sec != b->epoch_sec)
        return a->epoch_sec < b->epoch_sec ? -1 : 1;
    if (a->nsec != b->nsec)
        return a->nsec < b->nsec ? -1 : 1;
    return 0;
}
