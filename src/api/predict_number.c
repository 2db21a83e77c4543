#include "api/predict_number.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int with_point(char *buf, int n)
{
    if (!strpbrk(buf, ".eEn")) { /* "n" of nan/inf never happens for finite input */
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

/* Binary search for the fewest significant digits that read back exactly: round-tripping is
 * monotone in the digit count, as a (p+1)-digit rounding is never farther than a p-digit one. */
static int format_float_slow(char *buf, float f)
{
    int lo = 1, hi = 9;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, 32, "%.*g", mid, (double)f);
        if (strtof(buf, NULL) == f)
            hi = mid;
        else
            lo = mid + 1;
    }
    return with_point(buf, snprintf(buf, 32, "%.*g", lo, (double)f));
}

static const double P10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47,
    1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60};

/* v * 10^k for |k| <= 60, dividing for negative k (10^-k is not exact in binary). */
static double scale10(double v, int k)
{
    return k >= 0 ? v * P10[k] : v / P10[-k];
}

/* Lays out digits d[0..n) (no trailing zeros) whose first digit has weight 10^e the way Python
 * prints floats: fixed notation for -4 <= e < 16, else d.ddde+XX. */
static int layout(char *buf, bool neg, const char *d, int n, int e)
{
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (e >= -4 && e < 16) {
        if (e >= 0) {
            for (int i = 0; i <= e; i++)
                *o++ = i < n ? d[i] : '0';
            *o++ = '.';
            if (n > e + 1)
                for (int i = e + 1; i < n; i++)
                    *o++ = d[i];
            else
                *o++ = '0';
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = -1; i > e; i--)
                *o++ = '0';
            for (int i = 0; i < n; i++)
                *o++ = d[i];
        }
    } else {
        *o++ = d[0];
        if (n > 1) {
            *o++ = '.';
            for (int i = 1; i < n; i++)
                *o++ = d[i];
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    *o = '\0';
    return (int)(o - buf);
}

/* Finds the fewest digits with plain double arithmetic, then proves the result with one strtof;
 * on the rare disagreement (double rounding near a float midpoint) the exact slow path runs. */
int predict_format_float(char *buf, float f)
{
    if (f == 0)
        return with_point(buf, snprintf(buf, 32, "%s0", signbit(f) ? "-" : ""));
    double v = fabs((double)f);
    int e = (int)floor(log10(v));
    if (scale10(1.0, e) > v)
        e--;
    else if (scale10(1.0, e + 1) <= v)
        e++;
    uint64_t m = 0;
    int p;
    for (p = 1; p <= 9; p++) {
        m = (uint64_t)llround(scale10(v, p - 1 - e));
        if ((float)scale10((double)m, e - p + 1) == (float)v)
            break;
    }
    if (p > 9)
        return format_float_slow(buf, f);
    if (m >= (uint64_t)P10[p]) { /* rounded up to the next power of ten: 9.99 -> 10.0 */
        m /= 10;
        e++;
    }
    char d[24];
    int n = 0;
    char tmp[24];
    int k = 0;
    while (m > 0) {
        tmp[k++] = (char)('0' + m % 10);
        m /= 10;
    }
    while (k > 0)
        d[n++] = tmp[--k];
    while (n > 1 && d[n - 1] == '0')
        n--;
    int len = layout(buf, signbit(f), d, n, e);
    if (strtof(buf, NULL) != f)
        return format_float_slow(buf, f);
    return len;
}

int predict_format_double(char *buf, double d)
{
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, 32, "%.*g", mid, d);
        if (strtod(buf, NULL) == d)
            hi = mid;
        else
            lo = mid + 1;
    }
    return with_point(buf, snprintf(buf, 32, "%.*g", lo, d));
}
