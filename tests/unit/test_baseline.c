#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/baseline/baseline.h"
#include "engine/baseline/model.h"
#include "util/rng.h"

/* A history built from closes: open = previous close, wicks of `wick` (relative) on both sides,
 * volume v, amount = volume * close when with_amount. */
typedef struct history {
    size_t rows;
    float *x;
} history;

static history make_history(const double *closes, size_t rows, double wick, double v,
                            bool with_amount)
{
    history h = {rows, calloc(rows * ENGINE_FEATURES, sizeof(float))};
    for (size_t i = 0; i < rows; i++) {
        float *b = h.x + i * ENGINE_FEATURES;
        double o = i ? closes[i - 1] : closes[0], c = closes[i];
        b[F_OPEN] = (float)o;
        b[F_CLOSE] = (float)c;
        b[F_HIGH] = (float)(fmax(o, c) * (1 + wick));
        b[F_LOW] = (float)(fmin(o, c) * (1 - wick));
        b[F_VOLUME] = (float)v;
        b[F_AMOUNT] = with_amount ? (float)(v * c) : 0.0f;
    }
    return h;
}

/* closes[i] = start * exp(drift * i + noise * N(0,1)) with a fixed noise stream */
static double *trend_closes(size_t rows, double start, double drift, double noise, uint64_t seed)
{
    double *c = malloc(rows * sizeof *c);
    rng r;
    rng_seed(&r, seed);
    double lp = log(start);
    for (size_t i = 0; i < rows; i++) {
        c[i] = exp(lp);
        lp += drift + noise * rng_gaussian(&r);
    }
    return c;
}

static engine_series series_of(const history *h, size_t pred_len, int samples, uint64_t seed)
{
    engine_series s = {.rows = h->rows, .x = h->x, .pred_len = pred_len};
    s.sampling =
        (engine_sampling){.temperature = 1.0, .top_p = 0.9, .sample_count = samples, .seed = seed};
    return s;
}

static int predict1(engine *e, const engine_series *s, engine_forecast *out)
{
    char err[128] = "";
    return e->ops->predict(e, s, 1, out, NULL, err, sizeof err);
}

static void assert_bar_consistent(const float *b)
{
    for (int f = 0; f < ENGINE_FEATURES; f++)
        assert_true(isfinite(b[f]));
    assert_true(b[F_LOW] > 0);
    assert_true(b[F_LOW] <= fminf(b[F_OPEN], b[F_CLOSE]));
    assert_true(b[F_HIGH] >= fmaxf(b[F_OPEN], b[F_CLOSE]));
    assert_true(b[F_VOLUME] >= 0);
    assert_true(b[F_AMOUNT] >= 0);
}

static void identity_and_shapes(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    assert_string_equal(e->name, "baseline");
    assert_string_equal(e->model_version, "baseline-gbm");
    assert_string_equal(e->tokenizer_version, "none");
    char err[64];
    assert_int_equal(e->ops->load(e, err, sizeof err), ENGINE_OK);

    double *c1 = trend_closes(40, 100, 0.001, 0.01, 1), *c2 = trend_closes(7, 5, 0, 0.02, 2);
    history h1 = make_history(c1, 40, 0.002, 10, true), h2 = make_history(c2, 7, 0.01, 3, false);
    engine_series s[2] = {series_of(&h1, 12, 4, 1), series_of(&h2, 5, 1, 9)};
    engine_forecast out[2];
    assert_int_equal(e->ops->predict(e, s, 2, out, NULL, err, sizeof err), ENGINE_OK);
    assert_int_equal(out[0].pred_len, 12);
    assert_int_equal(out[0].sample_count, 4);
    assert_int_equal(out[1].pred_len, 5);
    assert_int_equal(out[1].sample_count, 1);
    assert_non_null(out[0].mean);
    assert_non_null(out[1].samples);
    /* with one sample the mean is that sample */
    assert_memory_equal(out[1].mean, out[1].samples, 5 * ENGINE_FEATURES * sizeof(float));
    engine_forecast_free(&out[0]);
    engine_forecast_free(&out[1]);
    free(c1);
    free(c2);
    free(h1.x);
    free(h2.x);
    e->ops->destroy(e);
}

static void same_seed_same_answer_other_seed_differs(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double *c = trend_closes(200, 50, 0.0005, 0.015, 3);
    history h = make_history(c, 200, 0.003, 100, true);
    engine_series s = series_of(&h, 64, 8, 42);
    engine_forecast a, b, d;
    assert_int_equal(predict1(e, &s, &a), ENGINE_OK);
    assert_int_equal(predict1(e, &s, &b), ENGINE_OK);
    size_t bytes = 8 * 64 * ENGINE_FEATURES * sizeof(float);
    assert_memory_equal(a.samples, b.samples, bytes);
    assert_memory_equal(a.mean, b.mean, 64 * ENGINE_FEATURES * sizeof(float));
    s.sampling.seed = 43;
    assert_int_equal(predict1(e, &s, &d), ENGINE_OK);
    assert_memory_not_equal(a.samples, d.samples, bytes);
    /* samples within one forecast differ from each other */
    assert_memory_not_equal(a.samples, a.samples + 64 * ENGINE_FEATURES,
                            64 * ENGINE_FEATURES * sizeof(float));
    engine_forecast_free(&a);
    engine_forecast_free(&b);
    engine_forecast_free(&d);
    free(c);
    free(h.x);
    e->ops->destroy(e);
}

static void every_bar_of_every_sample_is_consistent(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double *c = trend_closes(300, 20, -0.0002, 0.03, 4);
    history h = make_history(c, 300, 0.01, 7, true);
    engine_series s = series_of(&h, 128, 16, 5);
    s.sampling.temperature = 2.5;
    engine_forecast f;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    float last_close = h.x[299 * ENGINE_FEATURES + F_CLOSE];
    for (int k = 0; k < 16; k++) {
        const float *path = f.samples + (size_t)k * 128 * ENGINE_FEATURES;
        for (size_t t = 0; t < 128; t++) {
            const float *b = path + t * ENGINE_FEATURES;
            assert_bar_consistent(b);
            float prev = t ? path[(t - 1) * ENGINE_FEATURES + F_CLOSE] : last_close;
            assert_true(b[F_OPEN] == prev);
            double mean_ohlc = ((double)b[F_OPEN] + b[F_HIGH] + b[F_LOW] + b[F_CLOSE]) / 4;
            assert_true(fabs(b[F_AMOUNT] - b[F_VOLUME] * mean_ohlc) <= 1e-5 * b[F_AMOUNT]);
        }
    }
    for (size_t t = 0; t < 128; t++)
        assert_bar_consistent(f.mean + t * ENGINE_FEATURES);
    engine_forecast_free(&f);
    free(c);
    free(h.x);
    e->ops->destroy(e);
}

static void strong_trend_is_followed(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    for (int dir = -1; dir <= 1; dir += 2) {
        double *c = trend_closes(400, 100, dir * 0.01, 0.002, 6);
        history h = make_history(c, 400, 0.001, 5, true);
        engine_series s = series_of(&h, 50, 16, 7);
        engine_forecast f;
        assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
        double last = c[399];
        double end = f.mean[49 * ENGINE_FEATURES + F_CLOSE];
        /* 50 bars of +-1 %: about x1.6 or x0.6; the drift shrinkage takes ~2.5 % of it */
        if (dir > 0)
            assert_true(end > last * 1.5 && end < last * 1.75);
        else
            assert_true(end < last * 0.65 && end > last * 0.55);
        /* monotone mean path */
        for (size_t t = 1; t < 50; t++) {
            double a = f.mean[(t - 1) * ENGINE_FEATURES + F_CLOSE],
                   b = f.mean[t * ENGINE_FEATURES + F_CLOSE];
            assert_true(dir > 0 ? b > a : b < a);
        }
        engine_forecast_free(&f);
        free(c);
        free(h.x);
    }
    e->ops->destroy(e);
}

static void zero_volatility_gives_flat_forecast(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double closes[30];
    for (int i = 0; i < 30; i++)
        closes[i] = 42.5;
    history h = make_history(closes, 30, 0, 3, true);
    engine_series s = series_of(&h, 20, 4, 1);
    engine_forecast f;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    for (size_t k = 0; k < 4 * 20; k++) {
        const float *b = f.samples + k * ENGINE_FEATURES;
        assert_true(b[F_OPEN] == 42.5f && b[F_HIGH] == 42.5f && b[F_LOW] == 42.5f &&
                    b[F_CLOSE] == 42.5f);
        assert_true(b[F_VOLUME] == 3.0f);
        assert_true(fabsf(b[F_AMOUNT] - 3.0f * 42.5f) < 1e-3f);
    }
    engine_forecast_free(&f);
    free(h.x);
    e->ops->destroy(e);
}

static void one_and_two_candles_are_handled(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    /* one candle with a range: Parkinson volatility, so paths spread */
    float one[ENGINE_FEATURES] = {10, 11, 9, 10.5f, 0, 0};
    engine_series s = {.rows = 1, .x = one, .pred_len = 10};
    s.sampling = (engine_sampling){.temperature = 1, .top_p = 1, .sample_count = 3, .seed = 8};
    engine_forecast f;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    for (size_t k = 0; k < 30; k++) {
        const float *b = f.samples + k * ENGINE_FEATURES;
        assert_bar_consistent(b);
        assert_true(b[F_VOLUME] == 0 && b[F_AMOUNT] == 0); /* volume-less input */
    }
    assert_true(f.samples[9 * ENGINE_FEATURES + F_CLOSE] != 10.5f);
    engine_forecast_free(&f);

    /* one flat candle: nothing to go on, the forecast stays flat */
    float flat[ENGINE_FEATURES] = {3, 3, 3, 3, 1, 3};
    s.x = flat;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    for (size_t k = 0; k < 30; k++)
        assert_true(f.samples[k * ENGINE_FEATURES + F_CLOSE] == 3.0f);
    engine_forecast_free(&f);

    float two[2 * ENGINE_FEATURES] = {10, 10.2f, 9.9f, 10, 5, 50, 10, 10.6f, 9.9f, 10.5f, 5, 51};
    s.x = two;
    s.rows = 2;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    for (size_t k = 0; k < 30; k++)
        assert_bar_consistent(f.samples + k * ENGINE_FEATURES);
    engine_forecast_free(&f);
    e->ops->destroy(e);
}

static double log_return_std(const float *samples, int nsamples, size_t pred_len, double first)
{
    double sum = 0, sum2 = 0;
    size_t n = 0;
    for (int k = 0; k < nsamples; k++) {
        double prev = first;
        for (size_t t = 0; t < pred_len; t++) {
            double c = samples[((size_t)k * pred_len + t) * ENGINE_FEATURES + F_CLOSE];
            double r = log(c / prev);
            sum += r;
            sum2 += r * r;
            n++;
            prev = c;
        }
    }
    double m = sum / (double)n;
    return sqrt(sum2 / (double)n - m * m);
}

static void volatility_matches_history_and_scales_with_temperature(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double *c = trend_closes(512, 30, 0, 0.02, 11);
    history h = make_history(c, 512, 0.004, 1, false);
    engine_series s = series_of(&h, 500, 16, 12);
    engine_forecast f;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    double sd1 = log_return_std(f.samples, 16, 500, c[511]);
    assert_true(sd1 > 0.017 && sd1 < 0.023);
    for (size_t k = 0; k < 16 * 500; k++)
        assert_true(f.samples[k * ENGINE_FEATURES + F_AMOUNT] == 0); /* history had none */
    engine_forecast_free(&f);
    s.sampling.temperature = 0.5;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    double sd_half = log_return_std(f.samples, 16, 500, c[511]);
    assert_true(fabs(sd_half / sd1 - 0.5) < 0.05);
    engine_forecast_free(&f);
    free(c);
    free(h.x);
    e->ops->destroy(e);
}

static void window_is_the_last_max_context_rows(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    /* 600 rows rising 2 % a bar, then 100 flat rows */
    double closes[700];
    for (int i = 0; i < 700; i++)
        closes[i] = i < 600 ? exp(0.02 * i) : exp(0.02 * 599);
    history h = make_history(closes, 700, 0, 1, true);
    engine_series s = series_of(&h, 10, 2, 1);
    engine_forecast f;
    e->max_context = 100;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    assert_true(f.mean[9 * ENGINE_FEATURES + F_CLOSE] == (float)closes[699]);
    engine_forecast_free(&f);
    e->max_context = 0; /* everything: the rise dominates */
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    assert_true(f.mean[9 * ENGINE_FEATURES + F_CLOSE] > (float)closes[699] * 1.1f);
    engine_forecast_free(&f);
    free(h.x);
    e->ops->destroy(e);
}

static void extreme_prices_stay_finite(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double closes[4] = {1e-20, 1e20, 1e-20, 1e20};
    history h = make_history(closes, 4, 0.5, 3e38, true);
    engine_series s = series_of(&h, 200, 4, 2);
    s.sampling.temperature = 5;
    engine_forecast f;
    assert_int_equal(predict1(e, &s, &f), ENGINE_OK);
    size_t inf_amounts = 0;
    for (size_t k = 0; k < 4 * 200; k++) {
        /* volume x price beyond float32: +inf, which the API refuses (422), not FLT_MAX */
        float *b = f.samples + k * ENGINE_FEATURES;
        assert_true(b[F_AMOUNT] > 0);
        inf_amounts += isinf(b[F_AMOUNT]) != 0;
        b[F_AMOUNT] = 0;
        assert_bar_consistent(b);
        assert_true(b[F_LOW] >= (float)BASELINE_PRICE_MIN &&
                    b[F_HIGH] <= (float)BASELINE_PRICE_MAX);
    }
    assert_true(inf_amounts > 0);
    engine_forecast_free(&f);
    free(h.x);
    e->ops->destroy(e);
}

static void declares_the_prices_it_represents(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    assert_true(e->price_min == BASELINE_PRICE_MIN && e->price_max == BASELINE_PRICE_MAX);
    assert_true(e->quantity_max == FLT_MAX);
    e->ops->destroy(e);
}

static void invalid_prices_are_an_error_not_a_crash(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    float bad[2 * ENGINE_FEATURES] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0};
    engine_series s = {.rows = 2, .x = bad, .pred_len = 3};
    s.sampling = (engine_sampling){.temperature = 1, .top_p = 1, .sample_count = 1};
    engine_forecast f = {0};
    char err[128] = "";
    assert_int_equal(e->ops->predict(e, &s, 1, &f, NULL, err, sizeof err), ENGINE_ERROR);
    assert_non_null(strstr(err, "candle 1"));
    assert_null(f.mean);
    assert_null(f.samples);
    e->ops->destroy(e);
}

static void cancellation_is_honoured(void **state)
{
    (void)state;
    engine *e = baseline_engine_create();
    double *c = trend_closes(100, 10, 0, 0.01, 1);
    history h = make_history(c, 100, 0.01, 1, true);
    engine_series s[2] = {series_of(&h, 50, 4, 1), series_of(&h, 50, 4, 2)};
    engine_forecast out[2];
    engine_cancel cancel;
    atomic_init(&cancel.cancelled, true);
    char err[64];
    assert_int_equal(e->ops->predict(e, s, 2, out, &cancel, err, sizeof err), ENGINE_CANCELLED);
    assert_null(out[0].mean);
    assert_null(out[1].samples);
    atomic_store(&cancel.cancelled, false);
    assert_int_equal(e->ops->predict(e, s, 2, out, &cancel, err, sizeof err), ENGINE_OK);
    engine_forecast_free(&out[0]);
    engine_forecast_free(&out[1]);
    free(c);
    free(h.x);
    e->ops->destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_and_shapes),
        cmocka_unit_test(same_seed_same_answer_other_seed_differs),
        cmocka_unit_test(every_bar_of_every_sample_is_consistent),
        cmocka_unit_test(strong_trend_is_followed),
        cmocka_unit_test(zero_volatility_gives_flat_forecast),
        cmocka_unit_test(one_and_two_candles_are_handled),
        cmocka_unit_test(volatility_matches_history_and_scales_with_temperature),
        cmocka_unit_test(window_is_the_last_max_context_rows),
        cmocka_unit_test(extreme_prices_stay_finite),
        cmocka_unit_test(declares_the_prices_it_represents),
        cmocka_unit_test(invalid_prices_are_an_error_not_a_crash),
        cmocka_unit_test(cancellation_is_honoured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
