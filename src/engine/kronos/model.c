#include "engine/kronos/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/kronos/ops.h"

void kr_model_embed(const kr_model *m, const int *s1, const int *s2, const kr_stamp *st, int n,
                    float *x, float *tmp, const kr_trace *tr)
{
    int d = m->d;
    float sc = (float)sqrt((double)d);
    for (int r = 0; r < n; r++) {
        const float *a = m->emb_s1 + (size_t)s1[r] * d, *b = m->emb_s2 + (size_t)s2[r] * d;
        float *o = tmp + (size_t)r * 2 * d;
        for (int i = 0; i < d; i++) {
            o[i] = a[i] * sc;
            o[d + i] = b[i] * sc;
        }
    }
    kr_linear_fwd(&m->fusion, tmp, (size_t)n, x);
    KR_TRACE(tr, "step0_emb", -1, x, (size_t)n, (size_t)d);
    /* upstream sums hour + weekday + day + month + minute, in that order */
    static const int order[KR_TIME_N] = {KR_TIME_HOUR, KR_TIME_WEEKDAY, KR_TIME_DAY, KR_TIME_MONTH,
                                         KR_TIME_MINUTE};
    float *te = tmp; /* reuse: n*d <= n*2d */
    for (int r = 0; r < n; r++) {
        float *o = te + (size_t)r * d;
        const float *t0 = m->time[order[0]] + (size_t)st[r].f[order[0]] * d;
        memcpy(o, t0, sizeof(float) * (size_t)d);
        for (int j = 1; j < KR_TIME_N; j++) {
            const float *tj = m->time[order[j]] + (size_t)st[r].f[order[j]] * d;
            for (int i = 0; i < d; i++)
                o[i] += tj[i];
        }
    }
    KR_TRACE(tr, "step0_time_emb", -1, te, (size_t)n, (size_t)d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        x[i] += te[i];
    KR_TRACE(tr, "step0_emb_time", -1, x, (size_t)n, (size_t)d);
}

void kr_model_rows(const kr_model *m, float *x, int R, const kr_seg *segs, int nseg, kr_ws *ws,
                   const kr_trace *tr)
{
    char name[32];
    for (int l = 0; l < m->layers; l++) {
        if (kr_ops_stopped())
            return;
        kr_block_rows(&m->blocks[l], l, m->d, m->heads, m->ff, x, R, segs, nseg, ws);
        snprintf(name, sizeof(name), "step0_block%d", l);
        KR_TRACE(tr, name, -1, x, (size_t)R, (size_t)m->d);
    }
    kr_rmsnorm(x, m->norm, (size_t)R, m->d, x);
    KR_TRACE(tr, "step0_context", -1, x, (size_t)R, (size_t)m->d);
}

void kr_model_dep_kv(const kr_model *m, const float *ctx, int n, float *k, float *v)
{
    const kr_linear *ls[2] = {&m->dep_k, &m->dep_v};
    float *ys[2] = {k, v};
    kr_linear_many(ls, 2, ctx, (size_t)n, ys);
}

void kr_model_s1_logits(const kr_model *m, const float *ctx, int S, float *logits)
{
    kr_linear_fwd(&m->proj_s1, ctx, (size_t)S, logits);
}

void kr_model_s2_logits(const kr_model *m, const float *ctx_last, const int *s1, int U,
                        const kr_dep_keys *keys, float *logits, float *tmp, kr_ws *ws,
                        const kr_trace *tr)
{
    int d = m->d;
    float *qin = tmp, *q = tmp + (size_t)U * d, *a = q + (size_t)U * d;
    for (int u = 0; u < U; u++)
        memcpy(qin + (size_t)u * d, m->emb_s1 + (size_t)s1[u] * d, sizeof(float) * (size_t)d);
    KR_TRACE(tr, "step0_emb_s1_chosen", -1, qin, 1, (size_t)d);
    kr_linear_fwd(&m->dep_q, qin, (size_t)U, q);
    /* RoPE at query length 1 rotates everything by position 0: nothing to do. */
    for (int u = 0; u < U; u++) {
        kr_attn_seg *sg = &ws->aseg[u];
        sg->q = q + (size_t)u * d;
        sg->out = a + (size_t)u * d;
        sg->rows = 1;
        sg->causal = 0;
        sg->npieces = 0;
        for (int p = 0; p < 2; p++)
            if (keys[u].n[p] > 0) {
                sg->k[sg->npieces] = keys[u].k[p];
                sg->v[sg->npieces] = keys[u].v[p];
                sg->hs[sg->npieces] = 0;
                sg->n[sg->npieces++] = keys[u].n[p];
            }
    }
    kr_attention_segs(ws->aseg, U, d, d / m->dep_heads, ws->scores,
                      kr_attention_scratch_keys(ws->rows, ws->keys), ws->task0);
    kr_linear_fwd(&m->dep_o, a, (size_t)U, qin);
    KR_TRACE(tr, "step0_cross_attn_out", -1, qin, 1, (size_t)d);
    for (int u = 0; u < U; u++) {
        float *o = qin + (size_t)u * d;
        const float *c = ctx_last + (size_t)u * d;
        for (int i = 0; i < d; i++)
            o[i] += c[i];
    }
    kr_rmsnorm(qin, m->dep_norm, (size_t)U, d, qin);
    KR_TRACE(tr, "step0_x2_last", -1, qin, 1, (size_t)d);
    kr_linear_fwd(&m->proj_s2, qin, (size_t)U, logits);
}
