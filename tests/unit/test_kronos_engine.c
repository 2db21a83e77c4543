/*
 * The engine adapter: load + predict through engine_ops on the golden mini set (greedy answer
 * equals expected.csv), concurrent predicts from several threads agree, cancellation is
 * honoured, seeded sampling is reproducible, versions come from the folder names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <pthread.h>

#include "engine/kronos/kronos_engine.h"
#include "kronos_test_util.h"

#define SET KRONOS_GOLDEN_DIR "/mini"
#define CASE SET "/cases/b_partial"

typedef struct series_data {
    int T, P;
    float *x;
    engine_time *xt, *yt;
    kst_file tr;
} series_data;

static void stamps(const kst_tensor *t, engine_time *out, int n)
{
    const int32_t *v = t->data;
    for (int i = 0; i < n; i++)
        out[i] = (engine_time){v[i * 5], v[i * 5 + 1], v[i * 5 + 2], v[i * 5 + 3], v[i * 5 + 4]};
}

static void load_series_from(series_data *s, const char *trace)
{
    char err[512];
    assert_int_equal(kst_open(&s->tr, trace, err, sizeof(err)), 0);
    const kst_tensor *x = kst_find(&s->tr, "x_raw"), *xs = kst_find(&s->tr, "x_stamp"),
                     *ys = kst_find(&s->tr, "y_stamp");
    assert_true(x && xs && ys);
    s->T = (int)x->shape[0];
    s->P = (int)ys->shape[0];
    s->x = (float *)x->data;
    s->xt = calloc((size_t)s->T, sizeof(engine_time));
    s->yt = calloc((size_t)s->P, sizeof(engine_time));
    stamps(xs, s->xt, s->T);
    stamps(ys, s->yt, s->P);
}

static void load_series(series_data *s)
{
    load_series_from(s, CASE "/trace.safetensors");
}

static void free_series(series_data *s)
{
    free(s->xt);
    free(s->yt);
    kst_close(&s->tr);
}

static engine_series make(const series_data *s, engine_sampling smp)
{
    return (engine_series){(size_t)s->T, s->x, s->xt, (size_t)s->P, s->yt, smp, NULL};
}

static const engine_sampling greedy = {1.0, 1, 1.0, 1, 0};

static engine *open_engine(void)
{
    engine *e = kronos_engine_create(SET "/model", SET "/tokenizer/", 128, 5.0, 2);
    char err[512];
    assert_non_null(e);
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    return e;
}

static void greedy_matches_expected(void **state)
{
    (void)state;
    engine *e = open_engine();
    assert_string_equal(e->model_version, "model");
    assert_string_equal(e->tokenizer_version, "tokenizer");
    assert_string_equal(e->name, "kronos");
    series_data s;
    load_series(&s);
    engine_series se[2] = {make(&s, greedy), make(&s, greedy)};
    se[1].sampling.sample_count = 2;
    engine_forecast out[2];
    char err[512];
    assert_int_equal(e->ops->predict(e, se, 2, out, NULL, err, sizeof(err)), ENGINE_OK);
    float *want = calloc((size_t)s.P * 6, sizeof(float));
    assert_int_equal(kt_read_csv(CASE "/expected.csv", want, s.P, 6), s.P);
    const float *nstd = kst_find(&s.tr, "norm_std")->data;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(out[k].pred_len, (size_t)s.P);
        for (int i = 0; i < s.P * 6; i++)
            assert_true(fabs((double)out[k].mean[i] - want[i]) <=
                        1e-5 * fabs(want[i]) + 5e-5 * (nstd[i % 6] + 1e-5));
        /* greedy samples equal the mean within the final tolerance (they are decoded at
         * different rows of one stacked matrix, so not always to the last bit) */
        for (int j = 0; j < out[k].sample_count; j++)
            for (int i = 0; i < s.P * 6; i++)
                assert_true(
                    fabs((double)out[k].samples[(size_t)j * s.P * 6 + i] - out[k].mean[i]) <=
                    1e-5 * fabs(out[k].mean[i]) + 5e-5 * (nstd[i % 6] + 1e-5));
        engine_forecast_free(&out[k]);
    }
    free(want);
    free_series(&s);
    e->ops->destroy(e);
}

typedef struct job {
    engine *e;
    engine_series se;
    engine_forecast out;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    char err[256];
    j->rc = j->e->ops->predict(j->e, &j->se, 1, &j->out, NULL, err, sizeof(err));
    return NULL;
}

static void concurrent_and_seeded(void **state)
{
    (void)state;
    engine *e = open_engine();
    series_data s;
    load_series(&s);
    engine_sampling smp = {1.0, 0, 0.9, 3, 12345};
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){e, make(&s, smp), {0}, -1};
        if (i == 3)
            jobs[i].se.sampling.seed = 999;
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].rc, ENGINE_OK);
    }
    size_t n = sizeof(float) * s.P * 6 * 3;
    assert_memory_equal(jobs[0].out.samples, jobs[1].out.samples, n);
    assert_memory_equal(jobs[0].out.samples, jobs[2].out.samples, n);
    assert_memory_not_equal(jobs[0].out.samples, jobs[3].out.samples, n);
    /* samples diverge from each other under sampling */
    assert_memory_not_equal(jobs[0].out.samples, jobs[0].out.samples + s.P * 6,
                            sizeof(float) * s.P * 6);
    for (int i = 0; i < 4; i++)
        engine_forecast_free(&jobs[i].out);
    free_series(&s);
    e->ops->destroy(e);
}

static void cancelled_and_invalid(void **state)
{
    (void)state;
    engine *e = open_engine();
    series_data s;
    load_series(&s);
    engine_series se = make(&s, greedy);
    engine_forecast out;
    engine_cancel c;
    atomic_init(&c.cancelled, true);
    char err[256];
    assert_int_equal(e->ops->predict(e, &se, 1, &out, &c, err, sizeof(err)), ENGINE_CANCELLED);
    se.pred_len = 129; /* > max_context */
    engine_time *yt = calloc(129, sizeof(engine_time));
    for (int i = 0; i < 129; i++)
        yt[i] = (engine_time){0, 0, 0, 1, 1};
    se.y_time = yt;
    assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_ERROR);
    se.pred_len = 4;
    yt[1].month = 13;
    assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_ERROR);
    assert_non_null(strstr(err, "out of range"));
    free(yt);
    free_series(&s);
    e->ops->destroy(e);
    engine *bad = kronos_engine_create("/nonexistent/m", "/nonexistent/t", 128, 5.0, 1);
    assert_int_equal(bad->ops->load(bad, err, sizeof(err)), ENGINE_ERROR);
    assert_int_equal(bad->ops->predict(bad, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_ERROR);
    bad->ops->destroy(bad);
}

/* Odd shapes on the tiny set (max_context 16): single bar, pred_len = max_context, input
 * longer than the window, many samples. Outputs are finite and the mean is the samples' mean. */
static void edge_shapes(void **state)
{
    (void)state;
    engine *e = kronos_engine_create(KRONOS_GOLDEN_DIR "/tiny/model",
                                     KRONOS_GOLDEN_DIR "/tiny/tokenizer", 16, 5.0, 2);
    char err[256];
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    const int shapes[][3] = {{1, 1, 1},  {1, 16, 2},  {40, 16, 3},
                             {16, 1, 1}, {15, 2, 16}, {17, 5, 4}};
    float x[40 * 6];
    engine_time tm[40];
    for (int r = 0; r < 40; r++) {
        for (int c = 0; c < 6; c++)
            x[r * 6 + c] = 100.0f + (float)((r * 7 + c * 3) % 11);
        tm[r] = (engine_time){(r * 5) % 60, (r / 12) % 24, r % 7, 1 + r % 28, 1 + r % 12};
    }
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        engine_series se = {(size_t)shapes[k][0],           x,   tm, (size_t)shapes[k][1], tm,
                            {0.8, 0, 0.9, shapes[k][2], 5}, NULL};
        engine_forecast out;
        assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_OK);
        int P = shapes[k][1], S = shapes[k][2];
        for (int i = 0; i < P * 6; i++) {
            double sum = 0;
            for (int s = 0; s < S; s++)
                sum += out.samples[(size_t)s * P * 6 + i];
            assert_true(isfinite(out.mean[i]));
            assert_true(fabs(sum / S - out.mean[i]) <= 1e-3 * (1 + fabs(out.mean[i])));
        }
        engine_forecast_free(&out);
    }
    e->ops->destroy(e);
}

/* Prices of ~1e24 and volumes of ~1e18 overflow float32 squares: the statistics are computed in
 * double instead, so the forecast is the unscaled series' forecast times the same power of two
 * (up to the 1e-5 epsilon of the normalisation and float rounding), never inf or NaN. */
static void large_values_at_scale(void **state)
{
    (void)state;
    engine *e = open_engine();
    series_data s;
    load_series(&s);
    float *big = malloc(sizeof(float) * (size_t)s.T * 6);
    const int shift[6] = {80, 80, 80, 80, 60, 100};
    for (int i = 0; i < s.T * 6; i++)
        big[i] = ldexpf(s.x[i], shift[i % 6]);
    engine_series se[2] = {make(&s, greedy), make(&s, greedy)};
    se[1].x = big;
    engine_forecast out[2];
    char err[512];
    assert_int_equal(e->ops->predict(e, se, 2, out, NULL, err, sizeof(err)), ENGINE_OK);
    const float *nstd = kst_find(&s.tr, "norm_std")->data;
    for (int i = 0; i < s.P * 6; i++) {
        double want = out[0].mean[i], got = ldexp(out[1].mean[i], -shift[i % 6]);
        assert_true(isfinite(out[1].mean[i]));
        if (!(fabs(got - want) <= 1e-4 * fabs(want) + 1e-3 * (nstd[i % 6] + 1e-5)))
            fail_msg("value %d: %g scaled back, %g unscaled", i, got, want);
    }
    engine_forecast_free(&out[0]);
    engine_forecast_free(&out[1]);
    free(big);
    free_series(&s);
    e->ops->destroy(e);
}

/* At float32's maximum: a constant series stays there; a forecast that de-normalises beyond it
 * comes back as inf (the API's 422), never NaN. */
static void float_max_inputs(void **state)
{
    (void)state;
    engine *e = kronos_engine_create(KRONOS_GOLDEN_DIR "/tiny/model",
                                     KRONOS_GOLDEN_DIR "/tiny/tokenizer", 16, 5.0, 1);
    char err[256];
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    assert_true(e->price_min > 0 && e->price_max == FLT_MAX && e->quantity_max == FLT_MAX);
    enum { T = 20, P = 4, S = 16 };
    float x[T * 6];
    engine_time tm[T];
    for (int r = 0; r < T; r++) {
        for (int c = 0; c < 4; c++)
            x[r * 6 + c] = FLT_MAX;
        x[r * 6 + 4] = r % 10 == 3 ? 0.0f : FLT_MAX; /* volume: mean 0.9 max, std 0.3 max */
        x[r * 6 + 5] = 1.0f;
        tm[r] = (engine_time){(r * 5) % 60, 10, 2, 14, 10};
    }
    engine_series se = {T, x, tm, P, tm, {2.0, 0, 0.9, S, 7}, NULL};
    engine_forecast out;
    assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_OK);
    int infs = 0;
    for (int i = 0; i < S * P * 6; i++) {
        float v = out.samples[i];
        assert_false(isnan(v));
        if (i % 6 < 4)
            assert_true(v == FLT_MAX);
        infs += isinf(v) != 0;
    }
    assert_true(infs > 0);
    engine_forecast_free(&out);
    e->ops->destroy(e);
}

static inline long rss_kb(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(fp);
    }
    return resident * 4;
}

/* Per-call buffers are bounded: RSS after 100 forecasts equals RSS after 10 (within noise). */
static void memory_does_not_grow(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan's quarantine keeps freed memory resident on purpose */
#else
    engine *e = open_engine();
    series_data s; /* a case whose window never slides keeps the 100 forecasts cheap */
    load_series_from(&s, SET "/cases/a_noslide/trace.safetensors");
    engine_sampling smp = {1.0, 0, 0.9, 2, 1};
    engine_series se = make(&s, smp);
    char err[256];
    long after10 = 0;
    for (int i = 0; i < 100; i++) {
        engine_forecast out;
        se.sampling.seed = (uint64_t)i;
        assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_OK);
        engine_forecast_free(&out);
        if (i == 9)
            after10 = rss_kb();
    }
    long after100 = rss_kb();
    fprintf(stderr, "RSS after 10: %ld kB, after 100: %ld kB\n", after10, after100);
    assert_true(after100 - after10 < 1024);
    free_series(&s);
    e->ops->destroy(e);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_matches_expected), cmocka_unit_test(concurrent_and_seeded),
        cmocka_unit_test(cancelled_and_invalid),   cmocka_unit_test(edge_shapes),
        cmocka_unit_test(memory_does_not_grow),    cmocka_unit_test(large_values_at_scale),
        cmocka_unit_test(float_max_inputs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
