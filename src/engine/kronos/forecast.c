#include "engine/kronos/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kronos/block.h"
#include "engine/kronos/ops.h"
#include "engine/kronos/pool.h"
#include "engine/kronos/sample.h"
#include "engine/kronos/tokenizer.h"
#include "util/clock.h"

#define NF ENGINE_FEATURES

float kr_pairwise_sum(const float *a, size_t n, size_t stride)
{
    if (n < 8) {
        float res = 0.0f;
        for (size_t i = 0; i < n; i++)
            res += a[i * stride];
        return res;
    }
    if (n <= 128) {
        float r[8], res;
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[(size_t)j * stride];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[(i + (size_t)j) * stride];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i * stride];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return kr_pairwise_sum(a, n2, stride) + kr_pairwise_sum(a + n2 * stride, n - n2, stride);
}

/* np.mean / np.std(ddof=0) of one column of a float32 [T][6] frame, as numpy computes them. */
static void numpy_stats(const float *x, int T, size_t stride, float *mean, float *std, float *tmp)
{
    float mu = kr_pairwise_sum(x, (size_t)T, stride) / (float)T;
    for (int r = 0; r < T; r++) {
        float dv = x[(size_t)r * stride] - mu;
        tmp[r] = dv * dv;
    }
    *mean = mu;
    *std = sqrtf(kr_pairwise_sum(tmp, (size_t)T, 1) / (float)T);
}

/* The same in double, for columns whose float32 statistics overflow; mean and std cannot exceed
 * the column's largest magnitude, so both fit a float. */
static void double_stats(const float *x, int T, size_t stride, float *mean, float *std)
{
    double sum = 0, top = 0;
    for (int r = 0; r < T; r++) {
        sum += x[(size_t)r * stride];
        top = fmax(top, fabs(x[(size_t)r * stride]));
    }
    double mu = sum / T, ss = 0;
    for (int r = 0; r < T; r++) {
        double dv = x[(size_t)r * stride] - mu;
        ss += dv * dv;
    }
    *mean = (float)fmin(fmax(mu, -top), top);
    *std = (float)fmin(sqrt(ss / T), top);
}

/*
 * Per column, numpy's float32 statistics (bit-exact with upstream) whenever they are finite.
 * Large values overflow them (squares above ~1e19, sums of values near FLT_MAX, where upstream
 * gives inf and then NaN forecasts): such a column is computed again in double. tmp holds T
 * floats.
 */
static void column_stats(const float *x, int T, float *mean, float *std, float *tmp)
{
    for (int c = 0; c < NF; c++) {
        numpy_stats(x + c, T, NF, &mean[c], &std[c], tmp);
        if (!isfinite(mean[c]) || !isfinite(std[c]))
            double_stats(x + c, T, NF, &mean[c], &std[c]);
    }
}

typedef struct fc {
    const kr_tokenizer *tok;
    const kr_model *m;
    const kr_request *req;
    kr_shape sh;
    int T, P, S, threads;
    int M, N, W0, cached, scap;
    kr_ws ws;
    float *xw, *tmp, *ctx_last, *logits, *probs, *fwork, *s2tmp, *norm, *zs, *dec;
    float *kpre, *vpre, *ksuf, *vsuf, *dkpre, *dvpre, *dksuf, *dvsuf, *dk, *dv;
    int *order, *tok1, *tok2, *chosen, *ibuf1, *ibuf2;
    kr_stamp *stamps, *stamp_rows;
    rng *rng;
    kr_pool *pool;
} fc;

/* The sizes that decide a forecast's buffers. */
static void fc_plan(fc *f, const kr_shape *sh, int max_context, int T, int P, int S, int threads,
                    int full_recompute)
{
    f->sh = *sh;
    f->T = T;
    f->P = P;
    f->S = S;
    f->threads = threads > 1 ? threads : 1;
    f->M = max_context;
    f->N = T + P;
    f->W0 = T < f->M ? T : f->M;
    f->cached = T < f->M && P > 1 && !full_recompute;
    f->scap = f->M - T;
}

static void fc_free(fc *f)
{
    kr_ws_free(&f->ws);
    void *bufs[] = {f->xw,    f->tmp,   f->ctx_last, f->logits, f->probs,     f->fwork,
                    f->s2tmp, f->norm,  f->zs,       f->dec,    f->kpre,      f->vpre,
                    f->ksuf,  f->vsuf,  f->dkpre,    f->dvpre,  f->dksuf,     f->dvsuf,
                    f->dk,    f->dv,    f->order,    f->tok1,   f->tok2,      f->chosen,
                    f->ibuf1, f->ibuf2, f->stamps,   f->rng,    f->stamp_rows};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
}

/* Allocates every buffer of a planned forecast or, when counting, only adds up their bytes: one
 * list, so kr_forecast_bytes is what a forecast allocates. Returns -1 when memory ran out. */
static int fc_alloc(fc *f, size_t *counting)
{
    const kr_shape *sh = &f->sh;
    int S = f->S, d = sh->d, L = sh->layers;
    int V = sh->v1 > sh->v2 ? sh->v1 : sh->v2;
    int win = f->N < f->M ? f->N : f->M;
    size_t R = (size_t)(f->T > win ? f->T : win);
    if (R < (size_t)S)
        R = (size_t)S;
    int dmax = d > sh->tok_d ? d : sh->tok_d, ffmax = sh->ff > sh->tok_ff ? sh->ff : sh->tok_ff;
    if (counting)
        *counting += kr_ws_bytes(R, dmax, ffmax, f->threads);
    else if (kr_ws_init(&f->ws, R, dmax, ffmax, f->threads) != 0)
        return -1;
    bool failed = false;
#define ALLOC(p, n)                                                                                \
    do {                                                                                           \
        size_t bytes_ = sizeof(*(p)) * (size_t)(n);                                                \
        if (counting)                                                                              \
            *counting += bytes_;                                                                   \
        else if (!failed && !((p) = malloc(bytes_ ? bytes_ : 1)))                                  \
            failed = true;                                                                         \
    } while (0)
    size_t sd = (size_t)S * d;
    ALLOC(f->xw, R * dmax);
    ALLOC(f->tmp, R * 2 * (size_t)dmax);
    ALLOC(f->ctx_last, sd);
    ALLOC(f->logits, (size_t)S * V);
    ALLOC(f->probs, (size_t)S * V);
    ALLOC(f->fwork, V);
    ALLOC(f->order, V);
    ALLOC(f->s2tmp, 3 * sd + ((size_t)f->M + 1) * f->threads);
    ALLOC(f->tok1, (size_t)S * f->N);
    ALLOC(f->tok2, (size_t)S * f->N);
    ALLOC(f->chosen, S);
    ALLOC(f->ibuf1, S);
    ALLOC(f->ibuf2, S);
    ALLOC(f->stamps, f->N);
    ALLOC(f->stamp_rows, S);
    ALLOC(f->rng, S);
    ALLOC(f->dk, (size_t)f->M * d);
    ALLOC(f->dv, (size_t)f->M * d);
    ALLOC(f->norm, (size_t)f->T * NF);
    ALLOC(f->zs, (size_t)S * f->P * NF);
    ALLOC(f->dec, (size_t)win * NF);
    if (f->cached) {
        size_t pre = (size_t)L * f->W0 * d, suf = (size_t)L * S * f->scap * d;
        size_t dsuf = (size_t)S * f->scap * d;
        ALLOC(f->kpre, pre);
        ALLOC(f->vpre, pre);
        ALLOC(f->ksuf, suf);
        ALLOC(f->vsuf, suf);
        ALLOC(f->dkpre, (size_t)f->W0 * d);
        ALLOC(f->dvpre, (size_t)f->W0 * d);
        ALLOC(f->dksuf, dsuf);
        ALLOC(f->dvsuf, dsuf);
    }
#undef ALLOC
    return failed ? -1 : 0;
}

size_t kr_forecast_bytes(const kr_shape *sh, int max_context, int T, int P, int S, int threads)
{
    fc f = {0};
    size_t bytes = 0;
    fc_plan(&f, sh, max_context, T, P, S, threads, 0);
    fc_alloc(&f, &bytes);
    return bytes;
}

size_t kr_forecast_bytes_max(const kr_shape *sh, int max_context, int max_T, int P, int S,
                             int threads)
{
    /* Monotone in P and S, not in T: the per-sample K/V caches (max_context - T rows) shrink
     * as T grows, until T reaches max_context and they are gone. */
    size_t worst = kr_forecast_bytes(sh, max_context, max_T, P, S, threads);
    for (int T = 1; T < max_T && T <= max_context; T++) {
        size_t b = kr_forecast_bytes(sh, max_context, T, P, S, threads);
        worst = b > worst ? b : worst;
    }
    return worst;
}

/* Samples one token per sample row from logits[S][V]; row r's logits are shared when
 * shared is set (step 0). */
static void sample_rows(fc *f, const float *logits, int V, int shared, int *outv)
{
    const kr_request *q = f->req;
    for (int s = 0; s < q->S; s++) {
        const float *l = logits + (shared ? 0 : (size_t)s * V);
        if (!shared || s == 0)
            kr_sample_filter(l, V, q->temperature, q->top_k, q->top_p, f->probs, f->order,
                             f->fwork);
        outv[s] = kr_sample_draw(f->probs, V, &f->rng[s]);
    }
}

static void put_token(fc *f, int s, int idx, int a, int b)
{
    f->tok1[(size_t)s * f->N + idx] = a;
    f->tok2[(size_t)s * f->N + idx] = b;
}

/* Step 0: the window ending at the last input bar, shared by every sample. */
static void step_first(fc *f, const kr_trace *tr)
{
    const kr_model *m = f->m;
    const kr_request *q = f->req;
    int d = m->d, W0 = f->W0, start = q->T - W0, S = q->S;
    kr_model_embed(m, f->tok1 + start, f->tok2 + start, f->stamps + start, W0, f->xw, f->tmp, tr);
    kr_model_window(m, f->xw, W0, f->cached ? f->kpre : NULL, f->cached ? f->vpre : NULL, W0,
                    &f->ws, tr);
    float *dk = f->cached ? f->dkpre : f->dk, *dv = f->cached ? f->dvpre : f->dv;
    kr_model_dep_kv(m, f->xw, W0, dk, dv);
    const float *last = f->xw + (size_t)(W0 - 1) * d;
    for (int s = 0; s < S; s++)
        memcpy(f->ctx_last + (size_t)s * d, last, sizeof(float) * (size_t)d);
    kr_model_s1_logits(m, last, 1, f->logits);
    KR_TRACE(tr, "step0_s1_logits", -1, f->logits, 1, (size_t)m->v1);
    KR_TRACE(tr, "steps_s1_logits", 0, f->logits, 1, (size_t)m->v1);
    sample_rows(f, f->logits, m->v1, 1, f->chosen);
    int *s2v = f->ibuf2;
    kr_model_s2_logits(m, f->ctx_last, f->chosen, S, dk, dv, W0, NULL, NULL, 0, 0, f->logits,
                       f->s2tmp, tr);
    KR_TRACE(tr, "step0_s2_logits", -1, f->logits, 1, (size_t)m->v2);
    KR_TRACE(tr, "steps_s2_logits", 0, f->logits, 1, (size_t)m->v2);
    sample_rows(f, f->logits, m->v2, 0, s2v);
    for (int s = 0; s < S; s++)
        put_token(f, s, q->T, f->chosen[s], s2v[s]);
}

/* Step i while n = T+i <= M: one new row per sample against the caches. */
static void step_cached(fc *f, int i, const kr_trace *tr)
{
    const kr_model *m = f->m;
    const kr_request *q = f->req;
    int d = m->d, S = q->S, n = q->T + i, nsuf = i - 1;
    int *s1v = f->ibuf1, *s2v = f->ibuf2;
    for (int s = 0; s < S; s++) {
        s1v[s] = f->tok1[(size_t)s * f->N + n - 1];
        s2v[s] = f->tok2[(size_t)s * f->N + n - 1];
        f->stamp_rows[s] = f->stamps[n - 1];
    }
    kr_model_embed(m, s1v, s2v, f->stamp_rows, S, f->xw, f->tmp, NULL);
    kr_model_step(m, f->xw, S, n - 1, f->kpre, f->vpre, f->W0, q->T, f->ksuf, f->vsuf, f->scap,
                  nsuf, &f->ws);
    kr_model_dep_kv(m, f->xw, S, f->ws.k, f->ws.v); /* block scratch is free again here */
    for (int s = 0; s < S; s++) {
        size_t off = ((size_t)s * f->scap + nsuf) * d;
        memcpy(f->dksuf + off, f->ws.k + (size_t)s * d, sizeof(float) * (size_t)d);
        memcpy(f->dvsuf + off, f->ws.v + (size_t)s * d, sizeof(float) * (size_t)d);
    }
    kr_model_s1_logits(m, f->xw, S, f->logits);
    KR_TRACE(tr, "steps_s1_logits", i, f->logits, 1, (size_t)m->v1);
    sample_rows(f, f->logits, m->v1, 0, f->chosen);
    kr_model_s2_logits(m, f->xw, f->chosen, S, f->dkpre, f->dvpre, q->T, f->dksuf, f->dvsuf,
                       nsuf + 1, f->scap, f->logits, f->s2tmp, NULL);
    KR_TRACE(tr, "steps_s2_logits", i, f->logits, 1, (size_t)m->v2);
    sample_rows(f, f->logits, m->v2, 0, s2v);
    for (int s = 0; s < S; s++)
        put_token(f, s, n, f->chosen[s], s2v[s]);
}

/* Step i once the window slides: every sample recomputes its own window of M rows. */
static int step_window(fc *f, int i, engine_cancel *cancel, const kr_trace *tr)
{
    const kr_model *m = f->m;
    const kr_request *q = f->req;
    int d = m->d, n = q->T + i, w = n < f->M ? n : f->M, start = n - w;
    for (int s = 0; s < q->S; s++) {
        if (s > 0 && engine_is_cancelled(cancel))
            return ENGINE_CANCELLED;
        const int *t1 = f->tok1 + (size_t)s * f->N, *t2 = f->tok2 + (size_t)s * f->N;
        kr_model_embed(m, t1 + start, t2 + start, f->stamps + start, w, f->xw, f->tmp, NULL);
        kr_model_window(m, f->xw, w, NULL, NULL, 0, &f->ws, NULL);
        kr_model_dep_kv(m, f->xw, w, f->dk, f->dv);
        const float *last = f->xw + (size_t)(w - 1) * d;
        kr_model_s1_logits(m, last, 1, f->logits);
        if (s == 0)
            KR_TRACE(tr, "steps_s1_logits", i, f->logits, 1, (size_t)m->v1);
        kr_sample_filter(f->logits, m->v1, q->temperature, q->top_k, q->top_p, f->probs, f->order,
                         f->fwork);
        int a = kr_sample_draw(f->probs, m->v1, &f->rng[s]);
        kr_model_s2_logits(m, last, &a, 1, f->dk, f->dv, w, NULL, NULL, 0, 0, f->logits, f->s2tmp,
                           NULL);
        if (s == 0)
            KR_TRACE(tr, "steps_s2_logits", i, f->logits, 1, (size_t)m->v2);
        kr_sample_filter(f->logits, m->v2, q->temperature, q->top_k, q->top_p, f->probs, f->order,
                         f->fwork);
        put_token(f, s, n, a, kr_sample_draw(f->probs, m->v2, &f->rng[s]));
    }
    return ENGINE_OK;
}

static int check_request(int M, const kr_request *q, char *err, size_t errlen)
{
    if (q->T < 1 || q->P < 1 || q->S < 1 || !q->x || !q->x_stamp || !q->y_stamp) {
        snprintf(err, errlen, "empty input, prediction length or sample count");
        return -1;
    }
    if (q->P > M) {
        snprintf(err, errlen, "pred_len %d exceeds max_context %d", q->P, M);
        return -1;
    }
    if (!(q->temperature > 0) || q->top_k < 0 || !(q->top_p > 0 && q->top_p <= 1)) {
        snprintf(err, errlen, "invalid sampling parameters");
        return -1;
    }
    for (int r = 0; r < q->T + q->P - 1; r++) {
        const kr_stamp *st = r < q->T ? &q->x_stamp[r] : &q->y_stamp[r - q->T];
        for (int k = 0; k < KR_TIME_N; k++)
            if (st->f[k] < 0 || st->f[k] >= kr_time_sizes[k]) {
                snprintf(err, errlen, "timestamp %d: calendar field %d out of range", r, k);
                return -1;
            }
    }
    for (size_t i = 0; i < (size_t)q->T * NF; i++)
        if (!isfinite(q->x[i])) {
            snprintf(err, errlen, "non-finite input value at row %zu", i / NF);
            return -1;
        }
    return 0;
}

#define NS(seconds) ((uint64_t)((seconds)*1e9))

int kr_forecast(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                const kr_request *q, kr_result *out, engine_cancel *cancel, const kr_trace *tr,
                kr_phase_times *times, char *err, size_t errlen)
{
    if (check_request(max_context, q, err, errlen) != 0)
        return ENGINE_ERROR;
    fc f = {.tok = tok, .m = m, .req = q};
    f.pool = kr_pool_create(q->threads);
    kr_ops_set_pool(f.pool);
    kr_shape sh = kr_shape_of(tok, m);
    fc_plan(&f, &sh, max_context, q->T, q->P, q->S, kr_pool_size(f.pool), q->full_recompute);
    int rc = ENGINE_ERROR, S = q->S, T = q->T, P = q->P;
    if (fc_alloc(&f, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    float *norm = f.norm, *dec = f.dec, *zs = f.zs;
    for (int s = 0; s < S; s++)
        rng_seed(&f.rng[s], q->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(s + 1)));
    for (int r = 0; r < f.N - 1; r++)
        f.stamps[r] = r < T ? q->x_stamp[r] : q->y_stamp[r - T];
    f.stamps[f.N - 1] = q->y_stamp[P - 1];

    double t0 = clock_mono_seconds();
    float mean[NF], std[NF], den[NF];
    column_stats(q->x, T, mean, std, f.tmp);
    float c = (float)clip;
    for (int k = 0; k < NF; k++)
        den[k] = std[k] + 1e-5f;
    for (int r = 0; r < T; r++)
        for (int k = 0; k < NF; k++) {
            float v = (q->x[(size_t)r * NF + k] - mean[k]) / den[k];
            norm[(size_t)r * NF + k] = v < -c ? -c : v > c ? c : v;
        }
    KR_TRACE(tr, "norm_mean", -1, mean, 1, NF);
    KR_TRACE(tr, "norm_std", -1, std, 1, NF);
    KR_TRACE(tr, "x_norm", -1, norm, (size_t)T, NF);
    kr_tok_encode(tok, norm, T, f.tok1, f.tok2, f.xw, &f.ws, tr);
    for (int s = 1; s < S; s++) {
        memcpy(f.tok1 + (size_t)s * f.N, f.tok1, sizeof(int) * (size_t)T);
        memcpy(f.tok2 + (size_t)s * f.N, f.tok2, sizeof(int) * (size_t)T);
    }
    if (out->ctx_s1)
        memcpy(out->ctx_s1, f.tok1, sizeof(int) * (size_t)T);
    if (out->ctx_s2)
        memcpy(out->ctx_s2, f.tok2, sizeof(int) * (size_t)T);
    double t1 = clock_mono_seconds();
    if (times)
        times->tokenizer += t1 - t0;
    engine_phase_note(q->phases, ENGINE_PHASE_ENCODE, NS(t0), NS(t1), 1);

    rc = ENGINE_CANCELLED;
    if (engine_is_cancelled(cancel))
        goto done;
    step_first(&f, tr);
    double t2 = clock_mono_seconds();
    if (times)
        times->prefill += t2 - t1;
    engine_phase_note(q->phases, ENGINE_PHASE_PREFILL, NS(t1), NS(t2), 1);
    for (int i = 1; i < P; i++) {
        if (engine_is_cancelled(cancel))
            goto done;
        double a = clock_mono_seconds();
        if (f.cached && T + i <= f.M) {
            step_cached(&f, i, tr);
            double b = clock_mono_seconds();
            engine_phase_note(q->phases, ENGINE_PHASE_CACHED, NS(a), NS(b), 1);
            if (times) {
                times->cached += b - a;
                times->cached_steps++;
            }
        } else {
            if (step_window(&f, i, cancel, tr) != ENGINE_OK)
                goto done;
            double b = clock_mono_seconds();
            engine_phase_note(q->phases, ENGINE_PHASE_SLIDING, NS(a), NS(b), 1);
            if (times) {
                times->sliding += b - a;
                times->sliding_steps++;
            }
        }
    }

    double t3 = clock_mono_seconds();
    int wd = f.N < f.M ? f.N : f.M;
    for (int s = 0; s < S; s++) {
        if (engine_is_cancelled(cancel))
            goto done;
        const kr_trace *dtr = s == 0 ? tr : NULL;
        const int *t1s = f.tok1 + (size_t)s * f.N + (f.N - wd),
                  *t2s = f.tok2 + (size_t)s * f.N + (f.N - wd);
        kr_tok_decode(tok, t1s, t2s, wd, dec, f.xw, &f.ws, dtr);
        memcpy(zs + (size_t)s * P * NF, dec + (size_t)(wd - P) * NF, sizeof(float) * P * NF);
    }
    double t4 = clock_mono_seconds();
    if (times)
        times->tokenizer += t4 - t3;
    engine_phase_note(q->phases, ENGINE_PHASE_DECODE, NS(t3), NS(t4), (uint64_t)S);
    /* mean over samples in normalised space (numpy float32), then de-normalise */
    for (size_t i = 0; i < (size_t)P * NF; i++) {
        float z = kr_pairwise_sum(zs + i, (size_t)S, (size_t)P * NF) / (float)S;
        f.tmp[i] = z;
        out->mean[i] = z * den[i % NF] + mean[i % NF];
    }
    KR_TRACE(tr, "pred_norm_mean", -1, f.tmp, (size_t)P, NF);
    if (out->samples)
        for (size_t i = 0; i < (size_t)S * P * NF; i++)
            out->samples[i] = zs[i] * den[i % NF] + mean[i % NF];
    if (out->gen)
        for (int s = 0; s < S; s++)
            for (int i = 0; i < P; i++) {
                out->gen[((size_t)s * P + i) * 2] = f.tok1[(size_t)s * f.N + T + i];
                out->gen[((size_t)s * P + i) * 2 + 1] = f.tok2[(size_t)s * f.N + T + i];
            }
    rc = ENGINE_OK;
done:
    fc_free(&f);
    kr_ops_set_pool(NULL);
    kr_pool_destroy(f.pool);
    return rc;
}
