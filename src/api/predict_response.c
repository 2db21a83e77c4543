#include "api/predict_response.h"

#include "api/predict_number.h"
#include "util/json_escape.h"
#include "util/strbuf.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const FIELD_NAMES[ENGINE_FEATURES] = {"open",  "high",   "low",
                                                         "close", "volume", "amount"};

/* A JSON string, or null. Client strings are UTF-8 already (jansson checked them) and engine
 * names are made so where derived; the escaper still turns any invalid byte into U+FFFD. */
static void put_string(strbuf *b, const char *s)
{
    if (s)
        json_escape_append(b, s, strlen(s));
    else
        sb_puts(b, "null");
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

static void put_bar(strbuf *b, const char *timestamp, const float *bar)
{
    char num[32];
    sb_puts(b, "{\"timestamp\":");
    put_string(b, timestamp);
    for (int f = 0; f < ENGINE_FEATURES; f++) {
        sb_append(b, ",\"", 2);
        sb_puts(b, FIELD_NAMES[f]);
        sb_append(b, "\":", 2);
        sb_append(b, num, (size_t)predict_format_float(num, bar[f]));
    }
    sb_append(b, "}", 1);
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

static bool put_item(strbuf *b, const predict_item *it, const engine_series *s,
                     const engine_forecast *fc, const char *request_id, const char *model_version,
                     const char *tokenizer_version, const char *engine_name,
                     predict_output_stats *stats)
{
    if (!forecast_fits(it, s, fc))
        return false;
    sb_puts(b, "{\"series_id\":");
    put_string(b, it->series_id);
    sb_puts(b, ",\"request_id\":");
    put_string(b, request_id);
    sb_puts(b, ",\"prediction\":[");
    for (size_t t = 0; t < fc->pred_len; t++) {
        float bar[ENGINE_FEATURES];
        memcpy(bar, fc->mean + t * ENGINE_FEATURES, sizeof bar);
        predict_bar_make_consistent(bar, stats);
        if (t)
            sb_append(b, ",", 1);
        put_bar(b, it->pred_timestamps[t], bar);
    }
    sb_append(b, "]", 1);
    if (stats)
        stats->points += fc->pred_len;
    if (it->n_quantiles > 0) {
        float *qv = compute_quantiles(it, fc);
        if (!qv)
            return false;
        sb_puts(b, ",\"quantiles\":{");
        for (size_t q = 0; q < it->n_quantiles; q++) {
            char key[32];
            predict_format_double(key, it->quantiles[q]);
            sb_puts(b, q ? ",\"" : "\"");
            sb_puts(b, key);
            sb_puts(b, "\":[");
            for (size_t t = 0; t < fc->pred_len; t++) {
                if (t)
                    sb_append(b, ",", 1);
                put_bar(b, it->pred_timestamps[t], qv + (q * fc->pred_len + t) * ENGINE_FEATURES);
            }
            sb_append(b, "]", 1);
        }
        sb_append(b, "}", 1);
        free(qv);
    }
    sb_puts(b, ",\"model_version\":");
    put_string(b, model_version);
    sb_puts(b, ",\"tokenizer_version\":");
    put_string(b, tokenizer_version);
    sb_puts(b, ",\"engine\":");
    put_string(b, engine_name);
    if (it->warnings && json_array_size(it->warnings) > 0) {
        sb_puts(b, ",\"warnings\":[");
        for (size_t w = 0; w < json_array_size(it->warnings); w++) {
            if (w)
                sb_append(b, ",", 1);
            put_string(b, json_string_value(json_array_get(it->warnings, w)));
        }
        sb_append(b, "]", 1);
    }
    sb_append(b, "}", 1);
    return true;
}

char *predict_response_json(const predict_request *req, const engine_forecast *fc,
                            const char *request_id, const char *model_version,
                            const char *tokenizer_version, const char *engine_name, size_t *len_out,
                            predict_output_stats *stats)
{
    strbuf b;
    sb_init(&b, 0);
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!req || !fc || req->n == 0 || (!req->batch && req->n != 1))
        return NULL;
    if (req->batch)
        sb_append(&b, "[", 1);
    for (size_t i = 0; i < req->n; i++) {
        if (i)
            sb_append(&b, ",", 1);
        if (!put_item(&b, &req->items[i], &req->series[i], &fc[i], request_id, model_version,
                      tokenizer_version, engine_name, stats)) {
            sb_free(&b);
            return NULL;
        }
    }
    if (req->batch)
        sb_append(&b, "]", 1);
    if (!sb_ok(&b)) {
        sb_free(&b);
        return NULL;
    }
    return sb_detach(&b, len_out);
}
