#ifndef KRONOS_PREDICT_LAX_H
#define KRONOS_PREDICT_LAX_H

/*
 * JSON scalars read as pydantic v2 reads them for `float`, `int` and `datetime` fields in lax
 * mode, the mode FastAPI validates request bodies in (pydantic-core's input_python.rs and
 * shared.rs, for the values Python's json module produces):
 *
 *  float     a number; true/false (1.0/0.0); a string, trimmed of Unicode white space, in
 *            Rust's float syntax (1, -1.5, .5, 1e3, inf, NaN) or with single underscores
 *            between digits (1_000.5). kronosd then refuses non-finite values (finite_number).
 *  int       an integer; a real with no fractional part (2.0); true/false; a string, trimmed,
 *            with an optional sign, leading zeros, single underscores and a ".000" tail.
 *  datetime  a string (util/iso8601.h); a number as a Unix time. Not true/false.
 */

#include <stdbool.h>

#include <jansson.h>

#include "util/iso8601.h"

/* Each returns true with *out set, or false with *why set to pydantic's error type
 * (float_type, float_parsing, finite_number, int_type, int_parsing, int_from_float,
 * int_parsing_size). */
bool predict_lax_float(const json_t *v, double *out, const char **why);
bool predict_lax_int(const json_t *v, long long *out, const char **why);

/* A timestamp. On failure *why is datetime_type, datetime_from_date_parsing (a string) or
 * datetime_parsing (a number) and *reason the parser's words. *numeric tells whether a number
 * was given (its echo is then RFC 3339 UTC). */
bool predict_lax_time(const json_t *v, iso_time *out, bool *numeric, const char **why,
                      const char **reason);

#endif
