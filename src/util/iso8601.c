#include "util/iso8601.h"

#include <stdbool.h>

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

static bool expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return false;
    (*pos)++;
    return true;
}

int iso8601_parse(const char *s, size_t len, iso_time *out)
{
    size_t p = 0;
    int year, month, day, hour, minute, second = 0;
    int32_t nsec = 0;

    if (!s)
        return -1;
    if ((year = read_digits(s, len, &p, 4)) < 1 || !expect(s, len, &p, '-') ||
        (month = read_digits(s, len, &p, 2)) < 1 || month > 12 || !expect(s, len, &p, '-') ||
        (day = read_digits(s, len, &p, 2)) < 1 || day > days_in_month(year, month) ||
        !expect(s, len, &p, 'T') || (hour = read_digits(s, len, &p, 2)) < 0 || hour > 23 ||
        !expect(s, len, &p, ':') || (minute = read_digits(s, len, &p, 2)) < 0 || minute > 59)
        return -1;

    if (expect(s, len, &p, ':')) {
        if ((second = read_digits(s, len, &p, 2)) < 0 || second > 59)
            return -1;
        if (expect(s, len, &p, '.')) {
            int digits = 0;
            while (p < len && s[p] >= '0' && s[p] <= '9') {
                if (++digits > 9)
                    return -1;
                nsec = nsec * 10 + (s[p++] - '0');
            }
            if (digits == 0)
                return -1;
            for (int i = digits; i < 9; i++)
                nsec *= 10;
        }
    }

    int offset_min = 0;
    if (p < len && s[p] == 'Z') {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p++] == '-' ? -1 : 1;
        int oh, om;
        if ((oh = read_digits(s, len, &p, 2)) < 0 || oh > 23 || !expect(s, len, &p, ':') ||
            (om = read_digits(s, len, &p, 2)) < 0 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    }
    if (p != len)
        return -1;

    int64_t days = iso_days_from_civil(year, month, day);
    out->epoch_sec = days * 86400 + hour * 3600 + minute * 60 + second - (int64_t)offset_min * 60;
    out->nsec = nsec;
    out->wall.minute = minute;
    out->wall.hour = hour;
    /* 1970-01-01 was a Thursday, weekday 3 when Monday = 0. */
    out->wall.weekday = (int)(((days % 7) + 7 + 3) % 7);
    out->wall.day = day;
    out->wall.month = month;
    return 0;
}

int iso_time_cmp(const iso_time *a, const iso_time *b)
{
    if (a->epoch_sec != b->epoch_sec)
        return a->epoch_sec < b->epoch_sec ? -1 : 1;
    if (a->nsec != b->nsec)
        return a->nsec < b->nsec ? -1 : 1;
    return 0;
}
