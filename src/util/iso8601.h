#ifndef KRONOS_ISO8601_H
#define KRONOS_ISO8601_H

/*
 * Strict parser for the timestamps of SPEC §1:
 *
 *     YYYY-MM-DDTHH:MM[:SS[.f...]][Z|+HH:MM|-HH:MM]
 *
 * The fraction has 1..9 digits and needs seconds; no zone means UTC. Years run 0001..9999,
 * dates must exist (leap years included), seconds are 00..59, zone offsets are below 24h.
 * Nothing may follow the zone. Lower-case 't'/'z', a space separator, basic (compact) forms
 * and week or ordinal dates are all rejected.
 */

#include <stddef.h>
#include <stdint.h>

/* Calendar fields of the wall-clock time as written. */
typedef struct iso_wall {
    int minute;  /* 0..59 */
    int hour;    /* 0..23 */
    int weekday; /* Monday = 0 .. Sunday = 6 */
    int day;     /* 1..31 */
    int month;   /* 1..12 */
} iso_wall;

typedef struct iso_time {
    int64_t epoch_sec; /* UTC instant: seconds since 1970-01-01T00:00:00Z (may be negative) */
    int32_t nsec;      /* 0..999999999 */
    iso_wall wall;     /* calendar fields as written, before any zone shift */
} iso_time;

/* Parses s[0..len). Returns 0 and fills *out, or -1 when s is not exactly one valid
 * timestamp (out is then left unspecified). */
int iso8601_parse(const char *s, size_t len, iso_time *out);

/* <0, 0, >0 as a is before, at, or after b (UTC instants). */
int iso_time_cmp(const iso_time *a, const iso_time *b);

/* Days from 1970-01-01 to the given proleptic Gregorian date. */
int64_t iso_days_from_civil(int year, int month, int day);

#endif
