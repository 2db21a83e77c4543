#include "engine/kronos/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/kronos/kernels.h"

/* The pool of the forecast running on this thread (helpers see NULL and run inline). */
static _Thread_local kr_pool *current_pool;

void kr_ops_set_pool(kr_pool *p)
{
    current_pool = p;
}

/* The stop of the pass running on this thread; tasks on helpers get it through their job. */
static _Thread_local kr_stop *current_stop;

void kr_ops_set_stop(kr_stop *s)
{
    current_stop = s;
}

bool kr_stop_check(kr_stop *s)
{
    if (!s)
        return false;
    if (atomic_load_explicit(&s->stopped, memory_order_relaxed))
        return true;
    if (!s->poll || !s->poll(s->ctx))
        return false;
    atomic_store_explicit(&s->stopped, true, memory_order_relaxed);
    return true;
}

bool kr_ops_stopped(void)
{
    return kr_stop_check(current_stop);
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

/* Packed weights (the AVX512 set): each task multiplies every row with a band of panels. */
static void lin_packed_task(void *ctx, int i, int t)
{
    (void)t;
    lin_job *j = ctx;
    const kr_linear *l = j->l;
    int panels = kr_panels(l->out);
    int p0 = (int)((long)panels * i / j->chunks), p1 = (int)((long)panels * (i + 1) / j->chunks);
    if (p1 > p0)
        kr_gemm_packed(j->x, (int)j->rows, l->in, l->in, l->wp, l->out, l->b, j->accumulate, j->y,
                       l->out, p0, p1);
}

/* Row bands below this many rows per thread split the output columns instead. */
#define ROW_BAND_MIN 192

enum lin_mode { BY_ROWS, BY_COLS_SKINNY, BY_COLS_SGEMM, BY_PANELS };

typedef struct multi_job {
    lin_job parts[KR_MULTI_MAX];
    int count, per; /* tasks per linear */
    enum lin_mode mode;
} multi_job;

static void multi_task(void *ctx, int i, int t)
{
    multi_job *m = ctx;
    lin_job *j = &m->parts[i / m->per];
    switch (m->mode) {
    case BY_COLS_SKINNY:
        lin_cols_task(j, i % m->per, t);
        break;
    case BY_COLS_SGEMM:
        lin_colgemm_task(j, i % m->per, t);
        break;
    case BY_PANELS:
        lin_packed_task(j, i % m->per, t);
        break;
    default:
        lin_rows_task(j, i % m->per, t);
    }
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
    bool packed = rows >= KR_PACKED_MIN_ROWS && kr_gemm_packed_active();
    for (int i = 0; i < count; i++)
        packed = packed && ls[i]->wp;
    enum lin_mode mode = packed                             ? BY_PANELS
                         : rows <= KR_SKINNY_MAX_ROWS       ? BY_COLS_SKINNY
                         : rows < (size_t)ROW_BAND_MIN * nt ? BY_COLS_SGEMM
                                                            : BY_ROWS;
    if (nt == 1 || macs < PAR_MIN_MACS) {
        for (int i = 0; i < count; i++) {
            lin_job j = {ls[i], x, rows, ys[i], accumulate, 1};
            if (mode == BY_PANELS)
                lin_packed_task(&j, 0, 0);
            else if (mode == BY_COLS_SKINNY)
                kr_gemm_skinny(x, (int)rows, ls[i]->in, ls[i]->w, ls[i]->out, ls[i]->b, accumulate,
                               ys[i], ls[i]->out);
            else
                lin_rows_task(&j, 0, 0);
        }
        return;
    }
    multi_job m = {.count = count, .per = nt, .mode = mode};
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

/* Row-wise work (fn over rows [r0, r1) of d floats each) fanned out in row chunks once it is
 * big enough: the norms and RoPE of a window's hundreds of rows otherwise run on one core while
 * the other waits. */
typedef struct rows_job {
    void (*fn)(void *ctx, size_t r0, size_t r1);
    void *ctx;
    size_t rows;
    int chunks;
} rows_job;

static void rows_task(void *ctx, int i, int t)
{
    (void)t;
    rows_job *j = ctx;
    j->fn(j->ctx, j->rows * (size_t)i / (size_t)j->chunks,
          j->rows * (size_t)(i + 1) / (size_t)j->chunks);
}

static void for_rows(size_t rows, int d, void (*fn)(void *, size_t, size_t), void *ctx)
{
    kr_pool *p = current_pool;
    int chunks = rows * (size_t)d >= (1u << 16) ? kr_pool_size(p) : 1;
    if (chunks <= 1) {
        fn(ctx, 0, rows);
        return;
    }
    rows_job j = {fn, ctx, rows, chunks};
    kr_pool_run(p, chunks, rows_task, &j);
}

typedef struct norm_job {
    const float *x, *w;
    float *y;
    int d;
} norm_job;

static void rmsnorm_rows(void *ctx, size_t r0, size_t r1)
{
    norm_job *j = ctx;
    int d = j->d;
    for (size_t r = r0; r < r1; r++) {
        const float *a = j->x + r * (size_t)d;
        float *o = j->y + r * (size_t)d;
        float inv = 1.0f / sqrtf(kr_dot(a, a, d) / (float)d + 1e-5f);
        for (int i = 0; i < d; i++)
            o[i] = (a[i] * inv) * j->w[i];
    }
}

void kr_rmsnorm(const float *x, const float *w, size_t rows, int d, float *y)
{
    norm_job j = {x, w, y, d};
    for_rows(rows, d, rmsnorm_rows, &j);
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

typedef struct rope_job {
    float *x, *y;
    int d, hd, pos0;
    const float *inv_freq;
} rope_job;

static void rope_rows(void *ctx, size_t r0, size_t r1)
{
    rope_job *j = ctx;
    int h = j->hd / 2, d = j->d;
    float cs[KR_MAX_HEAD_DIM / 2], sn[KR_MAX_HEAD_DIM / 2];
    for (size_t r = r0; r < r1; r++) {
        float p = (float)(j->pos0 + (int)r);
        for (int i = 0; i < h; i++) {
            float th = p * j->inv_freq[i];
            cs[i] = cosf(th);
            sn[i] = sinf(th);
        }
        rope_row(j->x + r * (size_t)d, d, j->hd, cs, sn);
        if (j->y)
            rope_row(j->y + r * (size_t)d, d, j->hd, cs, sn);
    }
}

void kr_rope(float *x, float *y, size_t rows, int d, int hd, const float *inv_freq, int pos0)
{
    rope_job j = {x, y, d, hd, pos0, inv_freq};
    for_rows(rows, y ? 2 * d : d, rope_rows, &j);
}

typedef struct swiglu_job {
    float *g;
    const float *u;
} swiglu_job;

static void swiglu_span(void *ctx, size_t a, size_t b)
{
    swiglu_job *j = ctx;
    kr_swiglu_fast(j->g + a, j->u + a, b - a);
}

void kr_swiglu(float *g, const float *u, size_t n)
{
    swiglu_job j = {g, u};
    for_rows(n, 1, swiglu_span, &j);
}

/* Query rows are taken in bands so the masked upper triangle is mostly never computed. */
#define ATTN_BAND 128

size_t kr_attention_scratch(size_t n)
{
    return (n < ATTN_BAND ? n : ATTN_BAND) * n;
}

/* With the AVX512 set a band's keys and values are packed, ATTN_PACK_KEYS at a time, for heads up
 * to ATTN_PACK_HD wide, into the end of the thread's scratch (+16: room to align it). */
#define ATTN_PACK_KEYS 256
#define ATTN_PACK_HD 128
#define ATTN_PACK_FLOATS (ATTN_PACK_KEYS * ATTN_PACK_HD + 16)

size_t kr_attention_scratch_keys(size_t rows, size_t keys)
{
    return (rows < ATTN_BAND ? rows : ATTN_BAND) * keys + ATTN_PACK_FLOATS;
}

static int seg_keys(const kr_attn_seg *s)
{
    int n = 0;
    for (int p = 0; p < s->npieces; p++)
        n += s->n[p];
    return n;
}

/* Piece p's rows of the head at column o: where they start and the stride between them. */
static const float *piece_head(const float *base, const kr_attn_seg *s, int p, int o, int hd)
{
    return s->hs[p] ? base + (size_t)(o / hd) * s->hs[p] : base + o;
}

static int piece_ld(const kr_attn_seg *s, int p, int d, int hd)
{
    return s->hs[p] ? hd : d;
}

/* One query row against every visible key (the decode step and the dependency layer). */
static void attn_row(const kr_attn_seg *s, int row, int visible, int d, int hd, int o, float *sc)
{
    float scale = 1.0f / sqrtf((float)hd);
    const float *q = s->q + (size_t)row * d + o;
    int at = 0;
    for (int p = 0; p < s->npieces && at < visible; p++) {
        int n = s->n[p] < visible - at ? s->n[p] : visible - at;
        kr_attn_scores(q, piece_head(s->k[p], s, p, o, hd), n, piece_ld(s, p, d, hd), hd, scale,
                       sc + at);
        at += n;
    }
    kr_softmax_fast(sc, visible);
    float *oh = s->out + (size_t)row * d + o;
    memset(oh, 0, sizeof(float) * (size_t)hd);
    at = 0;
    for (int p = 0; p < s->npieces && at < visible; p++) {
        int n = s->n[p] < visible - at ? s->n[p] : visible - at;
        kr_attn_mix(sc + at, piece_head(s->v[p], s, p, o, hd), n, piece_ld(s, p, d, hd), hd, oh);
        at += n;
    }
}

/* Keys [at, at + n) of a piece in packed chunks: scores (unscaled) into sc, rows `keys` apart. */
static void band_scores_packed(const float *q, int rows, const float *k, int n, int ld, int d,
                               int hd, float *sc, int keys, float *pack)
{
    for (int c = 0; c < n; c += ATTN_PACK_KEYS) {
        int cn = n - c < ATTN_PACK_KEYS ? n - c : ATTN_PACK_KEYS;
        kr_pack_panels(k + (size_t)c * ld, cn, hd, ld, pack);
        kr_gemm_packed(q, rows, hd, d, pack, cn, NULL, 0, sc + c, keys, 0, kr_panels(cn));
    }
}

/* out (+)= probabilities × values for keys [0, n) of a piece, in packed chunks. */
static void band_mix_packed(const float *sc, int rows, int keys, const float *v, int n, int ld,
                            int d, int hd, float *out, int accumulate, float *pack)
{
    for (int c = 0; c < n; c += ATTN_PACK_KEYS) {
        int cn = n - c < ATTN_PACK_KEYS ? n - c : ATTN_PACK_KEYS;
        kr_pack_panels_t(v + (size_t)c * ld, cn, hd, ld, pack);
        kr_gemm_packed(sc + c, rows, cn, keys, pack, hd, NULL, accumulate || c > 0, out, d, 0,
                       kr_panels(hd));
    }
}

/* A band of query rows [r0, r0 + rows) of one head: scores by sgemm per key piece, masked
 * softmax, then the values by sgemm per piece. */
static void attn_band(const kr_attn_seg *s, int r0, int rows, int d, int hd, int o, float *sc,
                      size_t per_thread)
{
    int total = seg_keys(s);
    int own0 = s->causal ? total - s->rows : total; /* keys every row of the segment sees */
    int keys = s->causal ? own0 + r0 + rows : total;
    float scale = 1.0f / sqrtf((float)hd);
    const float *q = s->q + (size_t)r0 * d + o;
    /* the AVX512 set: the packed product, which runs this band's small products (hd deep) at
     * about twice OpenBLAS's rate; its chunk buffer is the end of the thread's scratch */
    float *pack = NULL;
    if (kr_gemm_packed_active() && hd <= ATTN_PACK_HD)
        pack = (float *)(((uintptr_t)(sc + per_thread - ATTN_PACK_FLOATS) + 63) & ~(uintptr_t)63);
    int at = 0;
    for (int p = 0; p < s->npieces && at < keys; p++) {
        int n = s->n[p] < keys - at ? s->n[p] : keys - at, ld = piece_ld(s, p, d, hd);
        const float *k = piece_head(s->k[p], s, p, o, hd);
        if (pack)
            band_scores_packed(q, rows, k, n, ld, d, hd, sc + at, keys, pack);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, hd, scale, q, d, k, ld,
                        0.0f, sc + at, keys);
        at += n;
    }
    for (int i = 0; i < rows; i++) {
        float *srow = sc + (size_t)i * keys;
        int visible = s->causal ? own0 + r0 + i + 1 : keys;
        if (pack)
            for (int j = 0; j < visible; j++)
                srow[j] *= scale;
        kr_softmax_fast(srow, visible);
        memset(srow + visible, 0, sizeof(float) * (size_t)(keys - visible));
    }
    float *out = s->out + (size_t)r0 * d + o;
    at = 0;
    for (int p = 0; p < s->npieces && at < keys; p++) {
        int n = s->n[p] < keys - at ? s->n[p] : keys - at, ld = piece_ld(s, p, d, hd);
        const float *v = piece_head(s->v[p], s, p, o, hd);
        if (pack)
            band_mix_packed(sc + at, rows, keys, v, n, ld, d, hd, out, at > 0, pack);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, n, 1.0f, sc + at, keys,
                        v, ld, at ? 1.0f : 0.0f, out, d);
        at += n;
    }
}

/*
 * Consecutive segments whose first piece is the same keys (the samples of one forecast against
 * its shared prefix: one row each in a cached step, a run of rows each in a sliding window) run
 * as a group: the scores against that piece and the values it contributes are one matrix
 * product over all their rows, so the shared keys are read (and packed) once; each segment's
 * own keys (its other pieces, causal for runs of rows) are added per segment.
 */
static bool groups_with(const kr_attn_seg *a, const kr_attn_seg *b, int d)
{
    return a->npieces >= 1 && b->npieces >= 1 && a->n[0] > 0 && a->k[0] == b->k[0] &&
           a->v[0] == b->v[0] && a->n[0] == b->n[0] && a->hs[0] == b->hs[0] &&
           a->causal == b->causal && b->q == a->q + (size_t)a->rows * d &&
           b->out == a->out + (size_t)a->rows * d;
}

/* The keys after piece 0 that row lr of segment s sees. */
static int private_visible(const kr_attn_seg *s, int lr)
{
    int priv = seg_keys(s) - s->n[0];
    return s->causal ? priv - (s->rows - 1 - lr) : priv;
}

/* The part of a band that falls in one segment of a group: its local rows [a, a + cnt), at band
 * row bo. */
typedef struct band_part {
    const kr_attn_seg *s;
    int a, cnt, bo;
} band_part;

static int band_parts(const kr_attn_seg *g, int r0, int n, band_part *parts)
{
    int np = 0;
    for (int i = 0, at = 0; at < r0 + n; at += g[i++].rows) {
        int a = r0 > at ? r0 - at : 0;
        int end = r0 + n < at + g[i].rows ? r0 + n - at : g[i].rows;
        if (end > a)
            parts[np++] = (band_part){&g[i], a, end - a, at + a - r0};
    }
    return np;
}

/* Rows [r0, r0 + n) of the group g (its rows counted across its segments), head at column o. */
/* One task of a group: a product per sample segment, so the stop is polled before each (a
 * cancelled pass is dropped whole, so what is left undone does not matter). */
static void attn_group(const kr_attn_seg *g, int r0, int n, int d, int hd, int o, float *sc,
                       kr_stop *stop)
{
    band_part parts[ATTN_BAND];
    int np = band_parts(g, r0, n, parts), n0 = g->n[0], ld = n0;
    for (int i = 0; i < np; i++) {
        int vis = n0 + private_visible(parts[i].s, parts[i].a + parts[i].cnt - 1);
        ld = vis > ld ? vis : ld;
    }
    float scale = 1.0f / sqrtf((float)hd);
    const float *q0 = parts[0].s->q + (size_t)parts[0].a * d;
    float *out0 = parts[0].s->out + (size_t)parts[0].a * d;
    int ld0 = piece_ld(g, 0, d, hd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n0, hd, scale, q0 + o, d,
                piece_head(g->k[0], g, 0, o, hd), ld0, 0.0f, sc, ld);
    for (int i = 0; i < np; i++) {
        if (kr_stop_check(stop))
            return;
        const kr_attn_seg *s = parts[i].s;
        int a = parts[i].a, cnt = parts[i].cnt, bo = parts[i].bo;
        int last = n0 + private_visible(s, a + cnt - 1), at = n0;
        for (int p = 1; p < s->npieces && at < last; p++) {
            int kp = s->n[p] < last - at ? s->n[p] : last - at, pld = piece_ld(s, p, d, hd);
            const float *k = piece_head(s->k[p], s, p, o, hd);
            if (cnt == 1)
                kr_attn_scores(s->q + (size_t)a * d + o, k, kp, pld, hd, scale,
                               sc + (size_t)bo * ld + at);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, kp, hd, scale,
                            s->q + (size_t)a * d + o, d, k, pld, 0.0f, sc + (size_t)bo * ld + at,
                            ld);
            at += kp;
        }
        for (int r = 0; r < cnt; r++) {
            float *srow = sc + (size_t)(bo + r) * ld;
            int vis = n0 + private_visible(s, a + r);
            kr_softmax_fast(srow, vis);
            memset(srow + vis, 0, sizeof(float) * (size_t)(ld - vis));
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, n0, 1.0f, sc, ld,
                piece_head(g->v[0], g, 0, o, hd), ld0, 0.0f, out0 + o, d);
    for (int i = 0; i < np; i++) {
        if (kr_stop_check(stop))
            return;
        const kr_attn_seg *s = parts[i].s;
        int a = parts[i].a, cnt = parts[i].cnt, bo = parts[i].bo;
        int last = n0 + private_visible(s, a + cnt - 1), at = n0;
        for (int p = 1; p < s->npieces && at < last; p++) {
            int kp = s->n[p] < last - at ? s->n[p] : last - at, pld = piece_ld(s, p, d, hd);
            const float *v = piece_head(s->v[p], s, p, o, hd);
            if (cnt == 1)
                kr_attn_mix(sc + (size_t)bo * ld + at, v, kp, pld, hd, s->out + (size_t)a * d + o);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cnt, hd, kp, 1.0f,
                            sc + (size_t)bo * ld + at, ld, v, pld, 1.0f, s->out + (size_t)a * d + o,
                            d);
            at += kp;
        }
    }
}

/* A job is a segment, or a group of `count` segments starting at `first`, `rows` rows in all. */
typedef struct segs_job {
    const kr_attn_seg *segs;
    const int *first, *count, *rows, *task0; /* per job; task0[jobs]: all tasks */
    int jobs, d, hd, heads;
    float *scratch;
    size_t per_thread;
    kr_stop *stop;
} segs_job;

static int job_bands(int rows)
{
    return (rows + ATTN_BAND - 1) / ATTN_BAND;
}

static void segs_task(void *ctx, int i, int t)
{
    segs_job *j = ctx;
    if (kr_stop_check(j->stop))
        return;
    int lo = 0, hi = j->jobs - 1;
    while (lo < hi) { /* the job whose tasks hold i */
        int mid = (lo + hi + 1) / 2;
        if (j->task0[mid] <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    const kr_attn_seg *s = &j->segs[j->first[lo]];
    int count = j->count[lo], rows = j->rows[lo];
    int k = i - j->task0[lo], bands = job_bands(rows);
    int h = k / bands, b = k % bands, o = h * j->hd;
    float *sc = j->scratch + (size_t)t * j->per_thread;
    int r0 = b * ATTN_BAND, n = rows - r0 < ATTN_BAND ? rows - r0 : ATTN_BAND;
    if (count > 1)
        attn_group(s, r0, n, j->d, j->hd, o, sc, j->stop);
    else if (s->rows == 1)
        attn_row(s, 0, seg_keys(s), j->d, j->hd, o, sc);
    else
        attn_band(s, r0, n, j->d, j->hd, o, sc, j->per_thread);
}

void kr_attention_segs(const kr_attn_seg *segs, int nseg, int d, int hd, float *scratch,
                       size_t per_thread, int *index)
{
    if (nseg <= 0)
        return;
    int heads = d / hd, jobs = 0, tasks = 0;
    int *first = index, *count = index + nseg, *rows = index + 2 * nseg, *task0 = index + 3 * nseg;
    double macs = 0;
    for (int i = 0; i < nseg;) {
        int g = 1;
        while (i + g < nseg && groups_with(&segs[i + g - 1], &segs[i + g], d))
            g++;
        first[jobs] = i;
        count[jobs] = g;
        rows[jobs] = 0;
        for (int k = i; k < i + g; k++) {
            rows[jobs] += segs[k].rows;
            macs += 2.0 * segs[k].rows * (double)seg_keys(&segs[k]) * d;
        }
        task0[jobs] = tasks;
        tasks += heads * job_bands(rows[jobs++]);
        i += g;
    }
    task0[jobs] = tasks;
    segs_job j = {segs, first, count, rows,    task0,      jobs,
                  d,    hd,    heads, scratch, per_thread, current_stop};
    kr_pool_run(macs >= (1 << 17) ? current_pool : NULL, tasks, segs_task, &j);
}
