#include "api/predict_response.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const FIELD_NAMES[ENGINE_FEATURES] = {"open",  "high",   "low",
                                                         "close", "volume", "amount"};

typedef struct outbuf {
    char *p;
    size_t len, cap;
    bool failed;
} outbuf;

static void put(outbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_raw(outbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A JSON string. Input is UTF-8 already (jansson checked the client's strings). */
static void put_string(outbuf *b, const char *s)
{
    if (!s) {
        puts_raw(b, "null");
        return;
    }
    put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(b, run, (size_t)(s - run));
        char esc[8];
        if (ch == '"' || ch == '\\')
            snprintf(esc, sizeof esc, "\\%c", ch);
        else
            snprintf(esc, sizeof esc, "\\u%04x", ch);
        puts_raw(b, esc);
        run = s + 1;
    }
    put(b, run, (size_t)(s - run));
    put(b, "\"", 1);
}

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

void predict_bar_make_consistent(float *bar, predict_output_stats *stats)
{
    float hi = fmaxf(fmaxf(bar[F_OPEN], bar[F_CLOSE]), bar[F_HIGH]);
    float lo = fminf(fminf(bar[F_OPEN], bar[F_CLOSE]), bar[F_LOW]);
    size_t adjusted = (hi != bar[F_HIGH]) + (lo != bar[F_LOW]);
    size_t clamped = 0;
    bar[F_HIGH] = hi;
    bar[F_LOW] = lo;
    for (int f = F_VOLUME; f <= F_AMOUNT; f++)
        if (bar[f] < 0) {
            bar[f] = 0;
            clamped++;
        }
    if (stats) {
        stats->ohlc_adjusted += adjusted;
        stats->volume_clamped += clamped;
    }
}

double predict_quantile_sorted(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return sorted[n - 1];
    double frac = pos - (double)lo;
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

static bool bars_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static void put_bar(outbuf *b, const char *timestamp, const float *bar)
{
    char num[32];
    puts_raw(b, "{\"timestamp\":");
    put_string(b, timestamp);
    for (int f = 0; f < ENGINE_FEATURES; f++) {
        put(b, ",\"", 2);
        puts_raw(b, FIELD_NAMES[f]);
        put(b, "\":", 2);
        put(b, num, (size_t)predict_format_float(num, bar[f]));
    }
    put(b, "}", 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* out[q][t][f] for every asked quantile. */
static float *compute_quantiles(const predict_item *it, const engine_forecast *fc)
{
    size_t S = (size_t)fc->sample_count, T = fc->pred_len, Q = it->n_quantiles;
    float *out = malloc(Q * T * ENGINE_FEATURES * sizeof *out);
    float *bars = malloc(S * ENGINE_FEATURES * sizeof *bars);
    double *col = malloc(S * sizeof *col);
    if (!out || !bars || !col) {
        free(out);
        out = NULL;
        goto done;
    }
    for (size_t t = 0; t < T; t++) {
        for (size_t s = 0; s < S; s++) {
            memcpy(bars + s * ENGINE_FEATURES, fc->samples + (s * T + t) * ENGINE_FEATURES,
                   ENGINE_FEATURES * sizeof *bars);
            predict_bar_make_consistent(bars + s * ENGINE_FEATURES, NULL);
        }
        for (int f = 0; f < ENGINE_FEATURES; f++) {
            for (size_t s = 0; s < S; s++)
                col[s] = bars[s * ENGINE_FEATURES + f];
            qsort(col, S, sizeof *col, cmp_double);
            for (size_t q = 0; q < Q; q++)
                out[(q * T + t) * ENGINE_FEATURES + f] =
                    (float)predict_quantile_sorted(col, S, it->quantiles[q]);
        }
    }
done:
    free(bars);
    free(col);
    return out;
}

static bool forecast_fits(const predict_item *it, const engine_series *s, const engine_forecast *fc)
{
    if (!fc->mean || fc->pred_len != s->pred_len || fc->pred_len != it->pred_len ||
        !bars_finite(fc->mean, fc->pred_len * ENGINE_FEATURES))
        return false;
    if (it->n_quantiles == 0)
        return true;
    return fc->samples && fc->sample_count >= 1 &&
           bars_finite(fc->samples, (size_t)fc->sample_count * fc->pred_len * ENGINE_FEATURES);
}

static bool put_item(outbuf *b, const predict_item *it, const engine_series *s,
                     const engine_forecast *fc, const char *request_id, const char *model_version,
                     const char *tokenizer_version, const char *engine_name,
                     predict_output_stats *stats)
{
    if (!forecast_fits(it, s, fc))
        return false;
    puts_raw(b, "{\"series_id\":");
    put_string(b, it->series_id);
    puts_raw(b, ",\"request_id\":");
    put_string(b, request_id);
    puts_raw(b, ",\"prediction\":[");
    for (size_t t = 0; t < fc->pred_len; t++) {
        float bar[ENGINE_FEATURES];
        memcpy(bar, fc->mean + t * ENGINE_FEATURES, sizeof bar);
        predict_bar_make_consistent(bar, stats);
        if (t)
            put(b, ",", 1);
        put_bar(b, it->pred_timestamps[t], bar);
    }
    put(b, "]", 1);
    if (stats)
        stats->points += fc->pred_len;
    if (it->n_quantiles > 0) {
        float *qv = compute_quantiles(it, fc);
        if (!qv)
            return false;
        puts_raw(b, ",\"quantiles\":{");
        for (size_t q = 0; q < it->n_quantiles; q++) {
            char key[32];
            predict_format_double(key, it->quantiles[q]);
            puts_raw(b, q ? ",\"" : "\"");
            puts_raw(b, key);
            puts_raw(b, "\":[");
            for (size_t t = 0; t < fc->pred_len; t++) {
                if (t)
                    put(b, ",", 1);
                put_bar(b, it->pred_timestamps[t], qv + (q * fc->pred_len + t) * ENGINE_FEATURES);
            }
            put(b, "]", 1);
        }
        put(b, "}", 1);
        free(qv);
    }
    puts_raw(b, ",\"model_version\":");
    put_string(b, model_version);
    puts_raw(b, ",\"tokenizer_version\":");
    put_string(b, tokenizer_version);
    puts_raw(b, ",\"engine\":");
    put_string(b, engine_name);
    put(b, "}", 1);
    return true;
}

char *predict_response_json(const predict_request *req, const engine_forecast *fc,
                            const char *request_id, const char *model_version,
                            const char *tokenizer_version, const char *engine_name, size_t *len_out,
                            predict_output_stats *stats)
{
    outbuf b = {0};
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!req || !fc || req->n == 0 || (!req->batch && req->n != 1))
        return NULL;
    if (req->batch)
        put(&b, "[", 1);
    for (size_t i = 0; i < req->n; i++) {
        if (i)
            put(&b, ",", 1);
        if (!put_item(&b, &req->items[i], &req->series[i], &fc[i], request_id, model_version,
                      tokenizer_version, engine_name, stats)) {
            free(b.p);
            return NULL;
        }
    }
    if (req->batch)
        put(&b, "]", 1);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len_out)
        *len_out = b.len;
    return b.p;
}
