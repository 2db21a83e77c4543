#include "api/predict_response.h"

#include <math.h>
#include <stdio.h>

/* Forecasts beyond float32: the engine returns inf where the de-normalised value overflows. */

static const char *const COLUMN[ENGINE_FEATURES] = {"open",  "high",   "low",
                                                    "close", "volume", "amount"};

static bool column_has_inf(const float *v, size_t bars, int f)
{
    for (size_t t = 0; t < bars; t++)
        if (isinf(v[t * ENGINE_FEATURES + f]))
            return true;
    return false;
}

static size_t largest_row(const engine_series *s, int f)
{
    size_t best = 0;
    for (size_t r = 1; r < s->rows; r++)
        if (s->x[r * ENGINE_FEATURES + f] > s->x[best * ENGINE_FEATURES + f])
            best = r;
    return best;
}

bool predict_forecast_unrepresentable(const predict_request *req, const engine_forecast *fc,
                                      predict_error *err)
{
    for (size_t i = 0; i < req->n; i++) {
        const predict_item *it = &req->items[i];
        const engine_series *s = &req->series[i];
        const engine_forecast *f = &fc[i];
        if (!f->mean)
            continue;
        for (int col = 0; col < ENGINE_FEATURES; col++) {
            bool inf = column_has_inf(f->mean, f->pred_len, col);
            if (it->n_quantiles > 0 && f->samples)
                inf = inf || column_has_inf(f->samples, f->pred_len * (size_t)f->sample_count, col);
            if (!inf)
                continue;
            /* A derived amount follows from the volume the client sent. */
            int named = col == F_AMOUNT && !it->amount_given ? F_VOLUME : col;
            size_t row = largest_row(s, named);
            char field[96], constraint[96];
            if (req->batch)
                snprintf(field, sizeof field, "items[%zu].candles[%zu].%s", i, row, COLUMN[named]);
            else
                snprintf(field, sizeof field, "candles[%zu].%s", row, COLUMN[named]);
            snprintf(constraint, sizeof constraint,
                     "the %s forecast at this scale exceeds the float32 range", COLUMN[col]);
            json_t *value = json_real((double)s->x[row * ENGINE_FEATURES + named]);
            predict_issue is = predict_issue_value(constraint);
            predict_error_add(err, field, &is, value);
            json_decref(value);
        }
    }
    predict_error_finish(err);
    return err->status != 0;
}
