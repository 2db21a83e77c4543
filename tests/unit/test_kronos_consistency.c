/*
 * Self-consistency on random models whose shapes the reference data does not cover: head sizes
 * that are not multiples of 8 (like Kronos-base's 52, which take the portable kernel paths),
 * fixed sinusoidal time tables (learn_te false), and files without inv_freq buffers. The K/V
 * cached schedule must give the same greedy tokens as recomputing every window (what upstream
 * does), and a two-thread pool the same as one thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors_write.h"
#include "engine/kronos/forecast.h"
#include "engine/kronos/weights.h"
#include "kronos_test_util.h"

typedef struct gen {
    kst_out t[160];
    int n;
    uint64_t rng;
} gen;

static float gauss(uint64_t *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        u[i] = ((double)(*s >> 11) + 0.5) * 0x1.0p-53;
    }
    return (float)(sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]));
}

static void add(gen *g, const char *name, int64_t a, int64_t b, float mean, float sd)
{
    size_t n = (size_t)a * (size_t)(b ? b : 1);
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = mean + sd * gauss(&g->rng);
    g->t[g->n++] = (kst_out){strdup(name), KST_F32, b ? 2 : 1, {a, b}, v};
}

static void linear(gen *g, const char *p, int in, int out, int bias)
{
    char n[200];
    snprintf(n, sizeof(n), "%s.weight", p);
    add(g, n, out, in, 0, 1.0f / sqrtf((float)in));
    if (bias) {
        snprintf(n, sizeof(n), "%s.bias", p);
        add(g, n, out, 0, 0, 0.1f);
    }
}

static void block(gen *g, const char *p, int d, int ff)
{
    char n[100];
    const char *pr[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    snprintf(n, sizeof(n), "%s.norm1.weight", p);
    add(g, n, d, 0, 1, 0.1f);
    snprintf(n, sizeof(n), "%s.norm2.weight", p);
    add(g, n, d, 0, 1, 0.1f);
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof(n), "%s.self_attn.%s", p, pr[i]);
        linear(g, n, d, d, 1);
    }
    const char *ffn[] = {"w1", "w3", "w2"};
    for (int i = 0; i < 3; i++) {
        snprintf(n, sizeof(n), "%s.ffn.%s", p, ffn[i]);
        linear(g, n, i < 2 ? d : ff, i < 2 ? ff : d, 0);
    }
}

static void finish(gen *g, const char *dir, const char *config)
{
    char path[512], err[256];
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(config, fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    assert_int_equal(kst_write(path, g->t, (size_t)g->n, err, sizeof(err)), 0);
    for (int i = 0; i < g->n; i++) {
        free((void *)g->t[i].name);
        free((void *)g->t[i].data);
    }
    g->n = 0;
}

/* Tokenizer d 40 / 2 heads (hd 20), model d 104 / 2 heads (hd 52, dep hd 26), 4+4 bits. */
static void write_models(const char *root, int learn_te)
{
    char dir[400], p[64], cfg[512];
    gen *g = calloc(1, sizeof(gen));
    g->rng = 77;
    linear(g, "embed", 6, 40, 1);
    linear(g, "head", 40, 6, 1);
    for (int j = 0; j < 2; j++) {
        snprintf(p, sizeof(p), "encoder.%d", j);
        block(g, p, 40, 72);
        snprintf(p, sizeof(p), "decoder.%d", j);
        block(g, p, 40, 72);
    }
    linear(g, "quant_embed", 40, 8, 1);
    linear(g, "post_quant_embed", 8, 40, 1);
    snprintf(dir, sizeof(dir), "%s/tokenizer", root);
    finish(g, dir,
           "{\"d_in\": 6, \"d_model\": 40, \"ff_dim\": 72, \"n_heads\": 2, \"n_enc_layers\": 3, "
           "\"n_dec_layers\": 3, \"s1_bits\": 4, \"s2_bits\": 4, \"group_size\": 4}");
    int d = 104;
    add(g, "embedding.emb_s1.weight", 16, d, 0, 0.1f);
    add(g, "embedding.emb_s2.weight", 16, d, 0, 0.1f);
    linear(g, "embedding.fusion_proj", 2 * d, d, 1);
    const char *tn[] = {"minute", "hour", "weekday", "day", "month"};
    for (int i = 0; learn_te && i < 5; i++) {
        snprintf(p, sizeof(p), "time_emb.%s_embed.weight", tn[i]);
        add(g, p, kr_time_sizes[i], d, 0, 0.1f);
    }
    for (int l = 0; l < 2; l++) {
        snprintf(p, sizeof(p), "transformer.%d", l);
        block(g, p, d, 136);
    }
    add(g, "norm.weight", d, 0, 1, 0.1f);
    const char *pr[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "dep_layer.cross_attn.%s", pr[i]);
        linear(g, p, d, d, 1);
    }
    add(g, "dep_layer.norm.weight", d, 0, 1, 0.1f);
    linear(g, "head.proj_s1", d, 16, 1);
    linear(g, "head.proj_s2", d, 16, 1);
    snprintf(dir, sizeof(dir), "%s/model", root);
    snprintf(cfg, sizeof(cfg),
             "{\"d_model\": 104, \"ff_dim\": 136, \"n_heads\": 2, \"n_layers\": 2, "
             "\"s1_bits\": 4, \"s2_bits\": 4, \"learn_te\": %s}",
             learn_te ? "true" : "false");
    finish(g, dir, cfg);
    free(g);
}

static void run(const kr_tokenizer *tok, const kr_model *m, int M, int full, int threads, int S,
                int *gen_out, float *mean)
{
    enum { T = 30, P = 14 };
    static float x[T * 6];
    kr_stamp xs[T], ys[P];
    for (int r = 0; r < T + P; r++) {
        kr_stamp st = {{(r * 15) % 60, (r / 4) % 24, (r / 96) % 7, 1 + r % 28, 1 + r % 12}};
        if (r < T) {
            for (int c = 0; c < 6; c++)
                x[r * 6 + c] = 50.0f + 3.0f * sinf(0.37f * (float)r + (float)c);
            xs[r] = st;
        } else
            ys[r - T] = st;
    }
    kr_request q = {T, x, xs, P, ys, 1.0, 1, 1.0, S, 3, threads, full, NULL};
    kr_result res = {.mean = mean, .gen = gen_out};
    char err[256];
    int rc = kr_forecast(tok, m, M, 5.0, &q, &res, NULL, NULL, NULL, err, sizeof(err));
    if (rc != ENGINE_OK)
        fail_msg("%s", err);
}

static void check_variant(int learn_te)
{
    char root[] = "/tmp/kronos-consistency-XXXXXX", a[600], b[600], err[256];
    assert_non_null(mkdtemp(root));
    write_models(root, learn_te);
    kr_tokenizer tok;
    kr_model m;
    snprintf(a, sizeof(a), "%s/tokenizer", root);
    snprintf(b, sizeof(b), "%s/model", root);
    if (kr_tokenizer_load(&tok, a, err, sizeof(err)) || kr_model_load(&m, b, err, sizeof(err)))
        fail_msg("%s", err);
    /* M 36: 6 cached steps, then 8 sliding ones; M 64: never slides */
    const int contexts[] = {36, 64};
    for (int c = 0; c < 2; c++) {
        int g_ref[2 * 14 * 2], g[2 * 14 * 2];
        float m_ref[14 * 6], mm[14 * 6];
        run(&tok, &m, contexts[c], 1, 1, 2, g_ref, m_ref);
        const int variants[][2] = {{0, 1}, {0, 2}, {1, 2}}; /* (full_recompute, threads) */
        for (int v = 0; v < 3; v++) {
            run(&tok, &m, contexts[c], variants[v][0], variants[v][1], 2, g, mm);
            assert_memory_equal(g, g_ref, sizeof(g));
            for (int i = 0; i < 14 * 6; i++)
                assert_true(fabsf(mm[i] - m_ref[i]) <= 1e-4f * (1 + fabsf(m_ref[i])));
        }
        int distinct = 0;
        for (int i = 1; i < 14; i++)
            distinct |= g_ref[2 * i] != g_ref[0];
        assert_true(distinct); /* the model does not collapse to one token */
    }
    kr_model_free(&m);
    kr_tokenizer_free(&tok);
    const char *files[] = {"tokenizer/config.json",
                           "tokenizer/model.safetensors",
                           "model/config.json",
                           "model/model.safetensors",
                           "tokenizer",
                           "model",
                           ""};
    for (int i = 0; i < 7; i++) {
        snprintf(a, sizeof(a), "%s/%s", root, files[i]);
        if (remove(a) != 0)
            rmdir(a);
    }
}

static void cached_equals_recompute_learned_time(void **state)
{
    (void)state;
    check_variant(1);
}

static void cached_equals_recompute_fixed_time(void **state)
{
    (void)state;
    check_variant(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(cached_equals_recompute_learned_time),
                                       cmocka_unit_test(cached_equals_recompute_fixed_time)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
