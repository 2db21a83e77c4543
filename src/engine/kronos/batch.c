#include "engine/kronos/batch.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kronos/block.h"
#include "engine/kronos/ops.h"
#include "engine/kronos/pool.h"
#include "engine/kronos/sample.h"
#include "engine/kronos/tokenizer.h"
#include "util/clock.h"

#define NF ENGINE_FEATURES
#define RUNNING (-1)

enum item_phase { PH_ENCODE, PH_STEPS, PH_DONE };
enum step_kind { K_PREFILL, K_CACHED, K_SLIDE };

#define NS(seconds) ((uint64_t)((seconds)*1e9))

struct kr_item {
    kr_item *next;
    kr_request q;
    kr_result out;
    engine_cancel *cancel;
    const kr_trace *tr;
    kr_phase_times *times;
    int T, P, S, M, N, W0, scap;
    bool cached;
    int phase, status;
    int step;           /* the generation step in progress */
    int sample;         /* the first sample the step has not done yet (sliding steps span passes) */
    int sample_at_pass; /* sample when the current pass was planned (a dropped pass restores it) */
    char err[128];
    float mean[NF], std[NF], den[NF];
    /* [S][N] tokens, [N] stamps, [S] generators, [T][6] normalised input, [S][P][6] decoded */
    int *tok1, *tok2;
    kr_stamp *stamps;
    rng *rng;
    float *norm, *zs;
    /* Keys/values of the prefix every sample shares: [L][heads][W0][hd] (head-major) and the
     * dependency layer's [W0][d]. Step 0 fills them; sliding steps overwrite them with their
     * shared rows. */
    float *kpre, *vpre, *dkpre, *dvpre;
    /* Each sample's generated rows while the window grows: [L][S][heads][scap][hd] and
     * [S][scap][d]. */
    float *ksuf, *vsuf, *dksuf, *dvsuf;
};

/* One sample's draw in a pass: its context row, the logits row it samples s1 from (shared by
 * the samples of a prefill) and the dependency layer's keys. */
typedef struct unit {
    kr_item *it;
    int s, ctx_row, lrow;
    kr_dep_keys keys;
} unit;

/* rows: of one pass; enc: the encode's input rows (the tokenizer runs over all T at once);
 * keys: the most keys a row attends to; units: sample draws of one pass (each item in a pass
 * draws at least once, so a pass has at most 2 * units segments). */
typedef struct pass_caps {
    size_t rows, enc, keys, units;
} pass_caps;

struct kr_batch {
    const kr_tokenizer *tok;
    const kr_model *m;
    int M, max_rows, threads;
    double clip;
    kr_pool *pool;
    kr_item *items, *rr; /* rr: where the next pass starts filling */
    int last_rows;
    pass_caps cap;       /* what the pass buffers hold */
    size_t sum_S, max_S; /* samples of the items held, the most of one item */
    kr_ws ws;
    float *xw, *tmp, *dk, *dv, *ctxu, *logits, *s2tmp, *probs, *fwork, *dec;
    int *ids1, *ids2, *order, *lsrc, *chosen, *ufirst;
    kr_stamp *st;
    kr_seg *segs;
    unit *units;
    kr_dep_keys *keys;
    kr_item **its;
    /* Stops the work in progress when a forecast in it is cancelled: the tokens watched are
     * those of the pass's items (or of the one encoding or decoding), each once (the series of
     * a request share theirs), so the attention can poll them between its tasks. */
    kr_stop stop;
    engine_cancel **watched;
    int nwatched;
};

/* ---- sizes ---- */

/* The most rows one pass of an item (T, P, S) can stack: step 0's window, a step's sample rows,
 * a sliding window's shared rows plus every sample's own rows, the final decode. */
static size_t item_rows(int M, int T, int P, int S)
{
    size_t need = (size_t)S;
    for (int i = 0; i <= P; i++) { /* i == P: the decode window */
        int n = T + i, w = n < M ? n : M, c = T - (n - w) > 0 ? T - (n - w) : 0;
        size_t r = (size_t)c + (size_t)S * (size_t)(w - c);
        need = r > need ? r : need;
    }
    return need;
}

/* Pass buffers for an item: what its passes need up to max_rows, never less than one unit of
 * work (a window of min(T + P, M) rows), the encode's T rows and its S draws per pass. */
static pass_caps caps_for(int M, int T, int P, int S, int max_rows)
{
    size_t cap = (size_t)(max_rows > 0 ? max_rows : KR_BATCH_ROWS_DEFAULT);
    size_t rows = item_rows(M, T, P, S);
    size_t win = (size_t)(T + P < M ? T + P : M);
    if (rows > cap)
        rows = cap;
    rows = rows > win ? rows : win;
    return (pass_caps){rows, (size_t)T, (size_t)T > win ? (size_t)T : win, (size_t)S};
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* In a function with `size_t *counting` and `bool failed`: adds n elements of *p to *counting
 * when only counting, else allocates them (failed set on the first failure). */
#define ALLOC(p, n)                                                                                \
    do {                                                                                           \
        size_t bytes_ = sizeof(*(p)) * (size_t)(n);                                                \
        if (counting)                                                                              \
            *counting += bytes_;                                                                   \
        else if (!failed && !((p) = malloc(bytes_ ? bytes_ : 1)))                                  \
            failed = true;                                                                         \
    } while (0)

/* Counts (counting != NULL) or allocates the pass buffers. Returns -1 when memory ran out. */
static int pass_alloc(kr_batch *b, const kr_shape *sh, pass_caps c, int threads, size_t *counting)
{
    int d = sh->d, V = sh->v1 > sh->v2 ? sh->v1 : sh->v2;
    int dmax = d > sh->tok_d ? d : sh->tok_d, ffmax = sh->ff > sh->tok_ff ? sh->ff : sh->tok_ff;
    if (counting)
        *counting += kr_ws_bytes(max_sz(c.rows, c.enc), c.keys, 2 * c.units, dmax, ffmax, threads);
    else if (kr_ws_init(&b->ws, max_sz(c.rows, c.enc), c.keys, 2 * c.units, dmax, ffmax, threads) !=
             0)
        return -1;
    bool failed = false;
    ALLOC(b->xw, max_sz(c.rows, c.enc) * dmax);
    ALLOC(b->tmp, max_sz(c.rows * 2 * (size_t)dmax, c.enc));
    ALLOC(b->dk, c.rows * d);
    ALLOC(b->dv, c.rows * d);
    ALLOC(b->dec, c.rows * NF);
    ALLOC(b->ids1, c.rows);
    ALLOC(b->ids2, c.rows);
    ALLOC(b->st, c.rows);
    ALLOC(b->segs, 2 * c.units); /* a shared segment per item, one per draw */
    ALLOC(b->units, c.units);
    ALLOC(b->keys, c.units);
    ALLOC(b->its, c.units);
    ALLOC(b->ctxu, c.units * d);
    ALLOC(b->logits, c.units * V);
    ALLOC(b->s2tmp, 3 * c.units * d);
    ALLOC(b->lsrc, c.units);
    ALLOC(b->chosen, c.units);
    ALLOC(b->probs, (size_t)threads * V); /* sampling scratch per pool thread */
    ALLOC(b->fwork, (size_t)threads * V);
    ALLOC(b->order, (size_t)threads * 4 * V);
    ALLOC(b->ufirst, c.units + 1);
    ALLOC(b->watched, c.units);
    if (!counting) {
        b->cap = c;
    }
    return failed ? -1 : 0;
}

static void pass_free(kr_batch *b)
{
    kr_ws_free(&b->ws);
    void *bufs[] = {b->xw,    b->tmp,    b->dk,     b->dv,     b->dec,    b->ids1,
                    b->ids2,  b->st,     b->segs,   b->units,  b->keys,   b->its,
                    b->ctxu,  b->logits, b->s2tmp,  b->lsrc,   b->chosen, b->probs,
                    b->fwork, b->order,  b->ufirst, b->watched};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
    b->xw = b->tmp = b->dk = b->dv = b->dec = b->ctxu = b->logits = b->s2tmp = NULL;
    b->probs = b->fwork = NULL;
    b->ids1 = b->ids2 = b->lsrc = b->chosen = b->order = b->ufirst = NULL;
    b->st = NULL;
    b->segs = NULL;
    b->units = NULL;
    b->keys = NULL;
    b->its = NULL;
    b->watched = NULL;
    b->cap = (pass_caps){0};
}

/* Makes the pass buffers big enough for an item (T, P, S). */
static int pass_reserve(kr_batch *b, int T, int P, int S)
{
    pass_caps c = caps_for(b->M, T, P, S, b->max_rows), o = b->cap;
    /* several items: a pass draws for as many samples as it has rows, plus one step 0 */
    size_t max_S = max_sz(b->max_S, (size_t)S), sum_S = b->sum_S + (size_t)S;
    if (b->items) {
        c.rows = max_sz(c.rows, b->max_rows);
        c.units = (sum_S < c.rows ? sum_S : c.rows) + max_S;
    }
    if (c.rows <= o.rows && c.enc <= o.enc && c.keys <= o.keys && c.units <= o.units)
        return 0;
    c = (pass_caps){max_sz(c.rows, o.rows), max_sz(c.enc, o.enc), max_sz(c.keys, o.keys),
                    max_sz(c.units, o.units)};
    kr_shape sh = kr_shape_of(b->tok, b->m);
    pass_free(b);
    if (pass_alloc(b, &sh, c, b->threads, NULL) != 0) {
        pass_free(b);
        return -1;
    }
    return 0;
}

static void count_samples(kr_batch *b, int S, int sign)
{
    b->sum_S = sign > 0 ? b->sum_S + (size_t)S : b->sum_S - (size_t)S;
    b->max_S = max_sz(b->max_S, (size_t)S);
}

/* Sizes of one item; the same list allocates it and counts it. */
static void item_plan(kr_item *it, int M, int T, int P, int S, int full_recompute)
{
    it->T = T;
    it->P = P;
    it->S = S;
    it->M = M;
    it->N = T + P;
    it->W0 = T < M ? T : M;
    it->cached = T < M && P > 1 && !full_recompute;
    /* rows the cached steps add per sample: steps 1..min(P - 1, M - T) */
    it->scap = P - 1 < M - T ? P - 1 : M - T;
}

static int item_alloc(kr_item *it, const kr_shape *sh, size_t *counting)
{
    bool failed = false;
    size_t S = (size_t)it->S, d = (size_t)sh->d, L = (size_t)sh->layers;
    ALLOC(it->tok1, S * it->N);
    ALLOC(it->tok2, S * it->N);
    ALLOC(it->stamps, it->N);
    ALLOC(it->rng, S);
    ALLOC(it->norm, (size_t)it->T * NF);
    ALLOC(it->zs, S * it->P * NF);
    if (it->cached || it->S > 1) { /* a lone sample recomputes sliding windows whole */
        ALLOC(it->kpre, L * it->W0 * d);
        ALLOC(it->vpre, L * it->W0 * d);
        ALLOC(it->dkpre, (size_t)it->W0 * d);
        ALLOC(it->dvpre, (size_t)it->W0 * d);
    }
    if (it->cached) {
        size_t suf = L * S * it->scap * d, dsuf = S * it->scap * d;
        ALLOC(it->ksuf, suf);
        ALLOC(it->vsuf, suf);
        ALLOC(it->dksuf, dsuf);
        ALLOC(it->dvsuf, dsuf);
    }
    return failed ? -1 : 0;
}

static void item_free(kr_item *it)
{
    void *bufs[] = {it->tok1, it->tok2,  it->stamps, it->rng,  it->norm, it->zs,    it->kpre,
                    it->vpre, it->dkpre, it->dvpre,  it->ksuf, it->vsuf, it->dksuf, it->dvsuf};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
    free(it);
}

size_t kr_item_bytes(const kr_shape *sh, int max_context, int T, int P, int S)
{
    kr_item it = {0};
    size_t bytes = sizeof(kr_item);
    item_plan(&it, max_context, T, P, S, 0);
    item_alloc(&it, sh, &bytes);
    return bytes;
}

size_t kr_batch_bytes(const kr_shape *sh, int max_context, int T, int P, int S, int max_rows,
                      int threads)
{
    kr_batch b = {0};
    size_t bytes = sizeof(kr_batch);
    pass_alloc(&b, sh, caps_for(max_context, T, P, S, max_rows), threads > 1 ? threads : 1, &bytes);
    return bytes;
}

size_t kr_item_bytes_max(const kr_shape *sh, int max_context, int max_T, int P, int S)
{
    size_t worst = kr_item_bytes(sh, max_context, max_T, P, S);
    for (int T = 1; T < max_T && T <= max_context; T++) {
        size_t b = kr_item_bytes(sh, max_context, T, P, S);
        worst = b > worst ? b : worst;
    }
    return worst;
}

size_t kr_batch_bytes_many(const kr_shape *sh, int max_context, int T, int P, int S, int max_rows,
                           int threads)
{
    kr_batch b = {0};
    size_t bytes = sizeof(kr_batch);
    pass_caps c = caps_for(max_context, T, P, S, max_rows);
    c.rows = max_sz(c.rows, (size_t)(max_rows > 0 ? max_rows : KR_BATCH_ROWS_DEFAULT));
    c.units = c.rows + (size_t)S;
    pass_alloc(&b, sh, c, threads > 1 ? threads : 1, &bytes);
    return bytes;
}

static bool watched_cancelled(void *ctx)
{
    const kr_batch *b = ctx;
    for (int i = 0; i < b->nwatched; i++)
        if (engine_is_cancelled(b->watched[i]))
            return true;
    return false;
}

/* Work on these items stops when one of them is cancelled (n = 0: no stop). */
static void watch(kr_batch *b, kr_item *const *its, int n)
{
    b->nwatched = 0;
    for (int i = 0; i < n; i++) {
        engine_cancel *c = its[i]->cancel;
        bool seen = !c;
        for (int k = b->nwatched - 1; k >= 0 && k >= b->nwatched - 4 && !seen; k--)
            seen = b->watched[k] == c; /* the series of a request are next to each other */
        if (!seen)
            b->watched[b->nwatched++] = c;
    }
    atomic_store_explicit(&b->stop.stopped, false, memory_order_relaxed);
    kr_ops_set_stop(b->nwatched > 0 ? &b->stop : NULL);
}

/* ---- batch ---- */

kr_batch *kr_batch_create(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                          int threads, int max_rows)
{
    kr_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->tok = tok;
    b->m = m;
    b->M = max_context;
    b->clip = clip;
    b->max_rows = max_rows > 0 ? max_rows : KR_BATCH_ROWS_DEFAULT;
    b->pool = kr_pool_create(threads);
    b->threads = kr_pool_size(b->pool);
    b->stop.poll = watched_cancelled;
    b->stop.ctx = b;
    return b;
}

void kr_batch_destroy(kr_batch *b)
{
    if (!b)
        return;
    while (b->items)
        kr_batch_remove(b, b->items);
    pass_free(b);
    kr_pool_destroy(b->pool);
    free(b);
}

int kr_item_status(const kr_item *it)
{
    return it->status;
}

const char *kr_item_error(const kr_item *it)
{
    return it->err;
}

int kr_batch_last_rows(const kr_batch *b)
{
    return b->last_rows;
}

void kr_batch_remove(kr_batch *b, kr_item *it)
{
    for (kr_item **pp = &b->items; *pp; pp = &(*pp)->next)
        if (*pp == it) {
            *pp = it->next;
            break;
        }
    if (b->rr == it)
        b->rr = it->next;
    count_samples(b, it->S, -1);
    item_free(it);
}

kr_item *kr_batch_add(kr_batch *b, const kr_request *q, kr_result *out, engine_cancel *cancel,
                      const kr_trace *tr, kr_phase_times *times, char *err, size_t errlen)
{
    if (kr_check_request(b->M, q, err, errlen) != 0)
        return NULL;
    kr_item *it = calloc(1, sizeof(*it));
    if (!it) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    it->q = *q;
    it->out = *out;
    it->cancel = cancel;
    it->tr = tr;
    it->times = times;
    it->status = RUNNING;
    it->phase = PH_ENCODE;
    item_plan(it, b->M, q->T, q->P, q->S, q->full_recompute);
    kr_shape sh = kr_shape_of(b->tok, b->m);
    if (item_alloc(it, &sh, NULL) != 0 || pass_reserve(b, q->T, q->P, q->S) != 0) {
        item_free(it);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int s = 0; s < it->S; s++)
        rng_seed(&it->rng[s], q->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(s + 1)));
    for (int r = 0; r < it->N - 1; r++)
        it->stamps[r] = r < it->T ? q->x_stamp[r] : q->y_stamp[r - it->T];
    it->stamps[it->N - 1] = q->y_stamp[it->P - 1];
    count_samples(b, it->S, 1);
    kr_item **pp = &b->items; /* appended: earlier items keep their place */
    while (*pp)
        pp = &(*pp)->next;
    *pp = it;
    return it;
}

static int *tok1_of(const kr_item *it, int s)
{
    return it->tok1 + (size_t)s * it->N;
}

static int *tok2_of(const kr_item *it, int s)
{
    return it->tok2 + (size_t)s * it->N;
}

/* The input rows a window of several samples computes once for all (none for a lone sample:
 * its window is one segment, as without sharing). */
static int shared_rows(const kr_item *it, int input_rows)
{
    return it->S > 1 && input_rows > 0 ? input_rows : 0;
}

/* Normalise and encode the input (the tokenizer's pass of this item, on its own). */
static void item_encode(kr_batch *b, kr_item *it)
{
    const kr_request *q = &it->q;
    int T = it->T;
    double t0 = clock_mono_seconds();
    kr_column_stats(q->x, T, it->mean, it->std, b->tmp);
    float c = (float)b->clip;
    for (int k = 0; k < NF; k++)
        it->den[k] = it->std[k] + 1e-5f;
    for (int r = 0; r < T; r++)
        for (int k = 0; k < NF; k++) {
            float v = (q->x[(size_t)r * NF + k] - it->mean[k]) / it->den[k];
            it->norm[(size_t)r * NF + k] = v < -c ? -c : v > c ? c : v;
        }
    KR_TRACE(it->tr, "norm_mean", -1, it->mean, 1, NF);
    KR_TRACE(it->tr, "norm_std", -1, it->std, 1, NF);
    KR_TRACE(it->tr, "x_norm", -1, it->norm, (size_t)T, NF);
    kr_tok_encode(b->tok, it->norm, T, it->tok1, it->tok2, b->xw, &b->ws, it->tr);
    for (int s = 1; s < it->S; s++) {
        memcpy(tok1_of(it, s), it->tok1, sizeof(int) * (size_t)T);
        memcpy(tok2_of(it, s), it->tok2, sizeof(int) * (size_t)T);
    }
    if (it->out.ctx_s1)
        memcpy(it->out.ctx_s1, it->tok1, sizeof(int) * (size_t)T);
    if (it->out.ctx_s2)
        memcpy(it->out.ctx_s2, it->tok2, sizeof(int) * (size_t)T);
    it->phase = PH_STEPS;
    double t1 = clock_mono_seconds();
    if (it->times)
        it->times->tokenizer += t1 - t0;
    engine_phase_note(q->phases, ENGINE_PHASE_ENCODE, NS(t0), NS(t1), 1);
}

/* Decode every sample's last window, average the samples, de-normalise, fill the outputs.
 * Returns false, leaving the item as it was, when it was cancelled meanwhile. */
static bool item_decode(kr_batch *b, kr_item *it)
{
    double t0 = clock_mono_seconds();
    int T = it->T, P = it->P, S = it->S, N = it->N;
    int wd = N < it->M ? N : it->M, start = N - wd, c = shared_rows(it, T - start);
    int own = wd - c; /* == P: the rows every sample decodes on its own */
    int per = (int)((b->cap.rows - (size_t)c) / (size_t)own);
    if (per < 1)
        per = 1;
    for (int s0 = 0; s0 < S; s0 += per) {
        int g = S - s0 < per ? S - s0 : per, R = 0, nseg = 0;
        if (c > 0) {
            memcpy(b->ids1, tok1_of(it, 0) + start, sizeof(int) * (size_t)c);
            memcpy(b->ids2, tok2_of(it, 0) + start, sizeof(int) * (size_t)c);
            b->segs[nseg++] = (kr_seg){.row0 = 0, .rows = c, .pos0 = 0};
            R = c;
        }
        for (int s = s0; s < s0 + g; s++) {
            memcpy(b->ids1 + R, tok1_of(it, s) + start + c, sizeof(int) * (size_t)own);
            memcpy(b->ids2 + R, tok2_of(it, s) + start + c, sizeof(int) * (size_t)own);
            kr_seg sg = {.row0 = R, .rows = own, .pos0 = c};
            sg.pre[0] = (kr_kv_ref){b->ws.k, b->ws.v, 0, c, 0};
            b->segs[nseg++] = sg;
            R += own;
        }
        if (it->times)
            it->times->decode_passes++;
        const kr_trace *tr = s0 == 0 ? it->tr : NULL;
        kr_tok_decode_rows(b->tok, b->ids1, b->ids2, R, b->segs, nseg, b->dec, b->xw, &b->ws, tr,
                           c + own);
        if (kr_ops_stopped())
            return false;
        for (int s = s0; s < s0 + g; s++) {
            const float *rows = b->dec + (size_t)(c + (s - s0) * own + (own - P)) * NF;
            memcpy(it->zs + (size_t)s * P * NF, rows, sizeof(float) * (size_t)P * NF);
        }
    }
    double t1 = clock_mono_seconds();
    if (it->times)
        it->times->tokenizer += t1 - t0;
    engine_phase_note(it->q.phases, ENGINE_PHASE_DECODE, NS(t0), NS(t1), (uint64_t)S);
    /* mean over samples in normalised space (numpy float32), then de-normalise */
    float *zm = b->dec;
    for (size_t i = 0; i < (size_t)P * NF; i++) {
        float z = kr_pairwise_sum(it->zs + i, (size_t)S, (size_t)P * NF) / (float)S;
        zm[i] = z;
        it->out.mean[i] = z * it->den[i % NF] + it->mean[i % NF];
    }
    KR_TRACE(it->tr, "pred_norm_mean", -1, zm, (size_t)P, NF);
    if (it->out.samples)
        for (size_t i = 0; i < (size_t)S * P * NF; i++)
            it->out.samples[i] = it->zs[i] * it->den[i % NF] + it->mean[i % NF];
    if (it->out.gen)
        for (int s = 0; s < S; s++)
            for (int i = 0; i < P; i++) {
                it->out.gen[((size_t)s * P + i) * 2] = tok1_of(it, s)[T + i];
                it->out.gen[((size_t)s * P + i) * 2 + 1] = tok2_of(it, s)[T + i];
            }
    it->phase = PH_DONE;
    it->status = ENGINE_OK;
    return true;
}

/* ---- one pass ---- */

typedef struct pass {
    int R, nseg, U, L1; /* rows, segments, sample draws, s1 logits rows */
    /* items in the pass, with the kind and rows of their work, for timing and advancing */
    kr_item **its;
    int nits;
} pass;

static enum step_kind kind_of(const kr_item *it)
{
    if (it->step == 0)
        return K_PREFILL;
    if (it->cached && it->T + it->step <= it->M)
        return K_CACHED;
    return K_SLIDE;
}

/* Sets a row's input: tokens and stamp. */
static void put_row(kr_batch *b, int row, int a, int c, kr_stamp st)
{
    b->ids1[row] = a;
    b->ids2[row] = c;
    b->st[row] = st;
}

static void add_unit(kr_batch *b, pass *p, kr_item *it, int s, int ctx_row, int lrow,
                     kr_dep_keys keys)
{
    b->units[p->U++] = (unit){it, s, ctx_row, lrow, keys};
}

/* The caches are head-major (see kr_attn_seg), so a cached step reads each head's rows as one
 * stream: head h of a block of `rows` rows starts h * head_stride floats in. */
static size_t head_stride(const kr_batch *b, int rows)
{
    return (size_t)rows * (size_t)(b->m->d / b->m->heads);
}

/* Input rows [start, start + rows) of the item as a segment at positions 0.., storing their keys
 * and values into the item's prefix cache (step 0's window, or a sliding step's shared rows). */
static void add_prefix_rows(kr_batch *b, pass *p, kr_item *it, int start, int rows)
{
    for (int r = 0; r < rows; r++)
        put_row(b, p->R + r, it->tok1[start + r], it->tok2[start + r], it->stamps[start + r]);
    b->segs[p->nseg++] = (kr_seg){.row0 = p->R,
                                  .rows = rows,
                                  .pos0 = 0,
                                  .ks = it->kpre,
                                  .vs = it->vpre,
                                  .lstride = (size_t)it->W0 * b->m->d,
                                  .hs = head_stride(b, it->W0)};
}

/* Adds as much of it's current step as fits the pass; returns false when nothing fitted. */
static bool plan_item(kr_batch *b, pass *p, kr_item *it)
{
    const kr_model *m = b->m;
    int d = m->d, S = it->S, n = it->T + it->step;
    int room = (int)b->cap.rows - p->R, uroom = (int)b->cap.units - p->U;
    size_t W0d = (size_t)it->W0 * d, pre_hs = head_stride(b, it->W0),
           suf_hs = head_stride(b, it->scap);
    enum step_kind k = kind_of(it);
    if (k == K_PREFILL) {
        int W0 = it->W0, start = it->T - W0;
        if (W0 > room || S > uroom || p->L1 >= (int)b->cap.units)
            return false;
        add_prefix_rows(b, p, it, start, W0);
        int last = p->R + W0 - 1, lrow = p->L1++;
        b->lsrc[lrow] = last;
        kr_dep_keys keys = {{it->dkpre ? it->dkpre : b->dk + (size_t)p->R * d, NULL},
                            {it->dvpre ? it->dvpre : b->dv + (size_t)p->R * d, NULL},
                            {W0, 0}};
        for (int s = 0; s < S; s++)
            add_unit(b, p, it, s, last, lrow, keys);
        p->R += W0;
        it->sample = S;
        return true;
    }
    if (k == K_CACHED) {
        int nsuf = it->step - 1, added = 0;
        size_t sl = (size_t)S * it->scap * d;
        while (it->sample < S && added < room && added < uroom) {
            int s = it->sample++, row = p->R + added++;
            put_row(b, row, tok1_of(it, s)[n - 1], tok2_of(it, s)[n - 1], it->stamps[n - 1]);
            float *ks = it->ksuf + (size_t)s * it->scap * d,
                  *vs = it->vsuf + (size_t)s * it->scap * d;
            kr_seg sg = {.row0 = row,
                         .rows = 1,
                         .pos0 = n - 1,
                         .ks = ks,
                         .vs = vs,
                         .lstride = sl,
                         .hs = suf_hs,
                         .krow = nsuf};
            sg.pre[0] = (kr_kv_ref){it->kpre, it->vpre, W0d, it->W0, pre_hs};
            sg.pre[1] = (kr_kv_ref){ks, vs, sl, nsuf, suf_hs};
            b->segs[p->nseg++] = sg;
            float *dks = it->dksuf + (size_t)s * it->scap * d,
                  *dvs = it->dvsuf + (size_t)s * it->scap * d;
            kr_dep_keys keys = {{it->dkpre, dks}, {it->dvpre, dvs}, {it->W0, nsuf + 1}};
            b->lsrc[p->L1] = row;
            add_unit(b, p, it, s, row, p->L1++, keys);
        }
        p->R += added;
        return added > 0;
    }
    /* sliding (or recomputed) window: shared input rows once, then each sample's own rows */
    int w = n < it->M ? n : it->M, start = n - w, c = shared_rows(it, it->T - start);
    int own = w - c, added = 0;
    bool shared = c > 0 && it->sample == 0;
    if ((shared ? c : 0) + own > room || uroom < 1)
        return false;
    if (shared) {
        add_prefix_rows(b, p, it, start, c);
        p->R += c;
        room -= c;
    }
    while (it->sample < S && own <= room && added < uroom) {
        int s = it->sample++, row0 = p->R;
        for (int r = 0; r < own; r++) {
            int at = start + c + r;
            put_row(b, row0 + r, tok1_of(it, s)[at], tok2_of(it, s)[at], it->stamps[at]);
        }
        kr_seg sg = {.row0 = row0, .rows = own, .pos0 = c};
        sg.pre[0] = (kr_kv_ref){it->kpre, it->vpre, W0d, c, pre_hs};
        b->segs[p->nseg++] = sg;
        /* the dependency keys of its own rows are the pass's, at row0 */
        kr_dep_keys keys = {
            {it->dkpre, b->dk + (size_t)row0 * d}, {it->dvpre, b->dv + (size_t)row0 * d}, {c, own}};
        b->lsrc[p->L1] = row0 + own - 1;
        add_unit(b, p, it, s, row0 + own - 1, p->L1++, keys);
        p->R += own;
        room -= own;
        added++;
    }
    return true;
}

/* After the model: the dependency layer's keys and values of the rows that stay cached. */
static void store_dep_kv(kr_batch *b, kr_item *it, int row0, int rows, int at)
{
    int d = b->m->d;
    memcpy(it->dkpre + (size_t)at * d, b->dk + (size_t)row0 * d, sizeof(float) * rows * d);
    memcpy(it->dvpre + (size_t)at * d, b->dv + (size_t)row0 * d, sizeof(float) * rows * d);
}

/* Sampling fans out over the pool: per s1 logits row (the draws of a prefill share it), then
 * per draw for s2. Each draw has its own generator, so the order does not matter. */
typedef struct draw_job {
    kr_batch *b;
    int V, s2;
} draw_job;

static void draw_task(void *ctx, int i, int t)
{
    draw_job *j = ctx;
    kr_batch *b = j->b;
    float *probs = b->probs + (size_t)t * j->V, *fwork = b->fwork + (size_t)t * j->V;
    int *order = b->order + (size_t)t * 4 * j->V;
    int u0 = j->s2 ? i : b->ufirst[i], u1 = j->s2 ? i + 1 : b->ufirst[i + 1];
    const kr_item *it = b->units[u0].it;
    kr_sample_filter(b->logits + (size_t)i * j->V, j->V, it->q.temperature, it->q.top_k,
                     it->q.top_p, probs, order, fwork);
    for (int u = u0; u < u1; u++) {
        unit *un = &b->units[u];
        int draw = kr_sample_draw(probs, j->V, &un->it->rng[un->s]);
        if (!j->s2) {
            b->chosen[u] = draw;
            continue;
        }
        int n = un->it->T + un->it->step;
        tok1_of(un->it, un->s)[n] = b->chosen[u];
        tok2_of(un->it, un->s)[n] = draw;
    }
}

static void trace_logits(const kr_item *traced, const pass *p, const kr_batch *b, int s2)
{
    for (int u = 0; traced && u < p->U; u++) {
        const unit *un = &b->units[u];
        if (un->it != traced || un->s != 0)
            continue;
        int V = s2 ? b->m->v2 : b->m->v1;
        const float *l = b->logits + (size_t)(s2 ? u : un->lrow) * V;
        if (traced->step == 0)
            KR_TRACE(traced->tr, s2 ? "step0_s2_logits" : "step0_s1_logits", -1, l, 1, (size_t)V);
        KR_TRACE(traced->tr, s2 ? "steps_s2_logits" : "steps_s1_logits", traced->step, l, 1,
                 (size_t)V);
    }
}

static void sample_units(kr_batch *b, pass *p, const kr_item *traced)
{
    const kr_model *m = b->m;
    int d = m->d;
    for (int l = 0; l < p->L1; l++)
        memcpy(b->ctxu + (size_t)l * d, b->xw + (size_t)b->lsrc[l] * d, sizeof(float) * d);
    kr_model_s1_logits(m, b->ctxu, p->L1, b->logits);
    trace_logits(traced, p, b, 0);
    for (int u = 0, l = -1; u < p->U; u++) /* the draws of logits row l: ufirst[l]..ufirst[l+1] */
        while (l < b->units[u].lrow)
            b->ufirst[++l] = u;
    b->ufirst[p->L1] = p->U;
    draw_job j = {b, m->v1, 0};
    kr_pool_run(p->L1 > 1 ? b->pool : NULL, p->L1, draw_task, &j);
    /* s2: context rows per draw, then the dependency layer */
    kr_dep_keys *keys = b->keys;
    for (int u = 0; u < p->U; u++) {
        memcpy(b->ctxu + (size_t)u * d, b->xw + (size_t)b->units[u].ctx_row * d, sizeof(float) * d);
        keys[u] = b->units[u].keys;
    }
    bool trace_s2 = traced && traced->step == 0 && p->U > 0 && b->units[0].it == traced;
    kr_model_s2_logits(m, b->ctxu, b->chosen, p->U, keys, b->logits, b->s2tmp, &b->ws,
                       trace_s2 ? traced->tr : NULL);
    trace_logits(traced, p, b, 1);
    j = (draw_job){b, m->v2, 1};
    kr_pool_run(p->U > 1 ? b->pool : NULL, p->U, draw_task, &j);
}

/* A forecast of the pass was cancelled during it: it leaves, and the others do the pass again
 * next time (what it wrote into their caches is written again, the same). */
static void drop_pass(kr_batch *b, const pass *p)
{
    watch(b, NULL, 0);
    kr_ops_set_pool(NULL);
    for (int j = 0; j < p->nits; j++) {
        kr_item *x = p->its[j];
        if (engine_is_cancelled(x->cancel))
            x->status = ENGINE_CANCELLED;
        else
            x->sample = x->sample_at_pass;
    }
}

/* The step phase this pass served for x, for tracing: a step counts once, when its last pass
 * (the one that finished its samples) ends; the earlier passes extend the phase's time. */
static void note_step_phase(const kr_item *x, uint64_t start_ns, uint64_t end_ns)
{
    enum step_kind k = kind_of(x);
    enum engine_phase ph = k == K_PREFILL  ? ENGINE_PHASE_PREFILL
                           : k == K_CACHED ? ENGINE_PHASE_CACHED
                                           : ENGINE_PHASE_SLIDING;
    engine_phase_note(x->q.phases, ph, start_ns, end_ns, x->sample >= x->S ? 1 : 0);
}

int kr_batch_step(kr_batch *b)
{
    kr_ops_set_pool(b->pool);
    /* items that left or must leave: cancelled before their next step */
    for (kr_item *it = b->items; it; it = it->next)
        if (it->status == RUNNING && engine_is_cancelled(it->cancel))
            it->status = ENGINE_CANCELLED;
    for (kr_item *it = b->items; it; it = it->next)
        if (it->status == RUNNING && it->phase == PH_ENCODE) {
            watch(b, &it, 1);
            item_encode(b, it);
            if (kr_ops_stopped())
                it->status = ENGINE_CANCELLED;
            watch(b, NULL, 0);
        }

    /* fill the pass round-robin from where the last one stopped */
    kr_item **its = b->its;
    pass p = {.its = its};
    int count = 0;
    for (kr_item *it = b->items; it; it = it->next)
        count++;
    kr_item *first = b->rr ? b->rr : b->items;
    kr_item *it = first;
    for (int seen = 0; seen < count; seen++) {
        if (it->status == RUNNING && it->phase == PH_STEPS) {
            it->sample_at_pass = it->sample;
            if (!plan_item(b, &p, it))
                break;
            its[p.nits++] = it;
        }
        it = it->next ? it->next : b->items;
    }
    b->rr = it;
    b->last_rows = p.R;
    if (p.R == 0) {
        kr_ops_set_pool(NULL);
        goto finish;
    }

    double t0 = clock_mono_seconds();
    const kr_model *m = b->m;
    const kr_item *traced = NULL;
    if (p.nits == 1 && its[0]->tr && its[0]->step == 0)
        traced = its[0];
    watch(b, its, p.nits);
    kr_model_embed(m, b->ids1, b->ids2, b->st, p.R, b->xw, b->tmp, traced ? traced->tr : NULL);
    kr_model_rows(m, b->xw, p.R, b->segs, p.nseg, &b->ws, traced ? traced->tr : NULL);
    if (!kr_ops_stopped())
        kr_model_dep_kv(m, b->xw, p.R, b->dk, b->dv);
    /* Sampling advances the generators, so a pass is dropped before it or not at all. */
    if (kr_ops_stopped()) {
        drop_pass(b, &p);
        goto finish;
    }
    watch(b, NULL, 0);
    /* keep what later steps read: step 0's window, a cached row, a sliding step's shared rows */
    for (int i = 0; i < p.nseg; i++) {
        const kr_seg *sg = &b->segs[i];
        if (!sg->ks)
            continue;
        for (int j = 0; j < p.nits; j++) {
            kr_item *x = its[j];
            if (sg->ks == x->kpre) {
                store_dep_kv(b, x, sg->row0, sg->rows, 0);
            } else if (x->ksuf && sg->ks >= x->ksuf &&
                       sg->ks < x->ksuf + (size_t)x->S * x->scap * m->d) {
                size_t off = (size_t)(sg->ks - x->ksuf) + (size_t)sg->krow * m->d;
                memcpy(x->dksuf + off, b->dk + (size_t)sg->row0 * m->d, sizeof(float) * m->d);
                memcpy(x->dvsuf + off, b->dv + (size_t)sg->row0 * m->d, sizeof(float) * m->d);
            }
        }
    }
    sample_units(b, &p, traced ? traced : (p.nits == 1 && its[0]->tr ? its[0] : NULL));
    double t1 = clock_mono_seconds(), dt = t1 - t0;
    kr_ops_set_pool(NULL);

    for (int j = 0; j < p.nits; j++) {
        kr_item *x = its[j];
        note_step_phase(x, NS(t0), NS(t1));
        if (x->times) {
            enum step_kind k = kind_of(x);
            x->times->passes++;
            if (k == K_PREFILL)
                x->times->prefill += dt;
            else if (k == K_CACHED)
                x->times->cached += dt;
            else
                x->times->sliding += dt;
            if (x->sample >= x->S && k == K_CACHED)
                x->times->cached_steps++;
            else if (x->sample >= x->S && k == K_SLIDE)
                x->times->sliding_steps++;
        }
        if (x->sample >= x->S) {
            x->sample = 0;
            if (++x->step == x->P) {
                kr_ops_set_pool(b->pool);
                watch(b, &x, 1);
                if (!item_decode(b, x))
                    x->status = ENGINE_CANCELLED;
                watch(b, NULL, 0);
                kr_ops_set_pool(NULL);
            }
        }
    }
finish:;
    int running = 0;
    for (kr_item *x = b->items; x; x = x->next)
        running += x->status == RUNNING;
    return running;
}
