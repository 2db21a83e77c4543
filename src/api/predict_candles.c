#include "api/predict_item.h"
#include "api/predict_lax.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Candles: prices, optional volume/amount and the SPEC §1 filling rules. */

#define FLOAT32_RANGE "within float32 range"

/* Within [lo, hi] of the serving engine (a bound of 0 is float32's own, checked already),
 * judged on the float32 the engine receives, against bounds cast the same way. */
static bool in_engine_range(const item_ctx *c, const json_t *v, float f, double lo, double hi,
                            size_t i, const char *name)
{
    char constraint[64];
    predict_issue is;
    if (lo > 0 && f < (float)lo) {
        snprintf(constraint, sizeof constraint, ">= %g (the engine's range)", lo);
        is = predict_issue_bound("greater_than_equal", lo, constraint);
    } else if (hi > 0 && f > (float)hi) {
        snprintf(constraint, sizeof constraint, "<= %g (the engine's range)", hi);
        is = predict_issue_bound("less_than_equal", hi, constraint);
    } else {
        return true;
    }
    predict_viol(c, is, v, "candles[%zu].%s", i, name);
    return false;
}

/* A price: a finite number > 0 that survives the cast to float32, in the engine's range. */
static bool price(const item_ctx *c, const json_t *cd, size_t i, const char *name, double *out)
{
    const json_t *v = json_object_get(cd, name);
    if (predict_absent(v)) {
        predict_viol(c, predict_issue_missing(), NULL, "candles[%zu].%s", i, name);
        return false;
    }
    double d;
    const char *why;
    if (!predict_lax_float(v, &d, &why)) {
        predict_viol(c, predict_issue_type(why), v, "candles[%zu].%s", i, name);
        return false;
    }
    if (!(d > 0)) {
        predict_viol(c, predict_issue_bound("greater_than", 0, NULL), v, "candles[%zu].%s", i,
                     name);
        return false;
    }
    float f = (float)d;
    if (!(f > 0) || isinf(f)) {
        predict_viol(c, predict_issue_value(FLOAT32_RANGE), v, "candles[%zu].%s", i, name);
        return false;
    }
    if (!in_engine_range(c, v, f, c->lim->price_min, c->lim->price_max, i, name))
        return false;
    *out = d;
    return true;
}

/* volume/amount: optional; when given a finite number >= 0 within float32 range.
 * Returns 1 given and valid, 0 absent, -1 invalid. */
static int quantity(const item_ctx *c, const json_t *cd, size_t i, const char *name, double *out)
{
    const json_t *v = json_object_get(cd, name);
    if (predict_absent(v))
        return 0;
    double d;
    const char *why;
    if (!predict_lax_float(v, &d, &why)) {
        predict_viol(c, predict_issue_type(why), v, "candles[%zu].%s", i, name);
        return -1;
    }
    if (!(d >= 0)) {
        predict_viol(c, predict_issue_bound("greater_than_equal", 0, NULL), v, "candles[%zu].%s", i,
                     name);
        return -1;
    }
    if (isinf((float)d)) {
        predict_viol(c, predict_issue_value(FLOAT32_RANGE), v, "candles[%zu].%s", i, name);
        return -1;
    }
    if (!in_engine_range(c, v, (float)d, 0, c->lim->quantity_max, i, name))
        return -1;
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
                predict_viol(c, predict_issue_value("required when other candles have volume"),
                             NULL, "candles[%zu].volume", i);
    /* Without any volume the model's convention zeroes amount too, whatever was sent. */
    if (nvol > 0 && namt > 0 && namt < rows)
        for (size_t i = 0; i < rows; i++)
            if (!(ex[i].has & HAS_AMOUNT))
                predict_viol(c, predict_issue_value("required when other candles have amount"),
                             NULL, "candles[%zu].amount", i);
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
            double top = c->lim->quantity_max > 0 ? c->lim->quantity_max : FLT_MAX;
            if (isinf((float)amount) || (float)amount > (float)top) {
                char constraint[80];
                snprintf(constraint, sizeof constraint,
                         "volume * mean(open, high, low, close) <= %g", top);
                predict_viol(c, predict_issue_value(constraint), NULL, "candles[%zu].volume", i);
            }
            r[F_AMOUNT] = (float)amount;
        }
    }
}

/* *rows_out gets the number of candles (0 when the array itself is unusable). Returns 0, or -1
 * when memory ran out. */
int predict_parse_candles(const item_ctx *c, const json_t *obj, predict_item *it, size_t *rows_out)
{
    *rows_out = 0;
    const json_t *arr = predict_array_field(c, obj, "candles", 1, c->lim->max_candles);
    if (!arr)
        return 0;
    size_t rows = json_array_size(arr);
    it->x = calloc(rows * ENGINE_FEATURES, sizeof *it->x);
    candle_extra *ex = calloc(rows, sizeof *ex);
    if (!it->x || !ex) {
        free(ex);
        return -1;
    }
    for (size_t i = 0; i < rows; i++) {
        const json_t *cd = json_array_get(arr, i);
        if (!json_is_object(cd)) {
            predict_viol(c, predict_issue_model("Candle"), cd, "candles[%zu]", i);
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
                predict_viol(c, predict_issue_value("low <= min(open, close)"),
                             json_object_get(cd, "low"), "candles[%zu].low", i);
            if (!(h >= fmax(o, cl)))
                predict_viol(c, predict_issue_value("high >= max(open, close)"),
                             json_object_get(cd, "high"), "candles[%zu].high", i);
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
