/*
 * The engine_forecast contract of engine.h, checked on both engines (baseline, and Kronos on the
 * tiny reference model): on ENGINE_OK every out[i] has the asked shape and a mean that is the
 * mean of its samples, never NaN; on any other status, whether the first series, a later one of
 * the batch or the cancel token stops it, every out[i] is left zeroed, so the scheduler's
 * engine_forecast_free over the whole array frees nothing twice (ASan would say so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/baseline/baseline.h"
#include "engine/kronos/kronos_engine.h"

#define TINY KRONOS_GOLDEN_DIR "/tiny"
#define ROWS 32
#define PRED 4
#define SAMPLES 3
#define BATCH 3

typedef struct fixture {
    float x[ROWS * ENGINE_FEATURES];
    engine_time xt[ROWS], yt[PRED];
    engine_series series[BATCH];
} fixture;

/* Consistent five-minute bars (low <= open, close <= high) from 2025-10-14 10:00, a Tuesday. */
static engine_time bar_time(int i)
{
    int minutes = 10 * 60 + 5 * i;
    return (engine_time){minutes % 60, minutes / 60 % 24, 1, 14, 10};
}

static void fixture_init(fixture *f)
{
    float p = 100.0f;
    for (int r = 0; r < ROWS; r++) {
        float *b = f->x + r * ENGINE_FEATURES, c = p * (r % 3 == 0 ? 1.004f : 0.998f);
        b[F_OPEN] = p;
        b[F_CLOSE] = c;
        b[F_HIGH] = fmaxf(p, c) * 1.002f;
        b[F_LOW] = fminf(p, c) * 0.998f;
        b[F_VOLUME] = 10.0f + (float)(r % 7);
        b[F_AMOUNT] = b[F_VOLUME] * c;
        f->xt[r] = bar_time(r);
        p = c;
    }
    for (int i = 0; i < PRED; i++)
        f->yt[i] = bar_time(ROWS + i);
    for (int i = 0; i < BATCH; i++)
        f->series[i] =
            (engine_series){ROWS, f->x,  f->xt,
                            PRED, f->yt, (engine_sampling){1.0, 0, 0.9, SAMPLES, 7u + (unsigned)i},
                            NULL};
}

static engine *open_engine(int kronos)
{
    engine *e = kronos ? kronos_engine_create(TINY "/model", TINY "/tokenizer", 16, 5.0, 1)
                       : baseline_engine_create();
    char err[512] = "";
    assert_non_null(e);
    if (e->ops->load(e, err, sizeof err) != ENGINE_OK)
        fail_msg("load: %s", err);
    return e;
}

static void free_all(engine_forecast *out)
{
    for (int i = 0; i < BATCH; i++)
        engine_forecast_free(&out[i]);
}

static void assert_all_zeroed(const engine_forecast *out)
{
    for (int i = 0; i < BATCH; i++) {
        assert_null(out[i].mean);
        assert_null(out[i].samples);
    }
}

static void check_ok_batch(int kronos)
{
    fixture f;
    fixture_init(&f);
    engine *e = open_engine(kronos);
    engine_forecast out[BATCH] = {0};
    char err[512] = "";
    assert_int_equal(e->ops->predict(e, f.series, BATCH, out, NULL, err, sizeof err), ENGINE_OK);
    for (int i = 0; i < BATCH; i++) {
        assert_int_equal(out[i].pred_len, PRED);
        assert_int_equal(out[i].sample_count, SAMPLES);
        assert_non_null(out[i].mean);
        assert_non_null(out[i].samples);
        for (int j = 0; j < PRED * ENGINE_FEATURES; j++) {
            double sum = 0;
            for (int s = 0; s < SAMPLES; s++) {
                float v = out[i].samples[s * PRED * ENGINE_FEATURES + j];
                assert_false(isnan(v));
                sum += v;
            }
            double mean = sum / SAMPLES;
            assert_false(isnan(out[i].mean[j]));
            assert_true(fabs(out[i].mean[j] - mean) <= 1e-4 * (1 + fabs(mean)));
        }
    }
    /* Differently seeded samplings of one series are not one answer copied. */
    assert_memory_not_equal(out[0].samples, out[1].samples,
                            sizeof(float) * SAMPLES * PRED * ENGINE_FEATURES);
    free_all(out);
    assert_all_zeroed(out);
    free_all(out); /* freeing again, or NULL, is harmless */
    engine_forecast_free(NULL);
    e->ops->destroy(e);
}

/* Series `bad` of the batch is invalid: the series before it were forecast, then dropped. */
static void check_failure_at(int kronos, int bad)
{
    fixture f;
    fixture_init(&f);
    f.series[bad].rows = 0;
    engine *e = open_engine(kronos);
    engine_forecast out[BATCH] = {0};
    char err[512] = "";
    assert_int_equal(e->ops->predict(e, f.series, BATCH, out, NULL, err, sizeof err), ENGINE_ERROR);
    assert_true(err[0] != '\0');
    assert_all_zeroed(out);
    free_all(out);
    e->ops->destroy(e);
}

static void check_cancelled(int kronos)
{
    fixture f;
    fixture_init(&f);
    engine *e = open_engine(kronos);
    engine_forecast out[BATCH] = {0};
    engine_cancel cancel;
    atomic_init(&cancel.cancelled, true);
    char err[512] = "";
    assert_int_equal(e->ops->predict(e, f.series, BATCH, out, &cancel, err, sizeof err),
                     ENGINE_CANCELLED);
    assert_all_zeroed(out);
    free_all(out);
    e->ops->destroy(e);
}

static void baseline_ok_batch(void **state)
{
    (void)state;
    check_ok_batch(0);
}

static void kronos_ok_batch(void **state)
{
    (void)state;
    check_ok_batch(1);
}

static void baseline_failure_leaves_nothing(void **state)
{
    (void)state;
    for (int bad = 0; bad < BATCH; bad++)
        check_failure_at(0, bad);
}

static void kronos_failure_leaves_nothing(void **state)
{
    (void)state;
    for (int bad = 0; bad < BATCH; bad++)
        check_failure_at(1, bad);
}

static void baseline_cancelled_leaves_nothing(void **state)
{
    (void)state;
    check_cancelled(0);
}

static void kronos_cancelled_leaves_nothing(void **state)
{
    (void)state;
    check_cancelled(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(baseline_ok_batch),
        cmocka_unit_test(kronos_ok_batch),
        cmocka_unit_test(baseline_failure_leaves_nothing),
        cmocka_unit_test(kronos_failure_leaves_nothing),
        cmocka_unit_test(baseline_cancelled_leaves_nothing),
        cmocka_unit_test(kronos_cancelled_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
