#ifndef KRONOS_ISO8601_H
#define KRONOS_ISO8601_H

/*
 * The timestamps of SPEC §1, read as pydantic v2 reads a `datetime` field (its speedate parser,
 * lax mode, microseconds truncated):
 *
 *     YYYY-MM-DD                                        a date alone: midnight
 *     YYYY-MM-DD<sep>HH:MM[:SS[<frac>]][<zone>]
 *         <sep>   T, t, space or _
 *         <frac>  '.' or ',' and 1 or more digits; digits past the 6th are dropped (truncated)
 *         <zone>  Z, z, +HH:MM, -HH:MM, +HHMM, -HHMM (U+2212 MINUS for '-' too); below 24 h
 *     [+-]digits[.digits]                               a Unix time written as a string
 *
 * No zone means UTC. Years run 0001..9999, dates must exist, seconds are 00..59. A Unix time is
 * in seconds, or in milliseconds when its absolute value is above 2e10, and must fall within
 * years 0001..9999; its wall clock is UTC.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calendar fields of the wall-clock time as written (UTC for a Unix time). */
typedef struct iso_wall {
    int minute;  /* 0..59 */
    int hour;    /* 0..23 */
    int weekday; /* Monday = 0 .. Sunday = 6 */
    int day;     /* 1..31 */
    int month;   /* 1..12 */
} iso_wall;

typedef struct iso_time {
    int64_t epoch_sec; /* UTC instant: seconds since 1970-01-01T00:00:00Z (may be negative) */
    int32_t nsec;      /* 0..999999000: whole microseconds, as pydantic keeps them */
    iso_wall wall;     /* calendar fields as written, before any zone shift */
} iso_time;

/* Why a text is not a timestamp; iso8601_error_text() words it as speedate does. */
typedef enum iso_error {
    ISO_OK = 0,
    ISO_TOO_SHORT,
    ISO_EXTRA_CHARACTERS,
    ISO_BAD_DATETIME_SEP,
    ISO_BAD_DATE_SEP,
    ISO_BAD_YEAR,
    ISO_BAD_MONTH,
    ISO_BAD_DAY,
    ISO_BAD_TIME_SEP,
    ISO_BAD_HOUR,
    ISO_BAD_MINUTE,
    ISO_BAD_SECOND,
    ISO_BAD_TZ_SIGN,
    ISO_BAD_TZ_HOUR,
    ISO_BAD_TZ_MINUTE,
    ISO_RANGE_TZ_MINUTE,
    ISO_RANGE_TZ,
    ISO_RANGE_YEAR,
    ISO_RANGE_MONTH,
    ISO_RANGE_DAY,
    ISO_RANGE_HOUR,
    ISO_RANGE_MINUTE,
    ISO_RANGE_SECOND,
    ISO_FRACTION_MISSING,
    ISO_DATE_TOO_SMALL,
    ISO_DATE_TOO_LARGE,
    ISO_NOT_FINITE,
} iso_error;

/* Parses s[0..len). Returns ISO_OK and fills *out, or the reason s is not exactly one valid
 * timestamp (out is then left unspecified). */
iso_error iso8601_parse(const char *s, size_t len, iso_time *out);

/* A Unix time given as a JSON integer or real (seconds, or milliseconds above 2e10). */
iso_error iso8601_from_unix_int(int64_t ts, iso_time *out);
iso_error iso8601_from_unix_real(double ts, iso_time *out);

/* One line of text for an error ("hour value is outside expected range of 0-23"). */
const char *iso8601_error_text(iso_error e);

/* RFC 3339 UTC text of t's instant, as pydantic prints it: 2025-10-14T10:00:00Z, with .ffffff
 * when the microseconds are not 0. Returns the length; out needs ISO8601_UTC_MAX bytes. */
#define ISO8601_UTC_MAX 32
size_t iso8601_format_utc(const iso_time *t, char *out);

/* <0, 0, >0 as a is before, at, or after b (UTC instants). */
int iso_time_cmp(const iso_time *a, const iso_time *b);

/* Days from 1970-01-01 to the given proleptic Gregorian date. */
int64_t iso_days_from_civil(int year, int month, int day);

#endif
