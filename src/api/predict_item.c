#include "api/predict_item.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/iso8601.h"

#define FLOAT32_RANGE "within float32 range"

static void viol(const item_ctx *c, const char *constraint, const json_t *value, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void viol(const item_ctx *c, const char *constraint, const json_t *value, const char *fmt,
                 ...)
{
    char field[160];
    int off = snprintf(field, sizeof field, "%s", c->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field + off, sizeof field - off, fmt, ap);
    va_end(ap);
    predict_error_add(c->err, field, constraint, value);
}

static bool absent(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

/* Integers, and reals with an integral value (2.0), as pydantic accepts them. */
static bool as_integer(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
            *out = (long long)d;
            return true;
        }
    }
    return false;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static uint64_t random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed =
            (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
    }
    return seed & (uint64_t)LLONG_MAX; /* non-negative, like a client-given seed */
}

static int parse_series_id(const item_ctx *c, const json_t *obj, predict_item *it)
{
    const json_t *v = json_object_get(obj, "series_id");
    if (absent(v)) {
        if (c->series_id_required)
            viol(c, "required", NULL, "series_id");
        return 0;
    }
    if (!json_is_string(v)) {
        viol(c, "type: string", v, "series_id");
        return 0;
    }
    if (utf8_chars(json_string_value(v), json_string_length(v)) > PREDICT_MAX_SERIES_ID) {
        viol(c, "length <= 128", v, "series_id");
        return 0;
    }
    it->series_id = strdup(json_string_value(v));
    return it->series_id ? 0 : -1;
}

/* A price: a finite number > 0 that survives the cast to float32. */
static bool price(const item_ctx *c, const json_t *cd, size_t i, const char *name, double *out)
{
    const json_t *v = json_object_get(cd, name);
    if (absent(v)) {
        viol(c, "required", NULL, "candles[%zu].%s", i, name);
        return false;
    }
    if (!json_is_number(v)) {
        viol(c, "type: number", v, "candles[%zu].%s", i, name);
        return false;
    }
    double d = json_number_value(v);
    if (!(d > 0)) {
        viol(c, "> 0", v, "candles[%zu].%s", i, name);
        return false;
    }
    float f = (float)d;
    if (!(f > 0) || isinf(f)) {
        viol(c, FLOAT32_RANGE, v, "candles[%zu].%s", i, name);
        return false;
    }
    *out = d;
    return true;
}

/* volume/amount: optional; when given a finite number >= 0 within float32 range.
 * Returns 1 given and valid, 0 absent, -1 invalid. */
static int quantity(const item_ctx *c, const json_t *cd, size_t i, const char *name, double *out)
{
    const json_t *v = json_object_get(cd, name);
    if (absent(v))
        return 0;
    if (!json_is_number(v)) {
        viol(c, "type: number", v, "candles[%zu].%s", i, name);
        return -1;
    }
    double d = json_number_value(v);
    if (!(d >= 0)) {
        viol(c, ">= 0", v, "candles[%zu].%s", i, name);
        return -1;
    }
    if (isinf((float)d)) {
        viol(c, FLOAT32_RANGE, v, "candles[%zu].%s", i, name);
        return -1;
    }
    *out = d;
    return 1;
}

enum { HAS_VOLUME = 1, HAS_AMOUNT = 2 };

/* Per candle: which optional fields came, and volume x mean(OHLC) from the values as sent
 * (double, as the upstream pandas code computes it before the float32 cast). */
typedef struct candle_extra {
    unsigned char has;
    double derived_amount;
} candle_extra;

static void fill_missing(const item_ctx *c, size_t rows, const candle_extra *ex, predict_item *it)
{
    size_t nvol = 0, namt = 0;
    for (size_t i = 0; i < rows; i++) {
        nvol += (ex[i].has & HAS_VOLUME) != 0;
        namt += (ex[i].has & HAS_AMOUNT) != 0;
    }
    if (nvol > 0 && nvol < rows)
        for (size_t i = 0; i < rows; i++)
            if (!(ex[i].has & HAS_VOLUME))
                viol(c, "required when other candles have volume", NULL, "candles[%zu].volume", i);
    /* Without any volume the model's convention zeroes amount too, whatever was sent. */
    if (nvol > 0 && namt > 0 && namt < rows)
        for (size_t i = 0; i < rows; i++)
            if (!(ex[i].has & HAS_AMOUNT))
                viol(c, "required when other candles have amount", NULL, "candles[%zu].amount", i);
    it->volume_given = nvol == rows;
    it->amount_given = it->volume_given && namt == rows;
    if (!it->x)
        return;
    for (size_t i = 0; i < rows; i++) {
        float *r = it->x + i * ENGINE_FEATURES;
        if (!it->volume_given) {
            r[F_VOLUME] = r[F_AMOUNT] = 0.0f;
        } else if (!it->amount_given) {
            double amount = ex[i].derived_amount;
            if (isinf((float)amount))
                viol(c, "volume * mean(open, high, low, close) " FLOAT32_RANGE, NULL,
                     "candles[%zu].volume", i);
            r[F_AMOUNT] = (float)amount;
        }
    }
}

/* *rows_out gets the number of candles (0 when the array itself is unusable). Returns 0, or -1
 * when memory ran out. */
static int parse_candles(const item_ctx *c, const json_t *obj, predict_item *it, size_t *rows_out)
{
    const json_t *arr = json_object_get(obj, "candles");
    char constraint[64];
    *rows_out = 0;
    if (absent(arr)) {
        viol(c, "required", NULL, "candles");
        return 0;
    }
    if (!json_is_array(arr)) {
        viol(c, "type: array", arr, "candles");
        return 0;
    }
    size_t rows = json_array_size(arr);
    if (rows < 1 || rows > c->lim->max_candles) {
        snprintf(constraint, sizeof constraint, "length %s %zu",
                 rows < 1 ? ">=" : "<=", rows < 1 ? (size_t)1 : c->lim->max_candles);
        viol(c, constraint, arr, "candles");
        return 0;
    }
    it->x = calloc(rows * ENGINE_FEATURES, sizeof *it->x);
    candle_extra *ex = calloc(rows, sizeof *ex);
    if (!it->x || !ex) {
        free(ex);
        return -1;
    }
    for (size_t i = 0; i < rows; i++) {
        const json_t *cd = json_array_get(arr, i);
        if (!json_is_object(cd)) {
            viol(c, "type: object", cd, "candles[%zu]", i);
            ex[i].has = HAS_VOLUME | HAS_AMOUNT; /* not a partial-volume case */
            continue;
        }
        double o, h, l, cl, vol = 0, amt = 0;
        bool ok_o = price(c, cd, i, "open", &o);
        bool ok_h = price(c, cd, i, "high", &h);
        bool ok_l = price(c, cd, i, "low", &l);
        bool ok_c = price(c, cd, i, "close", &cl);
        if (ok_o && ok_h && ok_l && ok_c) {
            if (!(l <= fmin(o, cl)))
                viol(c, "low <= min(open, close)", json_object_get(cd, "low"), "candles[%zu].low",
                     i);
            if (!(h >= fmax(o, cl)))
                viol(c, "high >= max(open, close)", json_object_get(cd, "high"),
                     "candles[%zu].high", i);
        }
        int vs = quantity(c, cd, i, "volume", &vol);
        int as = quantity(c, cd, i, "amount", &amt);
        /* An invalid value counts as present: it is already reported, not missing. */
        ex[i].has = (vs != 0 ? HAS_VOLUME : 0) | (as != 0 ? HAS_AMOUNT : 0);
        ex[i].derived_amount =
            vol * ((ok_o ? o : 0) + (ok_h ? h : 0) + (ok_l ? l : 0) + (ok_c ? cl : 0)) / 4.0;
        float *r = it->x + i * ENGINE_FEATURES;
        r[F_OPEN] = ok_o ? (float)o : 0;
        r[F_HIGH] = ok_h ? (float)h : 0;
        r[F_LOW] = ok_l ? (float)l : 0;
        r[F_CLOSE] = ok_c ? (float)cl : 0;
        r[F_VOLUME] = (float)vol;
        r[F_AMOUNT] = (float)amt;
    }
    fill_missing(c, rows, ex, it);
    free(ex);
    *rows_out = rows;
    return 0;
}

/* Parses an array of timestamps, checking each and their strict UTC order. times and raw (each
 * may be NULL) receive the parsed values and copies of the strings. Returns -1 on OOM, else
 * the number of elements that parsed; *last gets the last element when it parsed. */
static long parse_times(const item_ctx *c, const json_t *arr, const char *name, iso_time *times,
                        char **raw, iso_time *last, bool *last_ok)
{
    iso_time prev;
    bool have_prev = false;
    long good = 0;
    size_t n = json_array_size(arr);
    *last_ok = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        iso_time t;
        if (!json_is_string(v)) {
            viol(c, "type: string", v, "%s[%zu]", name, i);
            continue;
        }
        if (iso8601_parse(json_string_value(v), json_string_length(v), &t) != 0) {
            viol(c, "ISO 8601 date-time", v, "%s[%zu]", name, i);
            continue;
        }
        /* Compared with the last valid one, so one bad element hides no disorder. */
        if (have_prev && iso_time_cmp(&prev, &t) >= 0)
            viol(c, "strictly ascending", v, "%s[%zu]", name, i);
        prev = t;
        have_prev = true;
        good++;
        if (times)
            times[i] = t;
        if (raw && !(raw[i] = strdup(json_string_value(v))))
            return -1;
        if (i == n - 1) {
            *last = t;
            *last_ok = true;
        }
    }
    return good;
}

static int parse_timestamps(const item_ctx *c, const json_t *obj, size_t rows, predict_item *it,
                            iso_time *last, bool *last_ok)
{
    const json_t *arr = json_object_get(obj, "timestamps");
    *last_ok = false;
    if (absent(arr)) {
        viol(c, "required", NULL, "timestamps");
        return 0;
    }
    if (!json_is_array(arr)) {
        viol(c, "type: array", arr, "timestamps");
        return 0;
    }
    size_t n = json_array_size(arr);
    iso_time *times = NULL;
    if (rows > 0 && n != rows) {
        viol(c, "length == len(candles)", NULL, "timestamps");
    } else if (rows > 0) {
        if (!(times = malloc(rows * sizeof *times)) ||
            !(it->x_time = malloc(rows * sizeof *it->x_time))) {
            free(times);
            return -1;
        }
    } else if (n == 0) {
        viol(c, "length >= 1", arr, "timestamps");
        return 0;
    }
    long good = parse_times(c, arr, "timestamps", times, NULL, last, last_ok);
    if (times && good == (long)rows)
        for (size_t i = 0; i < rows; i++)
            it->x_time[i] = times[i].wall;
    free(times);
    return 0;
}

static int parse_prediction_timestamps(const item_ctx *c, const json_t *obj, predict_item *it,
                                       const iso_time *hist_last, bool hist_last_ok,
                                       size_t *pred_len)
{
    const json_t *arr = json_object_get(obj, "prediction_timestamps");
    char constraint[64];
    *pred_len = 0;
    if (absent(arr)) {
        viol(c, "required", NULL, "prediction_timestamps");
        return 0;
    }
    if (!json_is_array(arr)) {
        viol(c, "type: array", arr, "prediction_timestamps");
        return 0;
    }
    size_t n = json_array_size(arr);
    if (n < 1 || n > c->lim->max_pred_len) {
        snprintf(constraint, sizeof constraint, "length %s %zu",
                 n < 1 ? ">=" : "<=", n < 1 ? (size_t)1 : c->lim->max_pred_len);
        viol(c, constraint, arr, "prediction_timestamps");
        return 0;
    }
    iso_time *times = malloc(n * sizeof *times);
    it->y_time = malloc(n * sizeof *it->y_time);
    it->pred_timestamps = calloc(n, sizeof *it->pred_timestamps);
    if (!times || !it->y_time || !it->pred_timestamps) {
        free(times);
        return -1;
    }
    it->pred_len = n;
    iso_time last;
    bool last_ok;
    long good =
        parse_times(c, arr, "prediction_timestamps", times, it->pred_timestamps, &last, &last_ok);
    if (good < 0) {
        free(times);
        return -1;
    }
    *pred_len = n;
    const json_t *first = json_array_get(arr, 0);
    if (hist_last_ok && json_is_string(first) &&
        iso8601_parse(json_string_value(first), json_string_length(first), &times[0]) == 0 &&
        iso_time_cmp(&times[0], hist_last) <= 0)
        viol(c, "after the last of timestamps", first, "prediction_timestamps[0]");
    if (good == (long)n)
        for (size_t i = 0; i < n; i++)
            it->y_time[i] = times[i].wall;
    free(times);
    return 0;
}

/* An optional number override; returns true when given and valid. */
static bool number_override(const item_ctx *c, const json_t *ov, const char *name, double *out)
{
    const json_t *v = json_object_get(ov, name);
    if (absent(v))
        return false;
    if (!json_is_number(v)) {
        viol(c, "type: number", v, "overrides.%s", name);
        return false;
    }
    *out = json_number_value(v);
    return true;
}

/* Returns 1 given and an integer, 0 absent, -1 wrong type (reported). */
static int integer_override(const item_ctx *c, const json_t *ov, const char *name, long long *out)
{
    const json_t *v = json_object_get(ov, name);
    if (absent(v))
        return 0;
    if (!as_integer(v, out)) {
        viol(c, "type: integer", v, "overrides.%s", name);
        return -1;
    }
    return 1;
}

static void parse_quantiles(const item_ctx *c, const json_t *ov, int sample_count,
                            bool sample_count_ok, predict_item *it)
{
    const json_t *arr = json_object_get(ov, "quantiles");
    if (absent(arr))
        return;
    if (!json_is_array(arr)) {
        viol(c, "type: array", arr, "overrides.quantiles");
        return;
    }
    size_t n = json_array_size(arr);
    if (n > PREDICT_MAX_QUANTILES) {
        viol(c, "length <= 9", NULL, "overrides.quantiles");
        return;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_number(v)) {
            viol(c, "type: number", v, "overrides.quantiles[%zu]", i);
            ok = false;
            continue;
        }
        double q = json_number_value(v);
        if (!(q > 0 && q < 1)) {
            viol(c, "0 < q < 1", v, "overrides.quantiles[%zu]", i);
            ok = false;
            continue;
        }
        for (size_t j = 0; j < it->n_quantiles; j++)
            if (it->quantiles[j] == q) {
                viol(c, "unique", v, "overrides.quantiles[%zu]", i);
                ok = false;
            }
        it->quantiles[it->n_quantiles++] = q;
    }
    if (n > 0 && sample_count_ok && sample_count < 2)
        viol(c, "needs sample_count >= 2", NULL, "overrides.quantiles");
    if (!ok)
        it->n_quantiles = 0;
}

static void parse_overrides(const item_ctx *c, const json_t *obj, size_t pred_len, predict_item *it,
                            engine_sampling *s)
{
    const predict_defaults *def = c->def;
    s->temperature = def->temperature;
    s->top_k = def->top_k;
    s->top_p = def->top_p;
    s->sample_count = def->sample_count;
    it->seed_random = true;

    const json_t *ov = json_object_get(obj, "overrides");
    bool sample_count_ok = true;
    if (absent(ov)) {
        s->seed = random_seed();
        return;
    }
    if (!json_is_object(ov)) {
        viol(c, "type: object", ov, "overrides");
        return;
    }
    long long iv;
    double dv;
    char constraint[64];

    if (integer_override(c, ov, "pred_len", &iv) > 0 && pred_len > 0 && iv != (long long)pred_len)
        viol(c, "== len(prediction_timestamps)", json_object_get(ov, "pred_len"),
             "overrides.pred_len");
    if (number_override(c, ov, "temperature", &dv)) {
        if (dv > 0)
            s->temperature = dv;
        else
            viol(c, "> 0", json_object_get(ov, "temperature"), "overrides.temperature");
    }
    int rc = integer_override(c, ov, "top_k", &iv);
    if (rc > 0 && iv >= 0 && iv <= INT_MAX)
        s->top_k = (int)iv;
    else if (rc > 0)
        viol(c, iv < 0 ? ">= 0" : "<= 2147483647", json_object_get(ov, "top_k"), "overrides.top_k");
    if (number_override(c, ov, "top_p", &dv)) {
        if (dv > 0 && dv <= 1)
            s->top_p = dv;
        else
            viol(c, "0 < top_p <= 1", json_object_get(ov, "top_p"), "overrides.top_p");
    }
    rc = integer_override(c, ov, "sample_count", &iv);
    if (rc > 0 && iv >= 1 && iv <= c->lim->max_sample_count) {
        s->sample_count = (int)iv;
    } else if (rc != 0) {
        sample_count_ok = false;
        if (rc > 0) {
            snprintf(constraint, sizeof constraint, "1 <= sample_count <= %d",
                     c->lim->max_sample_count);
            viol(c, constraint, json_object_get(ov, "sample_count"), "overrides.sample_count");
        }
    }
    rc = integer_override(c, ov, "seed", &iv);
    if (rc > 0 && iv >= 0) {
        s->seed = (uint64_t)iv;
        it->seed_random = false;
    } else if (rc > 0) {
        viol(c, ">= 0", json_object_get(ov, "seed"), "overrides.seed");
    }
    if (it->seed_random)
        s->seed = random_seed();
    parse_quantiles(c, ov, s->sample_count, sample_count_ok, it);
}

int predict_item_parse(const item_ctx *c, const json_t *obj, predict_item *it, engine_series *s)
{
    size_t rows = 0, pred_len = 0;
    iso_time hist_last;
    bool hist_last_ok = false;

    memset(it, 0, sizeof *it);
    memset(s, 0, sizeof *s);
    if (parse_series_id(c, obj, it) < 0 || parse_candles(c, obj, it, &rows) < 0 ||
        parse_timestamps(c, obj, rows, it, &hist_last, &hist_last_ok) < 0)
        return -1;
    if (parse_prediction_timestamps(c, obj, it, &hist_last, hist_last_ok, &pred_len) < 0)
        return -1;
    parse_overrides(c, obj, pred_len, it, &s->sampling);
    s->rows = rows;
    s->x = it->x;
    s->x_time = it->x_time;
    s->pred_len = pred_len;
    s->y_time = it->y_time;
    return 0;
}

void predict_item_free(predict_item *it)
{
    for (size_t i = 0; it->pred_timestamps && i < it->pred_len; i++)
        free(it->pred_timestamps[i]);
    free(it->pred_timestamps);
    free(it->series_id);
    free(it->x);
    free(it->x_time);
    free(it->y_time);
    memset(it, 0, sizeof *it);
}
