/*
 * The memory bound of a Kronos forecast: the attention scratch grows linearly with the rows (a
 * band of 128 query rows, not rows x rows), the bound covers every input length up to the limit,
 * and the engine's figure under the limits matches the documented formula (docs/PERFORMANCE.md,
 * "Memory bounds", whose figures this prints).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/kronos/batch.h"
#include "engine/kronos/block.h"
#include "engine/kronos/forecast.h"
#include "engine/kronos/kernels.h"
#include "engine/kronos/kronos_engine.h"
#include "engine/kronos/ops.h"
#include "engine/kronos/weights.h"

#define MINI KRONOS_GOLDEN_DIR "/mini"

/* d, ff, layers, v1, v2; tokenizer d, ff, blocks (Kronos-Tokenizer-base) */
static const kr_shape kronos_mini = {256, 512, 4, 1024, 1024, 256, 512, 6};
static const kr_shape kronos_small = {512, 1024, 8, 1024, 1024, 256, 512, 6};

static void attention_scratch_is_linear(void **state)
{
    (void)state;
    assert_int_equal(kr_attention_scratch(100), 100 * 100);
    assert_int_equal(kr_attention_scratch(2048), 128 * 2048); /* was 2048 x 2048: 16x */
    assert_int_equal(kr_attention_scratch(1 << 20), 128u << 20);
    for (int threads = 1; threads <= 4; threads++)
        assert_int_equal(kr_ws_bytes(4096, 4096, 1, 256, 512, threads) -
                             kr_ws_bytes(2048, 2048, 1, 256, 512, threads),
                         kr_ws_bytes(2048, 2048, 1, 256, 512, threads) -
                             kr_ws_bytes(0, 0, 1, 256, 512, threads));
}

static void bound_covers_every_length(void **state)
{
    (void)state;
    /* Many samples: the per-sample caches (max_context - T rows) make short inputs costlier. */
    const int M = 128, P = 128, S = 16, max_T = 300;
    size_t worst = kr_forecast_bytes_max(&kronos_mini, M, max_T, P, S, 2);
    size_t at_max = kr_forecast_bytes(&kronos_mini, M, max_T, P, S, 2);
    size_t seen = 0;
    for (int T = 1; T <= max_T; T++) {
        size_t b = kr_forecast_bytes(&kronos_mini, M, T, P, S, 2);
        assert_true(b <= worst);
        seen = b > seen ? b : seen;
    }
    assert_true(seen == worst);
    assert_true(worst > at_max); /* the longest input is not the worst case here */
    /* monotone in P and S */
    assert_true(kr_forecast_bytes_max(&kronos_mini, M, max_T, P, S + 1, 2) > worst);
    assert_true(kr_forecast_bytes_max(&kronos_mini, M, max_T, P - 1, S, 2) < worst);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void engine_figure_under_limits(void **state)
{
    (void)state;
    engine *e = kronos_engine_create(MINI "/model", MINI "/tokenizer", 128, 5.0, 2);
    engine_limits lim = {2048, 512, 64, 16};
    engine_memory m;
    char err[256];
    assert_int_equal(e->ops->memory(e, &lim, &m, err, sizeof(err)), 0); /* before load */
    /* with the AVX512 set the linears are held a second time, as panels */
    kr_shape sh;
    assert_int_equal(kr_shape_read(MINI "/model", MINI "/tokenizer", &sh, err, sizeof(err)), 0);
    assert_true(m.weights == file_size(MINI "/model/model.safetensors") +
                                 file_size(MINI "/tokenizer/model.safetensors") +
                                 kr_packed_bytes(&sh));
    if (kr_gemm_packed_active()) {
        kr_model model;
        kr_tokenizer tok;
        assert_int_equal(kr_model_load(&model, MINI "/model", err, sizeof(err)), 0);
        assert_int_equal(kr_tokenizer_load(&tok, MINI "/tokenizer", err, sizeof(err)), 0);
        size_t packed = 0; /* what loading packed, read back from the linears */
        const kr_linear *ml[] = {&model.fusion, &model.dep_q,   &model.dep_k,  &model.dep_v,
                                 &model.dep_o,  &model.proj_s1, &model.proj_s2};
        for (size_t i = 0; i < sizeof(ml) / sizeof(ml[0]); i++)
            packed += kr_packed_floats(ml[i]->out, ml[i]->in);
        const kr_linear *tl[] = {&tok.embed, &tok.quant_embed, &tok.post_quant, &tok.head};
        for (size_t i = 0; i < sizeof(tl) / sizeof(tl[0]); i++)
            packed += kr_packed_floats(tl[i]->out, tl[i]->in);
        for (int i = 0; i < model.layers + tok.n_enc + tok.n_dec; i++) {
            const kr_block *b = i < model.layers ? &model.blocks[i]
                                : i < model.layers + tok.n_enc
                                    ? &tok.enc[i - model.layers]
                                    : &tok.dec[i - model.layers - tok.n_enc];
            const kr_linear *bl[] = {&b->q, &b->k, &b->v, &b->o, &b->w1, &b->w2, &b->w3};
            for (size_t j = 0; j < 7; j++) {
                assert_non_null(bl[j]->wp);
                packed += kr_packed_floats(bl[j]->out, bl[j]->in);
            }
        }
        /* the bound counts the tokenizer's narrow linears at full width: an upper bound */
        assert_true(packed * sizeof(float) <= kr_packed_bytes(&sh));
        assert_true(packed * sizeof(float) * 10 >= kr_packed_bytes(&sh) * 9);
        kr_model_free(&model);
        kr_tokenizer_free(&tok);
    }
    /* pred_len is capped at max_context (longer is a 422). One batch per worker: its pass buffers
     * (1024 rows by default), the costliest series and a full request's outputs (mean + 16
     * samples per item), which is also what a batch may hold at once. */
    size_t series =
        kr_item_bytes_max(&kronos_mini, 128, 2048, 128, 16) + sizeof(kr_stamp) * (2048 + 128);
    size_t pass = kr_batch_bytes_many(&kronos_mini, 128, 2048, 128, 16, 1024, 2);
    assert_true(m.per_job == pass + series + 64 * sizeof(float) * 128 * 6 * 17);
    /* linear in KRONOS_MAX_CANDLES: 512x the candles, well under 600x the memory */
    engine_limits big = lim;
    big.max_candles = 2048 * 512;
    engine_memory mb;
    assert_int_equal(e->ops->memory(e, &big, &mb, err, sizeof(err)), 0);
    assert_true(mb.per_job > 100 * m.per_job && mb.per_job < 600 * m.per_job);
    e->ops->destroy(e);

    engine *bad = kronos_engine_create("/nonexistent/m", "/nonexistent/t", 128, 5.0, 1);
    assert_int_equal(bad->ops->memory(bad, &lim, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "config.json"));
    bad->ops->destroy(bad);
}

/* The figures of docs/PERFORMANCE.md: per worker, a batch's pass buffers (KRONOS_MAX_BATCH_ROWS
 * 1024) and what it may hold at once (the costliest series and a full request's outputs). */
static void print_figures(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const kr_shape *sh;
        int M, T;
    } rows[] = {
        {"Kronos-mini, max_context 2048", &kronos_mini, 2048, 2048},
        {"Kronos-small, max_context 512", &kronos_small, 512, 2048},
        {"Kronos-small, KRONOS_MAX_CANDLES 1000000", &kronos_small, 512, 1000000},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int M = rows[i].M, P = 512 < M ? 512 : M;
        for (int threads = 1; threads <= 4; threads *= 4) {
            size_t pass = kr_batch_bytes_many(rows[i].sh, M, rows[i].T, P, 16, 1024, threads);
            size_t series = kr_item_bytes_max(rows[i].sh, M, rows[i].T, P, 16) +
                            sizeof(kr_stamp) * (size_t)(rows[i].T + P);
            size_t outputs = 64 * sizeof(float) * (size_t)P * 6 * 17;
            fprintf(stderr,
                    "%s, %d thread(s): pass buffers %.1f MiB + series %.1f MiB + outputs %.1f MiB "
                    "= %.1f MiB\n",
                    rows[i].name, threads, pass / 1048576.0, series / 1048576.0,
                    outputs / 1048576.0, (pass + series + outputs) / 1048576.0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attention_scratch_is_linear),
        cmocka_unit_test(bound_covers_every_length),
        cmocka_unit_test(engine_figure_under_limits),
        cmocka_unit_test(print_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
