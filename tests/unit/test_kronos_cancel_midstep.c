/*
 * A forecast cancelled in the middle of a pass (its prefill, a sliding window's recompute) leaves
 * the batch within a fraction of that pass, and the forecasts batched with it still finish with
 * the answers they give alone (KRONOS_GOLDEN_DIR/mini weights).
 *
 * The test binary defines cblas_sgemm (it forwards to OpenBLAS's): counting the calls measures
 * how much work a pass does, and the call at which the cancel token is set lands it mid-pass. So
 * it runs the kernel set whose products are sgemm calls (avx2, or portable without AVX2): the
 * avx512 set multiplies with its own packed product. The engine's stop checks, between layers,
 * sub-layers and attention tasks, are the same code whatever set multiplies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cblas.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <math.h>

#include "engine/kronos/batch.h"
#include "engine/kronos/kernels.h"
#include "kronos_test_util.h"

#define SET KRONOS_GOLDEN_DIR "/mini"
#define M 128

static __typeof__(cblas_sgemm) *real_sgemm;
static atomic_long calls;     /* sgemm calls so far */
static atomic_long cancel_at; /* the call that sets `victim`; 0: none */
static engine_cancel *victim;

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                 const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n, const blasint k,
                 const float alpha, const float *a, const blasint lda, const float *b,
                 const blasint ldb, const float beta, float *c, const blasint ldc)
{
    long nth = atomic_fetch_add(&calls, 1) + 1;
    long at = atomic_load(&cancel_at);
    if (at > 0 && nth == at)
        atomic_store(&victim->cancelled, true);
    real_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static kr_tokenizer tok;
static kr_model model;

static int setup(void **state)
{
    (void)state;
    /* Defining cblas_sgemm here lets the linker drop OpenBLAS (--as-needed): open it. It runs
     * on one thread of its own, as the engine sets it (the pool is the engine's). */
    void *lib = RTLD_NEXT;
    real_sgemm = (__typeof__(cblas_sgemm) *)dlsym(lib, "cblas_sgemm");
    const char *libs[] = {"libopenblas.so.0", "libblas.so.3"};
    for (size_t i = 0; !real_sgemm && i < sizeof(libs) / sizeof(libs[0]); i++)
        if ((lib = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL)))
            real_sgemm = (__typeof__(cblas_sgemm) *)dlsym(lib, "cblas_sgemm");
    void (*set_threads)(int) =
        real_sgemm ? (void (*)(int))dlsym(lib, "openblas_set_num_threads") : NULL;
    if (set_threads)
        set_threads(1);
    if (kr_simd_use(KR_SIMD_AVX2) != 0)
        kr_simd_use(KR_SIMD_PORTABLE);
    char err[512];
    if (!real_sgemm || kr_tokenizer_load(&tok, SET "/tokenizer", err, sizeof(err)) ||
        kr_model_load(&model, SET "/model", err, sizeof(err))) {
        fprintf(stderr, "%s\n", real_sgemm ? err : "no cblas_sgemm to forward to");
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

/* A golden case's input with its own sampling settings. */
typedef struct input {
    kst_file tr;
    kr_request q;
    float *mean;
    int *gen;
} input;

static void input_open(input *in, const char *c, int S, int top_k, double top_p, uint64_t seed,
                       int threads)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), SET "/cases/%s/trace.safetensors", c);
    assert_int_equal(kst_open(&in->tr, path, err, sizeof(err)), 0);
    const kst_tensor *x = kst_find(&in->tr, "x_raw"), *xs = kst_find(&in->tr, "x_stamp"),
                     *ys = kst_find(&in->tr, "y_stamp");
    assert_true(x && xs && ys);
    int T = (int)x->shape[0], P = (int)ys->shape[0];
    kr_stamp *st = calloc((size_t)(T + P), sizeof(kr_stamp));
    const int32_t *a = xs->data, *b = ys->data;
    for (int r = 0; r < T + P; r++)
        for (int k = 0; k < KR_TIME_N; k++)
            st[r].f[k] = r < T ? a[r * 5 + k] : b[(r - T) * 5 + k];
    in->q = (kr_request){.T = T,
                         .x = x->data,
                         .x_stamp = st,
                         .P = P,
                         .y_stamp = st + T,
                         .temperature = 1.0,
                         .top_k = top_k,
                         .top_p = top_p,
                         .S = S,
                         .seed = seed,
                         .threads = threads};
    in->mean = calloc((size_t)P * 6, sizeof(float));
    in->gen = calloc((size_t)S * P * 2, sizeof(int));
}

static void input_close(input *in)
{
    free((void *)in->q.x_stamp);
    free(in->mean);
    free(in->gen);
    kst_close(&in->tr);
}

/* The victim (slides from its first step, several samples) and two that stay. */
enum { N_IN = 3, VICTIM = 0 };

static void open_inputs(input *in, int threads)
{
    input_open(&in[0], "c_slide", 4, 0, 0.9, 7, threads);
    input_open(&in[1], "b_partial", 3, 0, 0.9, 2, threads);
    input_open(&in[2], "a_noslide", 2, 5, 1.0, 3, threads);
}

/*
 * Runs the three in one batch. With cancel_step >= 0 the victim's token is set at sgemm call
 * `cancel_call` (counted from the start of that step). per_step[i] gets the sgemm calls of step
 * i; returns the steps run. After the cancel the step must end with the victim cancelled.
 */
static int run(input *in, int threads, int cancel_step, long cancel_call, long *per_step,
               int max_steps)
{
    kr_batch *b = kr_batch_create(&tok, &model, M, 5.0, threads, 0);
    assert_non_null(b);
    kr_item *items[N_IN];
    engine_cancel tokens[N_IN];
    char err[256];
    for (int k = 0; k < N_IN; k++) {
        atomic_init(&tokens[k].cancelled, false);
        kr_result r = {.mean = in[k].mean, .gen = in[k].gen};
        items[k] = kr_batch_add(b, &in[k].q, &r, &tokens[k], NULL, NULL, err, sizeof(err));
        assert_non_null(items[k]);
    }
    victim = &tokens[VICTIM];
    int steps = 0;
    for (int running = N_IN; running > 0; steps++) {
        assert_true(steps < max_steps);
        atomic_store(&calls, 0);
        if (steps == cancel_step)
            atomic_store(&cancel_at, cancel_call);
        running = kr_batch_step(b);
        atomic_store(&cancel_at, 0);
        per_step[steps] = atomic_load(&calls);
        if (steps == cancel_step) {
            assert_true(atomic_load(&tokens[VICTIM].cancelled));
            assert_int_equal(kr_item_status(items[VICTIM]), ENGINE_CANCELLED);
        }
    }
    for (int k = 0; k < N_IN; k++) {
        int want = k == VICTIM && cancel_step >= 0 ? ENGINE_CANCELLED : ENGINE_OK;
        assert_int_equal(kr_item_status(items[k]), want);
        kr_batch_remove(b, items[k]);
    }
    kr_batch_destroy(b);
    return steps;
}

#define MAX_STEPS 256

static void cancelled_mid_pass(int threads, int cancel_step)
{
    input ref[N_IN], got[N_IN];
    open_inputs(ref, threads);
    open_inputs(got, threads);
    long full[MAX_STEPS], cut[MAX_STEPS];
    run(ref, threads, -1, 0, full, MAX_STEPS);
    /* The step as it runs uncancelled: the token is set half and three quarters of the way
     * through it, inside the pass (step 0 starts with each item's encode, which watches that item
     * alone). With two threads the calls interleave differently from run to run; two points catch
     * more of the tasks that run many products. */
    long after_max = 0, at = 0;
    for (int quarter = 2; quarter <= 3; quarter++) {
        long point = full[cancel_step] * quarter / 4;
        assert_true(point > 8);
        if (quarter > 2) { /* fresh outputs for each run */
            for (int k = 0; k < N_IN; k++)
                input_close(&got[k]);
            open_inputs(got, threads);
        }
        run(got, threads, cancel_step, point, cut, MAX_STEPS);
        long after = cut[cancel_step] - point;
        if (after > after_max) {
            after_max = after;
            at = point;
        }
    }
    print_message("threads %d, step %d: %ld sgemm calls per pass, at most %ld after the cancel "
                  "(cancelled at call %ld)\n",
                  threads, cancel_step, full[cancel_step], after_max, at);
    /* the rest of the pass is dropped: at most a tenth of it still runs (tasks in flight) */
    assert_true(after_max * 10 <= full[cancel_step]);
    for (int k = 0; k < N_IN; k++) {
        if (k == VICTIM)
            continue;
        const float *nstd = kst_find(&ref[k].tr, "norm_std")->data;
        for (int i = 0; i < ref[k].q.S * ref[k].q.P * 2; i++)
            if (got[k].gen[i] != ref[k].gen[i])
                fail_msg("item %d: token %d differs: %d vs %d", k, i, got[k].gen[i], ref[k].gen[i]);
        for (int i = 0; i < ref[k].q.P * 6; i++)
            if (!(fabs((double)got[k].mean[i] - ref[k].mean[i]) <=
                  1e-5 * fabs(ref[k].mean[i]) + 5e-5 * (nstd[i % 6] + 1e-5)))
                fail_msg("item %d: value %d: %.9g vs %.9g", k, i, got[k].mean[i], ref[k].mean[i]);
    }
    for (int k = 0; k < N_IN; k++) {
        input_close(&ref[k]);
        input_close(&got[k]);
    }
}

/* Step 0: the tokenizer's encode and every item's prefill window. */
static void cancelled_mid_prefill(void **state)
{
    (void)state;
    cancelled_mid_pass(1, 0);
    cancelled_mid_pass(2, 0);
}

/* Step 3: the victim recomputes its sliding window (shared input rows and each sample's own),
 * the others take cached or sliding steps in the same pass. */
static void cancelled_mid_sliding_window(void **state)
{
    (void)state;
    cancelled_mid_pass(1, 3);
    cancelled_mid_pass(2, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(cancelled_mid_prefill),
                                       cmocka_unit_test(cancelled_mid_sliding_window)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
