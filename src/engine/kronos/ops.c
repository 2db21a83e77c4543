#include "engine/kronos/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "engine/kronos/kernels.h"

/* The pool of the forecast running on this thread (helpers see NULL and run inline). */
static _Thread_local kr_pool *current_pool;

void kr_ops_set_pool(kr_pool *p)
{
    current_pool = p;
}

/* Work below this many multiply-adds is not worth waking the helpers for. */
#define PAR_MIN_MACS (1u << 18)

typedef struct lin_job {
    const kr_linear *l;
    const float *x;
    size_t rows;
    float *y;
    int accumulate, chunks;
} lin_job;

static void add_bias(const kr_linear *l, size_t rows, float *y)
{
    if (!l->b)
        return;
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * (size_t)l->out;
        for (int j = 0; j < l->out; j++)
            row[j] += l->b[j];
    }
}

/* Big row counts: each task multiplies a band of rows with single-threaded sgemm. */
static void lin_rows_task(void *ctx, int i, int t)
{
    (void)t;
    lin_job *j = ctx;
    size_t r0 = j->rows * (size_t)i / (size_t)j->chunks,
           r1 = j->rows * (size_t)(i + 1) / (size_t)j->chunks;
    if (r1 <= r0)
        return;
    const kr_linear *l = j->l;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), l->out, l->in, 1.0f,
                j->x + r0 * (size_t)l->in, l->in, l->w, l->in, j->accumulate ? 1.0f : 0.0f,
                j->y + r0 * (size_t)l->out, l->out);
    add_bias(l, r1 - r0, j->y + r0 * (size_t)l->out);
}

/* Output columns [c0, c1) of task i: bands of whole weight rows, multiples of 16. */
static void col_band(const lin_job *j, int i, int *c0, int *c1)
{
    int out = j->l->out;
    *c0 = (int)((long)out * i / j->chunks) & ~15;
    *c1 = i == j->chunks - 1 ? out : (int)((long)out * (i + 1) / j->chunks) & ~15;
}

/* Few rows: each task streams a band of weight rows (output columns). */
static void lin_cols_task(void *ctx, int i, int t)
{
    (void)t;
    lin_job *j = ctx;
    const kr_linear *l = j->l;
    int c0, c1;
    col_band(j, i, &c0, &c1);
    if (c1 <= c0)
        return;
    kr_gemm_skinny(j->x, (int)j->rows, l->in, l->w + (size_t)c0 * l->in, c1 - c0,
                   l->b ? l->b + c0 : NULL, j->accumulate, j->y + c0, l->out);
}

/* Moderate row counts: sgemm on a band of output columns, so each weight is read by one task. */
static void lin_colgemm_task(void *ctx, int i, int t)
{
    (void)t;
    lin_job *j = ctx;
    const kr_linear *l = j->l;
    int c0, c1;
    col_band(j, i, &c0, &c1);
    if (c1 <= c0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->rows, c1 - c0, l->in, 1.0f, j->x,
                l->in, l->w + (size_t)c0 * l->in, l->in, j->accumulate ? 1.0f : 0.0f, j->y + c0,
                l->out);
    if (l->b)
        for (size_t r = 0; r < j->rows; r++)
            for (int c = c0; c < c1; c++)
                j->y[r * (size_t)l->out + c] += l->b[c];
}

/* Row bands below this many rows per thread split the output columns instead. */
#define ROW_BAND_MIN 192

typedef struct multi_job {
    lin_job parts[KR_MULTI_MAX];
    int count, per; /* tasks per linear */
    int by_cols;    /* 0: row bands (sgemm), 1: column bands (skinny), 2: column bands (sgemm) */
} multi_job;

static void multi_task(void *ctx, int i, int t)
{
    multi_job *m = ctx;
    lin_job *j = &m->parts[i / m->per];
    if (m->by_cols == 1)
        lin_cols_task(j, i % m->per, t);
    else if (m->by_cols == 2)
        lin_colgemm_task(j, i % m->per, t);
    else
        lin_rows_task(j, i % m->per, t);
}

/* Several linears on the same input, fanned out in one pool dispatch. */
static void linear_many(const kr_linear *const *ls, int count, const float *x, size_t rows,
                        float *const *ys, int accumulate)
{
    kr_pool *p = current_pool;
    int nt = kr_pool_size(p);
    double macs = 0;
    for (int i = 0; i < count; i++)
        macs += (double)rows * ls[i]->in * ls[i]->out;
    int skinny = rows <= KR_SKINNY_MAX_ROWS;
    if (nt == 1 || macs < PAR_MIN_MACS) {
        for (int i = 0; i < count; i++) {
            if (skinny)
                kr_gemm_skinny(x, (int)rows, ls[i]->in, ls[i]->w, ls[i]->out, ls[i]->b, accumulate,
                               ys[i], ls[i]->out);
            else {
                lin_job j = {ls[i], x, rows, ys[i], accumulate, 1};
                lin_rows_task(&j, 0, 0);
            }
        }
        return;
    }
    int mode = skinny ? 1 : rows < (size_t)ROW_BAND_MIN * nt ? 2 : 0;
    multi_job m = {.count = count, .per = nt, .by_cols = mode};
    for (int i = 0; i < count; i++)
        m.parts[i] = (lin_job){ls[i], x, rows, ys[i], accumulate, nt};
    kr_pool_run(p, count * nt, multi_task, &m);
}

static void linear(const kr_linear *l, const float *x, size_t rows, float *y, int accumulate)
{
    linear_many(&l, 1, x, rows, &y, accumulate);
}

void kr_linear_many(const kr_linear *const *ls, int count, const float *x, size_t rows,
                    float *const *ys)
{
    for (int i = 0; i < count; i += KR_MULTI_MAX)
        linear_many(ls + i, count - i < KR_MULTI_MAX ? count - i : KR_MULTI_MAX, x, rows, ys + i,
                    0);
}

void kr_linear_fwd(const kr_linear *l, const float *x, size_t rows, float *y)
{
    linear(l, x, rows, y, 0);
}

void kr_linear_acc(const kr_linear *l, const float *x, size_t rows, float *y)
{
    linear(l, x, rows, y, 1);
}

void kr_rmsnorm(const float *x, const float *w, size_t rows, int d, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * (size_t)d;
        float *o = y + r * (size_t)d;
        float ss = 0.0f;
        for (int i = 0; i < d; i++)
            ss += a[i] * a[i];
        float inv = 1.0f / sqrtf(ss / (float)d + 1e-5f);
        for (int i = 0; i < d; i++)
            o[i] = (a[i] * inv) * w[i];
    }
}

static void rope_row(float *row, int d, int hd, const float *cs, const float *sn)
{
    int h = hd / 2;
    for (int o = 0; o < d; o += hd) {
        float *a = row + o, *b = row + o + h;
        for (int i = 0; i < h; i++) {
            float x1 = a[i], x2 = b[i];
            a[i] = x1 * cs[i] - x2 * sn[i];
            b[i] = x2 * cs[i] + x1 * sn[i];
        }
    }
}

void kr_rope(float *x, float *y, size_t rows, int d, int hd, const float *inv_freq, int pos0)
{
    int h = hd / 2;
    float cs[KR_MAX_HEAD_DIM / 2], sn[KR_MAX_HEAD_DIM / 2];
    for (size_t r = 0; r < rows; r++) {
        float p = (float)(pos0 + (int)r);
        for (int i = 0; i < h; i++) {
            float th = p * inv_freq[i];
            cs[i] = cosf(th);
            sn[i] = sinf(th);
        }
        rope_row(x + r * (size_t)d, d, hd, cs, sn);
        if (y)
            rope_row(y + r * (size_t)d, d, hd, cs, sn);
    }
}

typedef struct ew_job {
    float *g;
    const float *u;
    size_t n;
    int chunks;
} ew_job;

static void swiglu_task(void *ctx, int i, int t)
{
    (void)t;
    ew_job *j = ctx;
    size_t a = j->n * (size_t)i / (size_t)j->chunks, b = j->n * (size_t)(i + 1) / (size_t)j->chunks;
    kr_swiglu_fast(j->g + a, j->u + a, b - a);
}

void kr_swiglu(float *g, const float *u, size_t n)
{
    kr_pool *p = current_pool;
    int chunks = n >= (1u << 16) ? kr_pool_size(p) : 1;
    ew_job j = {g, u, n, chunks};
    kr_pool_run(chunks > 1 ? p : NULL, chunks, swiglu_task, &j);
}

typedef struct attn_job {
    const float *q, *k, *v;
    int n, d, hd;
    float *out, *scratch;
} attn_job;

/* Query rows are taken in bands so the masked upper triangle is mostly never computed. */
#define ATTN_BAND 128

size_t kr_attention_scratch(size_t n)
{
    return (n < ATTN_BAND ? n : ATTN_BAND) * n;
}

static void attn_head_task(void *ctx, int h, int t)
{
    attn_job *j = ctx;
    int n = j->n, d = j->d, hd = j->hd, o = h * hd;
    float *sc = j->scratch + (size_t)t * kr_attention_scratch((size_t)n);
    float scale = 1.0f / sqrtf((float)hd);
    for (int r0 = 0; r0 < n; r0 += ATTN_BAND) {
        int rows = n - r0 < ATTN_BAND ? n - r0 : ATTN_BAND, keys = r0 + rows;
        /* S = Q_band K_hᵀ over keys 0..keys-1 (row stride keys) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, hd, scale,
                    j->q + (size_t)r0 * d + o, d, j->k + o, d, 0.0f, sc, keys);
        for (int i = 0; i < rows; i++) {
            float *srow = sc + (size_t)i * keys;
            int visible = r0 + i + 1;
            kr_softmax_fast(srow, visible);
            memset(srow + visible, 0, sizeof(float) * (size_t)(keys - visible));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, keys, 1.0f, sc, keys,
                    j->v + o, d, 0.0f, j->out + (size_t)r0 * d + o, d);
    }
}

void kr_attention_causal(const float *q, const float *k, const float *v, int n, int d, int hd,
                         float *out, float *scratch)
{
    attn_job j = {q, k, v, n, d, hd, out, scratch};
    kr_pool_run(current_pool, d / hd, attn_head_task, &j);
}

void kr_attention_row_head(const float *q, const float *k0, const float *v0, int n0,
                           const float *k1, const float *v1, int n1, int d, int hd, int o,
                           float *out, float *scratch)
{
    float scale = 1.0f / sqrtf((float)hd);
    kr_attn_scores(q + o, k0 + o, n0, d, hd, scale, scratch);
    if (n1 > 0)
        kr_attn_scores(q + o, k1 + o, n1, d, hd, scale, scratch + n0);
    kr_softmax_fast(scratch, n0 + n1);
    float *oh = out + o;
    memset(oh, 0, sizeof(float) * (size_t)hd);
    kr_attn_mix(scratch, v0 + o, n0, d, hd, oh);
    if (n1 > 0)
        kr_attn_mix(scratch + n0, v1 + o, n1, d, hd, oh);
}

typedef struct rows_job {
    const float *q, *k0, *v0, *k1, *v1;
    int n0, n1, stride1, d, hd, heads;
    float *out, *scratch;
} rows_job;

static void rows_task(void *ctx, int i, int t)
{
    rows_job *j = ctx;
    int s = i / j->heads, h = i % j->heads;
    size_t so = (size_t)s * j->d, s1 = (size_t)s * j->stride1 * j->d;
    kr_attention_row_head(j->q + so, j->k0, j->v0, j->n0, j->n1 ? j->k1 + s1 : NULL,
                          j->n1 ? j->v1 + s1 : NULL, j->n1, j->d, j->hd, h * j->hd, j->out + so,
                          j->scratch + (size_t)t * (j->n0 + j->n1));
}

void kr_attention_rows(const float *q, int S, const float *k0, const float *v0, int n0,
                       const float *k1, const float *v1, int n1, int stride1, int d, int hd,
                       float *out, float *scratch)
{
    rows_job j = {q, k0, v0, k1, v1, n0, n1, stride1, d, hd, d / hd, out, scratch};
    double macs = 2.0 * S * (double)(n0 + n1) * d;
    kr_pool_run(macs >= (1 << 17) ? current_pool : NULL, S * (d / hd), rows_task, &j);
}
