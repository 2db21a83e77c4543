/*
 * Kronos engine benchmark. Generates random-weight checkpoints with the published shapes
 * (Hugging Face layout: config.json + model.safetensors), then times forecasts through
 * kr_forecast and reports phases, GFLOP/s and, where one was measured on this machine, the ratio
 * to upstream PyTorch. Only kr_forecast is used, so the same source also builds against an older
 * engine (bench/kronos/compare.sh measures two engines in one run).
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "safetensors_write.h"
#include "engine/kronos/forecast.h"
#if __has_include("engine/kronos/batch.h")
#include "engine/kronos/batch.h" /* this tree's engine: passes, batches of series */
#define HAVE_BATCH 1
#endif
#include "engine/kronos/kernels.h"
#include "engine/kronos/safetensors.h"
#include "engine/kronos/weights.h"

/* ---- random checkpoint writer ---- */

typedef struct gen {
    kst_out *t;
    size_t n, cap;
    uint64_t rng;
} gen;

static double gauss(uint64_t *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        u[i] = ((double)(*s >> 11) + 0.5) * 0x1.0p-53;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

static void add(gen *g, const char *name, int ndim, int64_t a, int64_t b, double mean, double sd)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->t = realloc(g->t, g->cap * sizeof(kst_out));
    }
    size_t n = (size_t)a * (ndim > 1 ? (size_t)b : 1);
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mean + sd * gauss(&g->rng));
    g->t[g->n++] = (kst_out){strdup(name), KST_F32, ndim, {a, b}, v};
}

static void linear(gen *g, const char *p, int in, int out, int bias)
{
    char n[300];
    snprintf(n, sizeof(n), "%s.weight", p);
    add(g, n, 2, out, in, 0, 1 / sqrt(in));
    if (bias) {
        snprintf(n, sizeof(n), "%s.bias", p);
        add(g, n, 1, out, 0, 0, 0.1);
    }
}

static void block(gen *g, const char *p, int d, int ff)
{
    char n[200];
    const char *pr[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    snprintf(n, sizeof(n), "%s.norm1.weight", p);
    add(g, n, 1, d, 0, 1, 0.1);
    snprintf(n, sizeof(n), "%s.norm2.weight", p);
    add(g, n, 1, d, 0, 1, 0.1);
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof(n), "%s.self_attn.%s", p, pr[i]);
        linear(g, n, d, d, 1);
    }
    snprintf(n, sizeof(n), "%s.ffn.w1", p);
    linear(g, n, d, ff, 0);
    snprintf(n, sizeof(n), "%s.ffn.w3", p);
    linear(g, n, d, ff, 0);
    snprintf(n, sizeof(n), "%s.ffn.w2", p);
    linear(g, n, ff, d, 0);
}

static int finish(gen *g, const char *dir, const char *config)
{
    char path[1024], err[256];
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fputs(config, fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    int rc = kst_write(path, g->t, g->n, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    for (size_t i = 0; i < g->n; i++) {
        free((void *)g->t[i].name);
        free((void *)g->t[i].data);
    }
    free(g->t);
    memset(g, 0, sizeof(*g));
    return rc;
}

static int write_tokenizer(const char *dir, int group)
{
    gen g = {.rng = 11};
    int d = 256, ff = 512;
    char p[64], cfg[512];
    linear(&g, "embed", 6, d, 1);
    linear(&g, "head", d, 6, 1);
    for (int j = 0; j < 3; j++) {
        snprintf(p, sizeof(p), "encoder.%d", j);
        block(&g, p, d, ff);
        snprintf(p, sizeof(p), "decoder.%d", j);
        block(&g, p, d, ff);
    }
    linear(&g, "quant_embed", d, 20, 1);
    linear(&g, "post_quant_embed_pre", 10, d, 1);
    linear(&g, "post_quant_embed", 20, d, 1);
    snprintf(cfg, sizeof(cfg),
             "{\"attn_dropout_p\": 0.0, \"beta\": 0.05, \"d_in\": 6, \"d_model\": 256, "
             "\"ff_dim\": 512, \"ffn_dropout_p\": 0.0, \"gamma\": 1.1, \"gamma0\": 1.0, "
             "\"group_size\": %d, \"n_dec_layers\": 4, \"n_enc_layers\": 4, \"n_heads\": 4, "
             "\"resid_dropout_p\": 0.0, \"s1_bits\": 10, \"s2_bits\": 10, \"zeta\": 0.05}\n",
             group);
    return finish(&g, dir, cfg);
}

static int write_model(const char *dir, int d, int layers, int heads, int ff)
{
    gen g = {.rng = 7 + (uint64_t)d};
    char p[64], cfg[512];
    const char *tn[] = {"minute", "hour", "weekday", "day", "month"};
    add(&g, "embedding.emb_s1.weight", 2, 1024, d, 0, 1 / sqrt(d));
    add(&g, "embedding.emb_s2.weight", 2, 1024, d, 0, 1 / sqrt(d));
    linear(&g, "embedding.fusion_proj", 2 * d, d, 1);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "time_emb.%s_embed.weight", tn[i]);
        add(&g, p, 2, kr_time_sizes[i], d, 0, 1 / sqrt(d));
    }
    for (int i = 0; i < layers; i++) {
        snprintf(p, sizeof(p), "transformer.%d", i);
        block(&g, p, d, ff);
    }
    add(&g, "norm.weight", 1, d, 0, 1, 0.1);
    const char *pr[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "dep_layer.cross_attn.%s", pr[i]);
        linear(&g, p, d, d, 1);
    }
    add(&g, "dep_layer.norm.weight", 1, d, 0, 1, 0.1);
    linear(&g, "head.proj_s1", d, 1024, 1);
    linear(&g, "head.proj_s2", d, 1024, 1);
    snprintf(cfg, sizeof(cfg),
             "{\"attn_dropout_p\": 0.0, \"d_model\": %d, \"ff_dim\": %d, \"ffn_dropout_p\": 0.0, "
             "\"learn_te\": true, \"n_heads\": %d, \"n_layers\": %d, \"resid_dropout_p\": 0.0, "
             "\"s1_bits\": 10, \"s2_bits\": 10, \"token_dropout_p\": 0.0}\n",
             d, ff, heads, layers);
    return finish(&g, dir, cfg);
}

/* ---- FLOP model (multiply-adds x 2) of the work an exact engine needs ---- */

/* Rows at window positions [p0, p1): the blocks, each row attending to every earlier row. */
static double rows_macs(int d, int ff, int layers, int p0, int p1)
{
    double n = p1 - p0, keys = ((double)p0 + 1 + p1) / 2.0 * n; /* sum of (p + 1) */
    return layers * (n * (4.0 * d * d + 3.0 * d * ff) + 2.0 * keys * d);
}

/*
 * A window of w rows whose first c are shared by S samples (prefix computed once, each sample's
 * w - c rows on their own): embedding, blocks, dep-layer keys/values of every row, and per sample
 * the heads and the dependency layer for the last row.
 */
static double window_flops(const kr_model *m, int w, int c, int S)
{
    int d = m->d;
    double rows = c + (double)S * (w - c);
    double mac = rows * 2.0 * d * d + rows * 2.0 * d * d; /* fusion + dep k/v */
    mac += rows_macs(d, m->ff, m->layers, 0, c) + S * rows_macs(d, m->ff, m->layers, c, w);
    mac += S * (2.0 * d * 1024 + 2.0 * d * d + 2.0 * w * d); /* heads, dep q/o, dep attention */
    return 2 * mac;
}

/* One new row per sample at position n-1 against the cache. */
static double step_flops(const kr_model *m, int n, int S)
{
    int d = m->d;
    double mac = 2.0 * d * d + 2.0 * d * d + 2.0 * d * 1024 + 2.0 * d * d + 2.0 * n * d;
    mac += rows_macs(d, m->ff, m->layers, n - 1, n);
    return 2 * S * mac;
}

/* Tokenizer stack over w rows, the first c shared by S sequences. */
static double tok_flops(const kr_tokenizer *t, int w, int c, int S, int blocks)
{
    double rows = c + (double)S * (w - c);
    return 2 * (rows * 26 * t->d + rows_macs(t->d, t->ff, blocks, 0, c) +
                S * rows_macs(t->d, t->ff, blocks, c, w));
}

typedef struct flops {
    double tok, prefill, cached, sliding;
} flops;

static flops forecast_flops(const kr_tokenizer *tok, const kr_model *m, int T, int P, int M, int S)
{
    flops f = {0};
    int N = T + P, W0 = T < M ? T : M, wd = N < M ? N : M;
    int cdec = T - (N - wd) > 0 ? T - (N - wd) : 0;
    f.tok = tok_flops(tok, T, T, 1, tok->n_enc) + tok_flops(tok, wd, cdec, S, tok->n_dec);
    f.prefill = window_flops(m, W0, W0, S);
    for (int i = 1; i < P; i++) {
        int n = T + i, w = n < M ? n : M, c = T - (n - w);
        if (T < M && n <= M)
            f.cached += step_flops(m, n, S);
        else
            f.sliding += window_flops(m, w, c > 0 ? c : 0, S);
    }
    return f;
}

/* ---- timing ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (every thread): less sensitive than wall time to other work
 * on a shared machine, though the pool's brief spin-waits count too. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bcase {
    const char *model;
    int T, P, S, M;
    double ref_s;    /* upstream PyTorch on this machine, greedy S=1 (0: not measured) */
    double target_s; /* target for this case (0: none) */
    int batch;       /* > 0: that many series (different data and seeds) as one batch */
} bcase;

static double peak_gflops;    /* max(measured sgemm, measured packed product, nominal peak) */
static double product_gflops; /* max(measured sgemm, measured packed product): what runs */
static double sgemm_gflops;   /* OpenBLAS sgemm 1024^3, measured at start */
static int threads = 2;
static int max_rows; /* KRONOS_MAX_BATCH_ROWS for the engine's passes (0: its default) */

/* A synthetic random-walk series of T bars plus P future stamps, 5-minute bars. */
static void make_series(int T, int P, uint64_t seed, float *x, kr_stamp *xs, kr_stamp *ys)
{
    uint64_t s = seed;
    double price = 100;
    for (int r = 0; r < T + P; r++) {
        int minute = r * 5;
        kr_stamp st = {
            {minute % 60, (minute / 60) % 24, (minute / 1440) % 7, 1 + (minute / 1440) % 28, 1}};
        if (r < T) {
            price *= 1 + 0.002 * gauss(&s);
            float *row = x + r * 6;
            row[0] = (float)price;
            row[3] = (float)(price * (1 + 0.001 * gauss(&s)));
            row[1] = fmaxf(row[0], row[3]) * 1.001f;
            row[2] = fminf(row[0], row[3]) * 0.999f;
            row[4] = (float)(1000 + 500 * fabs(gauss(&s)));
            row[5] = row[4] * row[3];
            xs[r] = st;
        } else
            ys[r - T] = st;
    }
}

static void run(const kr_tokenizer *tok, const kr_model *m, const bcase *c, int reps)
{
    int T = c->T, P = c->P, S = c->S;
    float *x = malloc(sizeof(float) * T * 6);
    kr_stamp *xs = malloc(sizeof(kr_stamp) * T), *ys = malloc(sizeof(kr_stamp) * P);
    make_series(T, P, 99, x, xs, ys);
    kr_request q = {.T = T,
                    .x = x,
                    .x_stamp = xs,
                    .P = P,
                    .y_stamp = ys,
                    .temperature = 1.0,
                    .top_k = S == 1 ? 1 : 0,
                    .top_p = S == 1 ? 1.0 : 0.9,
                    .S = S,
                    .seed = 42,
                    .threads = threads};
#ifdef HAVE_BATCH
    q.max_rows = max_rows;
#endif
    float *mean = malloc(sizeof(float) * P * 6);
    kr_result res = {.mean = mean};
    double *tt = calloc((size_t)reps, sizeof(double)), *cpu = calloc((size_t)reps, sizeof(double));
    kr_phase_times *ph = calloc((size_t)reps, sizeof(kr_phase_times));
    char err[256];
    for (int i = 0; i < reps; i++) {
        double a = now(), ca = cpu_now();
        if (kr_forecast(tok, m, c->M, 5.0, &q, &res, NULL, NULL, &ph[i], err, sizeof(err))) {
            fprintf(stderr, "forecast failed: %s\n", err);
            exit(1);
        }
        tt[i] = now() - a;
        cpu[i] = cpu_now() - ca;
    }
    /* the run with the median time supplies the phase split */
    double *sorted = malloc(sizeof(double) * reps);
    memcpy(sorted, tt, sizeof(double) * reps);
    qsort(sorted, (size_t)reps, sizeof(double), cmp_d);
    int med = 0;
    for (int i = 0; i < reps; i++)
        if (tt[i] == sorted[reps / 2])
            med = i;
    kr_phase_times *p = &ph[med];
    flops f = forecast_flops(tok, m, T, P, c->M, S);
    double total = f.tok + f.prefill + f.cached + f.sliding, t = sorted[reps / 2];
    printf("%-5s %4d->%-4d M=%-4d S=%-2d | %7.3f s  %6.2f ms/bar  %6.1f GFLOP/s | "
           "tok %.3f  prefill %.3f  cached %.3f (%d, %.1f GF/s)  sliding %.3f (%d, %.1f GF/s)",
           c->model, T, P, c->M, S, t, 1e3 * t / P, total / t * 1e-9, p->tokenizer, p->prefill,
           p->cached, p->cached_steps, p->cached > 0 ? f.cached / p->cached * 1e-9 : 0, p->sliding,
           p->sliding_steps, p->sliding > 0 ? f.sliding / p->sliding * 1e-9 : 0);
    if (c->ref_s > 0)
        printf(" | x%.2f vs PyTorch %.3f s", c->ref_s / t, c->ref_s);
    printf("\n");
    if (p->sliding > 0)
        printf("    sliding windows: %.0f%% of peak %.0f GFLOP/s (%.0f%% of the OpenBLAS sgemm "
               "figure); whole forecast %.0f%%\n",
               100 * f.sliding / p->sliding * 1e-9 / peak_gflops, peak_gflops,
               100 * f.sliding / p->sliding * 1e-9 / sgemm_gflops,
               100 * total / t * 1e-9 / peak_gflops);
    if (c->target_s > 0)
        printf("    target %.2f s: %s\n", c->target_s, t <= c->target_s ? "met" : "MISSED");
    /* one parseable line for compare.sh: every repeat */
    printf("RESULT %s:%d:%d:%d:%d", c->model, T, P, S, c->M);
    for (int i = 0; i < reps; i++)
        printf(" %.4f", tt[i]);
    printf("\nCPU %s:%d:%d:%d:%d", c->model, T, P, S, c->M);
    for (int i = 0; i < reps; i++)
        printf(" %.4f", cpu[i]);
    printf("\n");
    /* the last repeat's forecast, for bench/kronos/vs_upstream.sh's check against upstream */
    if (getenv("KRONOS_BENCH_PRINT_FORECAST")) {
        printf("FORECAST %s:%d:%d:%d:%d", c->model, T, P, S, c->M);
        for (int i = 0; i < P * 6; i++)
            printf(" %.9g", mean[i]);
        printf("\n");
    }
    fflush(stdout);
    free(sorted);
    free(tt);
    free(cpu);
    free(ph);
    free(mean);
    free(x);
    free(xs);
    free(ys);
}

typedef struct read_band {
    const float *a;
    size_t n;
    double sum;
} read_band;

static void *read_band_run(void *arg)
{
    read_band *b = arg;
    double sum = 0;
    for (size_t i = 0; i < b->n; i += 16) /* one float per 64-byte line */
        sum += b->a[i];
    b->sum = sum;
    return NULL;
}

/* Read bandwidth from memory with `nthreads` threads (GB/s), best of 3 passes over 512 MB. */
static double read_bandwidth(int nthreads)
{
    size_t n = (size_t)128 << 20; /* floats */
    float *a = malloc(sizeof(float) * n);
    if (!a || nthreads < 1 || nthreads > 16) {
        free(a);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 7);
    double best = 0;
    for (int r = 0; r < 3; r++) {
        pthread_t th[16];
        read_band band[16];
        double t = now();
        for (int i = 0; i < nthreads; i++) {
            band[i] = (read_band){a + n / nthreads * i, n / nthreads, 0};
            pthread_create(&th[i], NULL, read_band_run, &band[i]);
        }
        for (int i = 0; i < nthreads; i++)
            pthread_join(th[i], NULL);
        t = now() - t;
        double g = sizeof(float) * (double)(n / nthreads * nthreads) / t * 1e-9;
        best = g > best ? g : best;
    }
    free(a);
    return best;
}

/*
 * What batching N series could reach at best on this machine, from figures of the same run: the
 * tokenizer and the prefill of every series are compute-bound and belong to it alone, so the
 * batch needs at least their FLOPs at the measured peak; its cached and sliding steps cannot take
 * less than one series' steps took alone (each streams every weight once), and each of the other
 * series' steps must also read that series' own key/value caches (every layer's and the
 * dependency layer's) at the measured read bandwidth. The extra rows' arithmetic is left out, so
 * the real ceiling is lower still. The second figure runs the tokenizer and prefill at the rate
 * the product measured on 1024^3 instead of the nominal peak.
 */
static void print_batch_ceiling(const kr_tokenizer *tok, const kr_model *m, const bcase *c,
                                const kr_phase_times *ph, double sequential_s)
{
    int N = c->batch;
    flops f = forecast_flops(tok, m, c->T, c->P, c->M, c->S);
    double own = N * (f.tok + f.prefill) / (peak_gflops * 1e9), steps = 0;
    for (int k = 0; k < N; k++)
        steps += ph[k].cached + ph[k].sliding;
    steps /= N;
    double kv_bytes = 0; /* one series' key/value reads over its steps */
    for (int s = 1; s < c->P; s++) {
        int keys = c->T + s < c->M ? c->T + s : c->M;
        kv_bytes += 2.0 * (m->layers + 1) * keys * (double)m->d * sizeof(float) * c->S;
    }
    double gbps = read_bandwidth(threads);
    double kv_s = gbps > 0 ? (N - 1) * kv_bytes / (gbps * 1e9) : 0;
    double floor_s = own + steps + kv_s;
    double own_measured = N * (f.tok + f.prefill) / (product_gflops * 1e9);
    double floor_measured = own_measured + steps + kv_s;
    printf(
        "\n    ceiling of batching on this machine: x%.2f (one after another %.3f s; a batch needs "
        ">= %.3f s: %d x %.1f GFLOP of tokenizer and prefill at the %.0f GFLOP/s peak, %.3f s; "
        "one series' steps, %.3f s; the other %d series' key/value caches, %.1f GB at the "
        "measured %.1f GB/s, %.3f s)",
        sequential_s / floor_s, sequential_s, floor_s, N, (f.tok + f.prefill) * 1e-9, peak_gflops,
        own, steps, N - 1, (N - 1) * kv_bytes * 1e-9, gbps, kv_s);
    printf("\n    at the product's measured %.0f GFLOP/s instead: x%.2f (tokenizer and prefill "
           "%.3f s, "
           "a batch >= %.3f s)",
           product_gflops, sequential_s / floor_measured, own_measured, floor_measured);
}

/*
 * N series of the same shape (different data and seeds) forecast one after another with
 * kr_forecast, and (this tree's engine) as one batch whose passes serve all of them. The
 * parseable line carries the batched time where the engine has batches, else the sequential one,
 * so compare.sh pairs an older engine's sequential run with this one's batch.
 */
static void run_batch(const kr_tokenizer *tok, const kr_model *m, const bcase *c, int reps)
{
    int N = c->batch, T = c->T, P = c->P, S = c->S;
    float *x = malloc(sizeof(float) * (size_t)N * T * 6), *mean = malloc(sizeof(float) * N * P * 6);
    kr_stamp *xs = malloc(sizeof(kr_stamp) * (size_t)N * T), *ys = malloc(sizeof(kr_stamp) * P);
    kr_request *q = calloc((size_t)N, sizeof(kr_request));
    for (int k = 0; k < N; k++) {
        make_series(T, P, 99 + (uint64_t)k, x + (size_t)k * T * 6, xs + (size_t)k * T, ys);
        q[k] = (kr_request){.T = T,
                            .x = x + (size_t)k * T * 6,
                            .x_stamp = xs + (size_t)k * T,
                            .P = P,
                            .y_stamp = ys,
                            .temperature = 1.0,
                            .top_k = S == 1 ? 1 : 0,
                            .top_p = S == 1 ? 1.0 : 0.9,
                            .S = S,
                            .seed = 42 + (uint64_t)k,
                            .threads = threads};
    }
    double *seq = calloc((size_t)reps, sizeof(double)), *bat = calloc((size_t)reps, sizeof(double));
    kr_phase_times *ph = calloc((size_t)N, sizeof(kr_phase_times)); /* the last sequential round */
    char err[256];
    int only_batched = getenv("KRONOS_BENCH_BATCHED_ONLY") != NULL; /* for profiling */
    for (int r = 0; r < reps; r++) {
        double a = now();
        for (int k = 0; k < N && !only_batched; k++) {
            kr_result res = {.mean = mean + (size_t)k * P * 6};
            ph[k] = (kr_phase_times){0};
            if (kr_forecast(tok, m, c->M, 5.0, &q[k], &res, NULL, NULL, &ph[k], err, sizeof(err))) {
                fprintf(stderr, "forecast failed: %s\n", err);
                exit(1);
            }
        }
        seq[r] = now() - a;
#ifdef HAVE_BATCH
        a = now();
        kr_batch *b = kr_batch_create(tok, m, c->M, 5.0, threads, max_rows);
        kr_item **its = calloc((size_t)N, sizeof(kr_item *));
        for (int k = 0; k < N; k++) {
            kr_result res = {.mean = mean + (size_t)k * P * 6};
            its[k] = kr_batch_add(b, &q[k], &res, NULL, NULL, NULL, err, sizeof(err));
            if (!its[k]) {
                fprintf(stderr, "batch add failed: %s\n", err);
                exit(1);
            }
        }
        while (kr_batch_step(b) > 0)
            ;
        for (int k = 0; k < N; k++)
            if (kr_item_status(its[k]) != ENGINE_OK) {
                fprintf(stderr, "batched forecast %d failed\n", k);
                exit(1);
            }
        kr_batch_destroy(b);
        free(its);
        bat[r] = now() - a;
#endif
    }
    double *sorted = malloc(sizeof(double) * reps);
    memcpy(sorted, seq, sizeof(double) * reps);
    qsort(sorted, (size_t)reps, sizeof(double), cmp_d);
    double ms = sorted[reps / 2];
    printf("batch of %d: %-5s %4d->%-4d M=%-4d S=%-2d | one after another %7.3f s (%.2f series/s)",
           N, c->model, T, P, c->M, S, ms, N / ms);
    const double *report = seq;
#ifdef HAVE_BATCH
    memcpy(sorted, bat, sizeof(double) * reps);
    qsort(sorted, (size_t)reps, sizeof(double), cmp_d);
    double mb = sorted[reps / 2];
    printf(" | one batch %7.3f s (%.2f series/s) | x%.2f", mb, N / mb, ms / mb);
    report = bat;
#endif
    if (ms > 0)
        print_batch_ceiling(tok, m, c, ph, ms);
    printf("\nRESULT batch%d:%s:%d:%d:%d:%d", N, c->model, T, P, S, c->M);
    for (int r = 0; r < reps; r++)
        printf(" %.4f", report[r]);
    printf("\n");
    fflush(stdout);
    free(sorted);
    free(seq);
    free(bat);
    free(ph);
    free(q);
    free(x);
    free(xs);
    free(ys);
    free(mean);
}

/* The best rate of 5 runs of once(ctx), which does `flop` floating-point operations. */
static double best_gflops(double flop, void (*once)(void *), void *ctx)
{
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t = now();
        once(ctx);
        t = now() - t;
        double g = flop / t * 1e-9;
        best = g > best ? g : best;
    }
    return best;
}

typedef struct square_product {
    const float *a, *b;
    float *c;
    int n;
} square_product;

static void sgemm_once(void *ctx)
{
    square_product *p = ctx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->n, p->n, p->n, 1, p->a, p->n, p->b,
                p->n, 0, p->c, p->n);
}

static double sgemm_peak(void)
{
    int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = 0.001f * (float)(i % 1000);
    square_product p = {a, b, c, n};
    double best = best_gflops(2.0 * n * n * n, sgemm_once, &p);
    free(a);
    free(b);
    free(c);
    return best;
}

/* AVX2 + 2 FMA pipes: 32 single-precision FLOP per cycle and core, at /proc/cpuinfo's clock. */
#ifdef KR_PANEL /* engines with the packed product (the AVX512 set) */
typedef struct packed_probe {
    const float *x, *wp;
    float *y;
    int n, p0, p1;
} packed_probe;

static void *packed_probe_band(void *arg)
{
    packed_probe *b = arg;
    kr_gemm_packed(b->x, b->n, b->n, b->n, b->wp, b->n, NULL, 0, b->y, b->n, b->p0, b->p1);
    return NULL;
}

/* The engine's own product on the same 1024^3 problem, its panels split over the threads as
 * the engine splits them; 0 when the AVX512 set is not in use. */
typedef struct packed_run {
    const float *x, *wp;
    float *y;
    int n, nthreads;
} packed_run;

static void packed_once(void *ctx)
{
    packed_run *p = ctx;
    pthread_t th[16];
    packed_probe band[16];
    int panels = kr_panels(p->n);
    for (int i = 0; i < p->nthreads; i++) {
        band[i] = (packed_probe){
            p->x, p->wp, p->y, p->n, panels * i / p->nthreads, panels * (i + 1) / p->nthreads};
        pthread_create(&th[i], NULL, packed_probe_band, &band[i]);
    }
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(th[i], NULL);
}

static double packed_peak(int nthreads)
{
    if (!kr_gemm_packed_active() || nthreads < 1 || nthreads > 16)
        return 0;
    int n = 1024;
    float *x = malloc(sizeof(float) * n * n), *w = malloc(sizeof(float) * n * n),
          *y = malloc(sizeof(float) * n * n),
          *wp = aligned_alloc(64, sizeof(float) * kr_packed_floats(n, n));
    for (int i = 0; i < n * n; i++)
        x[i] = w[i] = 0.001f * (float)(i % 1000);
    kr_pack_panels(w, n, n, n, wp);
    packed_run p = {x, wp, y, n, nthreads};
    double best = best_gflops(2.0 * n * n * n, packed_once, &p);
    free(x);
    free(w);
    free(y);
    free(wp);
    return best;
}
#else
static double packed_peak(int nthreads)
{
    (void)nthreads;
    return 0;
}
#endif

/* FMA lanes per cycle per core: 16 floats with AVX-512 (two 512-bit FMA pipes on the CPUs that
 * have full-width ones; double-pumped ones reach half), else 8 with AVX2, times two pipes. */
static double nominal_flop_per_cycle(void)
{
#ifdef KR_PANEL
    if (kr_simd_active() == KR_SIMD_AVX512)
        return 64.0;
#endif
    return 32.0;
}

static double nominal_peak(int nthreads)
{
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
            break;
    if (fp)
        fclose(fp);
    return nominal_flop_per_cycle() * (nthreads > 0 ? nthreads : 1) * mhz * 1e-3;
}

/* The default cases: the figures. PyTorch references: upstream 67b630e, torch 1.13,
 * 2 threads, greedy, measured on this machine (docs/PERFORMANCE.md). */
static const bcase default_cases[] = {
    {"small", 400, 120, 1, 512, 42.2, 4.2, 0},  {"small", 400, 120, 4, 512, 0, 0, 0},
    {"small", 400, 120, 16, 512, 0, 0, 0},      {"small", 512, 120, 1, 512, 0, 0, 0},
    {"mini", 400, 120, 1, 2048, 8.93, 0.45, 0}, {"mini", 400, 120, 4, 2048, 0, 0, 0},
    {"small", 100, 10, 1, 512, 0.676, 0, 0},    {"small", 100, 10, 4, 512, 0, 0, 0},
};

/* "model:T:P:S[:M]", or "batchN:model:T:P:S[:M]" */
static int parse_case(const char *s, bcase *c)
{
    char model[16];
    int M = 0, batch = 0, used = 0;
    memset(c, 0, sizeof(*c));
    if (sscanf(s, "batch%d:%n", &batch, &used) == 1 && used > 0)
        s += used;
    if (sscanf(s, "%15[a-z]:%d:%d:%d:%d", model, &c->T, &c->P, &c->S, &M) < 4)
        return -1;
    if (strcmp(model, "small") && strcmp(model, "mini"))
        return -1;
    c->model = strcmp(model, "small") ? "mini" : "small";
    c->M = M > 0 ? M : strcmp(model, "small") ? 2048 : 512;
    for (size_t i = 0; i < sizeof(default_cases) / sizeof(default_cases[0]); i++) {
        const bcase *d = &default_cases[i];
        if (!strcmp(d->model, c->model) && d->T == c->T && d->P == c->P && d->S == c->S &&
            d->M == c->M)
            *c = *d;
    }
    c->batch = batch;
    return c->T > 0 && c->P > 0 && c->S > 0 && batch >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s <model-dir> [repeats] [threads] [model:T:P:S[:M] ...]\n"
                "  model is small or mini; M defaults to 512 (small) / 2048 (mini)\n",
                argv[0]);
        return 2;
    }
    const char *root = argv[1];
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    threads = argc > 3 ? atoi(argv[3]) : 2;
    if (reps < 1 || reps > 64)
        reps = 3;
    bcase cases[64];
    int ncases = 0;
    for (int i = 4; i < argc && ncases < 64; i++)
        if (parse_case(argv[i], &cases[ncases++]) != 0) {
            fprintf(stderr, "bad case %s\n", argv[i]);
            return 2;
        }
    if (ncases == 0)
        for (size_t i = 0; i < sizeof(default_cases) / sizeof(default_cases[0]); i++)
            cases[ncases++] = default_cases[i];
    const char *mr = getenv("KRONOS_MAX_BATCH_ROWS");
    max_rows = mr ? atoi(mr) : 0;
    /* KRONOS_SIMD=portable|avx2|avx512 picks the kernel set as kronosd does (each set's cost,
     * docs/PERFORMANCE.md); unset or auto: the best the CPU runs. */
    const char *simd = getenv("KRONOS_SIMD");
    if (simd && *simd && strcmp(simd, "auto") != 0) {
        int found = 0;
        for (kr_simd k = KR_SIMD_PORTABLE; k <= KR_SIMD_AVX2 + 1 && !found; k++)
            if (strcmp(simd, kr_simd_name(k)) == 0) {
                found = 1;
                if (kr_simd_use(k) != 0) {
                    fprintf(stderr, "KRONOS_SIMD=%s: not supported here\n", simd);
                    return 2;
                }
            }
        if (!found) {
            fprintf(stderr, "KRONOS_SIMD=%s: unknown kernel set\n", simd);
            return 2;
        }
    }
    printf("kernels: %s\n", kr_simd_name(kr_simd_active()));
    openblas_set_num_threads(threads); /* for the sgemm reference figure only */
    char p[1024], q[1024], err[512];
    mkdir(root, 0755);
    struct {
        const char *name, *tok;
        int d, L, H, ff, group;
    } models[] = {{"small", "tokenizer-base", 512, 8, 8, 1024, 4},
                  {"mini", "tokenizer-2k", 256, 4, 4, 512, 5}};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s/model.safetensors", root, models[i].name);
        struct stat st;
        if (stat(p, &st) != 0) {
            snprintf(p, sizeof(p), "%s/%s", root, models[i].name);
            snprintf(q, sizeof(q), "%s/%s", root, models[i].tok);
            if (write_model(p, models[i].d, models[i].L, models[i].H, models[i].ff) ||
                write_tokenizer(q, models[i].group))
                return 1;
        }
    }
    double measured = sgemm_gflops = sgemm_peak(), nominal = nominal_peak(threads),
           packed = packed_peak(threads);
    product_gflops = packed > measured ? packed : measured;
    peak_gflops = product_gflops > nominal ? product_gflops : nominal;
    printf("threads %d, OpenBLAS sgemm 1024^3: %.1f GFLOP/s", threads, measured);
    if (packed > 0)
        printf(", packed AVX-512 product 1024^3: %.1f GFLOP/s", packed);
    printf(", nominal %.1f GFLOP/s (%.0f FLOP/cycle/core at the base clock)\n", nominal,
           nominal_flop_per_cycle());
    openblas_set_num_threads(1); /* the engine threads through its own pool */
    for (int i = 0; i < ncases; i++) {
        kr_tokenizer tok;
        kr_model m;
        int small = !strcmp(cases[i].model, "small");
        snprintf(p, sizeof(p), "%s/%s", root, cases[i].model);
        snprintf(q, sizeof(q), "%s/%s", root, small ? "tokenizer-base" : "tokenizer-2k");
        if (kr_tokenizer_load(&tok, q, err, sizeof(err)) ||
            kr_model_load(&m, p, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (cases[i].batch > 0)
            run_batch(&tok, &m, &cases[i], reps);
        else
            run(&tok, &m, &cases[i], reps);
        kr_model_free(&m);
        kr_tokenizer_free(&tok);
    }
    return 0;
}
