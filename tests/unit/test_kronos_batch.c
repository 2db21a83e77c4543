/*
 * Forecasts batched together equal each forecast run alone (KRONOS_GOLDEN_DIR/mini weights):
 * series of different lengths, forecast lengths, sample counts and sampling parameters in one
 * batch give exactly the tokens they give alone and values within the final tolerance, also when
 * they join mid-flight, when another one is cancelled mid-batch, when passes are capped to one
 * window, and (through the engine) when the memory budget admits the series in waves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "engine/kronos/batch.h"
#include "engine/kronos/kronos_engine.h"
#include "engine/kronos/kronos_jobs.h"
#include "kronos_test_util.h"

#define SET KRONOS_GOLDEN_DIR "/mini"
#define M 128

/* One input: a golden case's bars and stamps, forecast with its own settings. */
typedef struct input {
    int T, P, S, top_k;
    double temperature, top_p;
    uint64_t seed;
    kst_file tr;
    const float *x;
    kr_stamp *xs, *ys;
    engine_time *xt, *yt;
} input;

typedef struct output {
    float *mean;
    int *gen;
} output;

static kr_tokenizer tok;
static kr_model model;

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (kr_tokenizer_load(&tok, SET "/tokenizer", err, sizeof(err)) ||
        kr_model_load(&model, SET "/model", err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kr_model_free(&model);
    kr_tokenizer_free(&tok);
    return 0;
}

/* case: a_noslide (64 -> 32), b_partial (100 -> 40, slides), c_slide (150 -> 10); P may be
 * shortened. */
static void input_open(input *in, const char *c, int P, int S, int top_k, double temperature,
                       double top_p, uint64_t seed)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), SET "/cases/%s/trace.safetensors", c);
    assert_int_equal(kst_open(&in->tr, path, err, sizeof(err)), 0);
    const kst_tensor *x = kst_find(&in->tr, "x_raw"), *xs = kst_find(&in->tr, "x_stamp"),
                     *ys = kst_find(&in->tr, "y_stamp");
    assert_true(x && xs && ys);
    in->T = (int)x->shape[0];
    in->P = P > 0 && P < (int)ys->shape[0] ? P : (int)ys->shape[0];
    in->S = S;
    in->top_k = top_k;
    in->temperature = temperature;
    in->top_p = top_p;
    in->seed = seed;
    in->x = x->data;
    in->xs = calloc((size_t)in->T, sizeof(kr_stamp));
    in->ys = calloc((size_t)in->P, sizeof(kr_stamp));
    in->xt = calloc((size_t)in->T, sizeof(engine_time));
    in->yt = calloc((size_t)in->P, sizeof(engine_time));
    const int32_t *a = xs->data, *b = ys->data;
    for (int r = 0; r < in->T + in->P; r++) {
        const int32_t *v = r < in->T ? a + r * 5 : b + (r - in->T) * 5;
        kr_stamp *st = r < in->T ? &in->xs[r] : &in->ys[r - in->T];
        engine_time *et = r < in->T ? &in->xt[r] : &in->yt[r - in->T];
        for (int k = 0; k < KR_TIME_N; k++)
            st->f[k] = v[k];
        *et = (engine_time){v[0], v[1], v[2], v[3], v[4]};
    }
}

static void input_close(input *in)
{
    free(in->xs);
    free(in->ys);
    free(in->xt);
    free(in->yt);
    kst_close(&in->tr);
}

static kr_request request_of(const input *in, int threads, int max_rows)
{
    return (kr_request){.T = in->T,
                        .x = in->x,
                        .x_stamp = in->xs,
                        .P = in->P,
                        .y_stamp = in->ys,
                        .temperature = in->temperature,
                        .top_k = in->top_k,
                        .top_p = in->top_p,
                        .S = in->S,
                        .seed = in->seed,
                        .threads = threads,
                        .max_rows = max_rows};
}

static void output_alloc(output *o, const input *in)
{
    o->mean = calloc((size_t)in->P * 6, sizeof(float));
    o->gen = calloc((size_t)in->S * in->P * 2, sizeof(int));
}

static void output_free(output *o)
{
    free(o->mean);
    free(o->gen);
}

static void run_alone(const input *in, output *o)
{
    char err[256];
    kr_request q = request_of(in, 1, 0);
    kr_result r = {.mean = o->mean, .gen = o->gen};
    if (kr_forecast(&tok, &model, M, 5.0, &q, &r, NULL, NULL, NULL, err, sizeof(err)))
        fail_msg("%s", err);
}

/* Tokens exact, values within the manifest's final tolerance (std taken from the trace). */
static void same(const input *in, const output *got, const output *want, const char *what)
{
    const float *nstd = kst_find(&in->tr, "norm_std")->data;
    for (int i = 0; i < in->S * in->P * 2; i++)
        if (got->gen[i] != want->gen[i])
            fail_msg("%s: token %d differs: %d vs %d", what, i, got->gen[i], want->gen[i]);
    for (int i = 0; i < in->P * 6; i++)
        if (!(fabs((double)got->mean[i] - want->mean[i]) <=
              1e-5 * fabs(want->mean[i]) + 5e-5 * (nstd[i % 6] + 1e-5)))
            fail_msg("%s: value %d: %.9g vs %.9g", what, i, got->mean[i], want->mean[i]);
}

enum { N_IN = 6 };

static void open_inputs(input *in)
{
    input_open(&in[0], "a_noslide", 0, 1, 1, 1.0, 1.0, 1);  /* greedy, grows only */
    input_open(&in[1], "b_partial", 0, 3, 0, 1.0, 0.9, 2);  /* top-p, slides */
    input_open(&in[2], "c_slide", 0, 2, 5, 0.7, 1.0, 3);    /* top-k, slides from the start */
    input_open(&in[3], "b_partial", 17, 1, 1, 1.0, 1.0, 4); /* greedy, shorter forecast */
    input_open(&in[4], "a_noslide", 5, 4, 0, 1.3, 0.95, 5); /* hot sampling, short */
    input_open(&in[5], "c_slide", 0, 1, 0, 1.0, 0.5, 6);    /* narrow top-p, slides */
}

/*
 * All inputs in one batch; item k joins after join_at[k] steps; cancel (>= 0) is cancelled
 * after cancel_at steps and must end cancelled while the others are unaffected.
 */
static void run_batched(const input *in, const output *alone, const int *join_at, int cancel,
                        int cancel_at, int threads, int max_rows)
{
    kr_batch *b = kr_batch_create(&tok, &model, M, 5.0, threads, max_rows);
    assert_non_null(b);
    kr_item *items[N_IN] = {0};
    output got[N_IN];
    kr_request q[N_IN];
    engine_cancel tokens[N_IN];
    int steps = 0, added = 0, max_rows_seen = 0;
    char err[256];
    for (int k = 0; k < N_IN; k++) {
        output_alloc(&got[k], &in[k]);
        q[k] = request_of(&in[k], threads, max_rows);
        atomic_init(&tokens[k].cancelled, false);
    }
    for (;;) {
        for (int k = 0; k < N_IN; k++)
            if (!items[k] && join_at[k] <= steps) {
                kr_result r = {.mean = got[k].mean, .gen = got[k].gen};
                items[k] = kr_batch_add(b, &q[k], &r, &tokens[k], NULL, NULL, err, sizeof(err));
                assert_non_null(items[k]);
                added++;
            }
        if (cancel >= 0 && steps == cancel_at)
            atomic_store(&tokens[cancel].cancelled, true);
        int running = kr_batch_step(b);
        steps++;
        max_rows_seen =
            kr_batch_last_rows(b) > max_rows_seen ? kr_batch_last_rows(b) : max_rows_seen;
        if (running == 0 && added == N_IN)
            break;
        assert_true(steps < 10000);
    }
    for (int k = 0; k < N_IN; k++) {
        char what[64];
        snprintf(what, sizeof(what), "item %d", k);
        if (k == cancel)
            assert_int_equal(kr_item_status(items[k]), ENGINE_CANCELLED);
        else {
            assert_int_equal(kr_item_status(items[k]), ENGINE_OK);
            same(&in[k], &got[k], &alone[k], what);
        }
        kr_batch_remove(b, items[k]);
        output_free(&got[k]);
    }
    /* rows were stacked across items, within the cap (at least one window) */
    assert_true(max_rows_seen > 0);
    if (max_rows > 0)
        assert_true(max_rows_seen <= (max_rows > M ? max_rows : M));
    kr_batch_destroy(b);
}

static void batched_equals_alone(void **state)
{
    (void)state;
    input in[N_IN];
    output alone[N_IN];
    open_inputs(in);
    for (int k = 0; k < N_IN; k++) {
        output_alloc(&alone[k], &in[k]);
        run_alone(&in[k], &alone[k]);
    }
    const int together[N_IN] = {0, 0, 0, 0, 0, 0};
    const int staggered[N_IN] = {0, 3, 3, 11, 25, 40}; /* joining mid-flight */
    run_batched(in, alone, together, -1, 0, 1, 0);
    run_batched(in, alone, together, -1, 0, 2, 0);
    run_batched(in, alone, staggered, -1, 0, 2, 0);
    run_batched(in, alone, staggered, -1, 0, 1, 1);   /* passes of one window: items wait */
    run_batched(in, alone, together, 1, 7, 2, 0);     /* one cancelled mid-batch */
    run_batched(in, alone, staggered, 1, 30, 1, 200); /* cancelled late, passes capped */
    for (int k = 0; k < N_IN; k++) {
        output_free(&alone[k]);
        input_close(&in[k]);
    }
}

/* The engine's job layer: a budget that holds one series at a time admits them in waves, in
 * order; the answers equal the series predicted one by one. */
static void engine_batches_in_waves(void **state)
{
    (void)state;
    input in[N_IN];
    open_inputs(in);
    engine_series se[N_IN];
    for (int k = 0; k < N_IN; k++)
        se[k] = (engine_series){
            .rows = (size_t)in[k].T,
            .x = in[k].x,
            .x_time = in[k].xt,
            .pred_len = (size_t)in[k].P,
            .y_time = in[k].yt,
            .sampling = {in[k].temperature, in[k].top_k, in[k].top_p, in[k].S, in[k].seed}};
    engine *e = kronos_engine_create(SET "/model", SET "/tokenizer", M, 5.0, 2);
    char err[512];
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    engine_forecast one[N_IN], all[N_IN];
    for (int k = 0; k < N_IN; k++) {
        memset(&one[k], 0, sizeof(one[k]));
        assert_int_equal(e->ops->predict(e, &se[k], 1, &one[k], NULL, err, sizeof(err)), ENGINE_OK);
    }
    for (int budget_series = 0; budget_series < 2; budget_series++) {
        /* limits whose costliest series is small: a budget of about one series at a time */
        engine_limits lim = {budget_series ? 64 : 150, 40, 1, 4};
        assert_int_equal(kronos_engine_set_batching(e, 0, &lim, err, sizeof(err)), 0);
        memset(all, 0, sizeof(all));
        assert_int_equal(e->ops->predict(e, se, N_IN, all, NULL, err, sizeof(err)), ENGINE_OK);
        for (int k = 0; k < N_IN; k++) {
            assert_int_equal(all[k].pred_len, (size_t)in[k].P);
            assert_int_equal(all[k].sample_count, in[k].S);
            output a = {all[k].mean, NULL}, o = {one[k].mean, NULL};
            const float *nstd = kst_find(&in[k].tr, "norm_std")->data;
            for (int i = 0; i < in[k].P * 6; i++)
                assert_true(fabs((double)a.mean[i] - o.mean[i]) <=
                            1e-5 * fabs(o.mean[i]) + 5e-5 * (nstd[i % 6] + 1e-5));
            engine_forecast_free(&all[k]);
        }
    }
    /* a batch of the engine's own: jobs join while others run, answers equal */
    assert_int_equal(kronos_engine_set_batching(e, 0, NULL, err, sizeof(err)), 0);
    engine_batch *b = e->batch->open(e);
    assert_non_null(b);
    int tags[N_IN], status, done = 0;
    for (int k = 0; k < N_IN; k++) {
        memset(&all[k], 0, sizeof(all[k]));
        tags[k] = k;
    }
    for (int k = 0, steps = 0; done < N_IN; steps++) {
        if (k < N_IN && steps >= 2 * k) {
            assert_int_equal(e->batch->add(b, &se[k], 1, &all[k], NULL, &tags[k], err, sizeof(err)),
                             ENGINE_OK);
            k++;
        }
        e->batch->step(b);
        int *tag;
        while ((tag = e->batch->take(b, &status, err, sizeof(err)))) {
            assert_int_equal(status, ENGINE_OK);
            const float *nstd = kst_find(&in[*tag].tr, "norm_std")->data;
            for (int i = 0; i < in[*tag].P * 6; i++)
                assert_true(fabs((double)all[*tag].mean[i] - one[*tag].mean[i]) <=
                            1e-5 * fabs(one[*tag].mean[i]) + 5e-5 * (nstd[i % 6] + 1e-5));
            engine_forecast_free(&all[*tag]);
            done++;
        }
        assert_true(steps < 10000);
    }
    assert_int_equal(e->batch->jobs(b), 0);
    e->batch->close(b);
    for (int k = 0; k < N_IN; k++) {
        engine_forecast_free(&one[k]);
        input_close(&in[k]);
    }
    e->ops->destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(batched_equals_alone),
                                       cmocka_unit_test(engine_batches_in_waves)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
