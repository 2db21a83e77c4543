#include "api/predict_lax.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the Unicode White_Space character at s (UTF-8), 0 when there is none: what Rust's
 * str::trim removes. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || s[0] == 0x20))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
        return 3;
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
        (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) /* U+2000..200A, ... */
        return 3;
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
        return 3;
    if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

/* The last code point's start in s[0..n). */
static size_t last_start(const unsigned char *s, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && (s[i] & 0xc0) == 0x80)
        i--;
    return i;
}

static void trim(const char **s, size_t *n)
{
    const unsigned char *u = (const unsigned char *)*s;
    size_t k;
    while (*n > 0 && (k = space_at(u, *n)) > 0) {
        u += k;
        *n -= k;
    }
    while (*n > 0) {
        size_t i = last_start(u, *n);
        if (space_at(u + i, *n - i) != *n - i)
            break;
        *n = i;
    }
    *s = (const char *)u;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Rust's f64::from_str: [+-] then inf, infinity, nan (any case) or digits[.digits][e[+-]digits]
 * with at least one digit in the mantissa. */
static bool rust_float(const char *s, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t p = buf[0] == '+' || buf[0] == '-' ? 1 : 0;
    const char *word = buf + p;
    if (strcasecmp(word, "inf") == 0 || strcasecmp(word, "infinity") == 0) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (strcasecmp(word, "nan") == 0) {
        *out = NAN;
        return true;
    }
    size_t digits = 0;
    while (is_digit(buf[p]))
        p++, digits++;
    if (buf[p] == '.') {
        p++;
        while (is_digit(buf[p]))
            p++, digits++;
    }
    if (digits == 0)
        return false;
    if (buf[p] == 'e' || buf[p] == 'E') {
        p++;
        if (buf[p] == '+' || buf[p] == '-')
            p++;
        if (!is_digit(buf[p]))
            return false;
        while (is_digit(buf[p]))
            p++;
    }
    if (buf[p] != '\0')
        return false;
    *out = strtod(buf, NULL);
    return true;
}

/* pydantic's strip_underscores: none leading or trailing, never two in a row. Writes the text
 * without them to out (cap bytes); false when the rule does not apply. */
static bool strip_underscores(const char *s, size_t n, char *out, size_t cap, size_t *outlen)
{
    if (n == 0 || s[0] == '_' || s[n - 1] == '_' || !memchr(s, '_', n) || n >= cap)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_' && s[i + 1] == '_')
            return false;
        if (s[i] != '_')
            out[k++] = s[i];
    }
    *outlen = k;
    return true;
}

static bool finite_or(double d, double *out, const char **why)
{
    if (!isfinite(d)) {
        *why = "finite_number";
        return false;
    }
    *out = d;
    return true;
}

bool predict_lax_float(const json_t *v, double *out, const char **why)
{
    if (json_is_number(v))
        return finite_or(json_number_value(v), out, why);
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1.0 : 0.0;
        return true;
    }
    if (!json_is_string(v)) {
        *why = "float_type";
        return false;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), m;
    const char *t = s;
    size_t tn = n;
    trim(&t, &tn);
    double d;
    char plain[128];
    if (rust_float(t, tn, &d) ||
        (strip_underscores(s, n, plain, sizeof plain, &m) && rust_float(plain, m, &d)))
        return finite_or(d, out, why);
    *why = "float_parsing";
    return false;
}

/* pydantic's clean_int_str and the JSON integer it must then be: trimmed, one optional sign,
 * leading zeros and a tail of ".0..." dropped, single underscores between digits. */
static bool int_text(const char *s, size_t n, long long *out, const char **why)
{
    trim(&s, &n);
    char buf[128];
    size_t k = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++, n--;
    }
    if (n >= sizeof buf || n == 0 || !is_digit(s[0]))
        return *why = "int_parsing", false;
    size_t end = n;
    const char *dot = memchr(s, '.', n);
    if (dot) {
        size_t i = (size_t)(dot - s) + 1;
        if (i == n)
            return *why = "int_parsing", false;
        for (size_t j = i; j < n; j++)
            if (s[j] != '0')
                return *why = "int_parsing", false;
        end = (size_t)(dot - s);
    }
    if (!strip_underscores(s, end, buf, sizeof buf, &k)) {
        memcpy(buf, s, end);
        k = end;
    }
    for (size_t i = 0; i < k; i++)
        if (!is_digit(buf[i]))
            return *why = "int_parsing", false;
    buf[k] = '\0';
    errno = 0;
    unsigned long long u = strtoull(buf, NULL, 10);
    if (errno == ERANGE || u > (unsigned long long)LLONG_MAX + (neg ? 1u : 0u))
        return *why = "int_parsing_size", false;
    *out = neg ? (long long)(0 - u) : (long long)u;
    return true;
}

bool predict_lax_int(const json_t *v, long long *out, const char **why)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return *why = "finite_number", false;
        if (d != floor(d))
            return *why = "int_from_float", false;
        if (!(d > (double)LLONG_MIN && d < (double)LLONG_MAX))
            return *why = "int_parsing_size", false;
        *out = (long long)d;
        return true;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1 : 0;
        return true;
    }
    if (json_is_string(v))
        return int_text(json_string_value(v), json_string_length(v), out, why);
    *why = "int_type";
    return false;
}

bool predict_lax_time(const json_t *v, iso_time *out, bool *numeric, const char **why,
                      const char **reason)
{
    iso_error e;
    *numeric = json_is_number(v);
    if (json_is_string(v)) {
        e = iso8601_parse(json_string_value(v), json_string_length(v), out);
        *why = "datetime_from_date_parsing";
    } else if (json_is_integer(v)) {
        e = iso8601_from_unix_int(json_integer_value(v), out);
        *why = "datetime_parsing";
    } else if (json_is_real(v)) {
        e = iso8601_from_unix_real(json_real_value(v), out);
        *why = "datetime_parsing";
    } else {
        *why = "datetime_type";
        *reason = "";
        return false;
    }
    *reason = iso8601_error_text(e);
    return e == ISO_OK;
}
