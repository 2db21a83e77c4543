#include "engine/kronos/tokenizer.h"

#include <math.h>
#include <stdio.h>

#include "engine/kronos/ops.h"

void kr_tok_encode(const kr_tokenizer *t, const float *x, int n, int *s1, int *s2, float *x_work,
                   kr_ws *ws, const kr_trace *tr)
{
    char name[32];
    int cb = t->s1_bits + t->s2_bits;
    kr_linear_fwd(&t->embed, x, (size_t)n, x_work);
    KR_TRACE(tr, "enc_embed", -1, x_work, (size_t)n, (size_t)t->d);
    for (int j = 0; j < t->n_enc; j++) {
        kr_block_seq(&t->enc[j], t->d, t->heads, t->ff, x_work, n, ws);
        snprintf(name, sizeof(name), "enc_block%d", j);
        KR_TRACE(tr, name, -1, x_work, (size_t)n, (size_t)t->d);
    }
    float *z = ws->h; /* n*cb <= n*d floats */
    kr_linear_fwd(&t->quant_embed, x_work, (size_t)n, z);
    KR_TRACE(tr, "z", -1, z, (size_t)n, (size_t)cb);
    if (tr && tr->fn) { /* F.normalize(z), only to observe the quantiser input */
        for (int r = 0; r < n; r++) {
            const float *zr = z + (size_t)r * cb;
            float ss = 0.0f, *o = ws->q + (size_t)r * cb;
            for (int k = 0; k < cb; k++)
                ss += zr[k] * zr[k];
            float nrm = fmaxf(sqrtf(ss), 1e-12f);
            for (int k = 0; k < cb; k++)
                o[k] = zr[k] / nrm;
        }
        KR_TRACE(tr, "z_normalized", -1, ws->q, (size_t)n, (size_t)cb);
    }
    /* L2 normalisation is a positive scaling, so the sign of z decides each bit. */
    for (int r = 0; r < n; r++) {
        const float *zr = z + (size_t)r * cb;
        int a = 0, b = 0;
        for (int k = 0; k < t->s1_bits; k++)
            a |= (zr[k] > 0.0f) << k;
        for (int k = 0; k < t->s2_bits; k++)
            b |= (zr[t->s1_bits + k] > 0.0f) << k;
        s1[r] = a;
        s2[r] = b;
    }
}

void kr_tok_decode_rows(const kr_tokenizer *t, const int *s1, const int *s2, int R,
                        const kr_seg *segs, int nseg, float *out, float *x_work, kr_ws *ws,
                        const kr_trace *tr, int trace_rows)
{
    char name[32];
    int cb = t->s1_bits + t->s2_bits;
    float scale = (float)(1.0 / sqrt((double)cb));
    float *code = ws->h;
    for (int r = 0; r < R; r++) {
        float *c = code + (size_t)r * cb;
        for (int k = 0; k < t->s1_bits; k++)
            c[k] = ((s1[r] >> k) & 1 ? 1.0f : -1.0f) * scale;
        for (int k = 0; k < t->s2_bits; k++)
            c[t->s1_bits + k] = ((s2[r] >> k) & 1 ? 1.0f : -1.0f) * scale;
    }
    kr_linear_fwd(&t->post_quant, code, (size_t)R, x_work);
    KR_TRACE(tr, "dec_post_quant", -1, x_work, (size_t)trace_rows, (size_t)t->d);
    for (int j = 0; j < t->n_dec; j++) {
        kr_block_rows(&t->dec[j], j, t->d, t->heads, t->ff, x_work, R, segs, nseg, ws);
        snprintf(name, sizeof(name), "dec_block%d", j);
        KR_TRACE(tr, name, -1, x_work, (size_t)trace_rows, (size_t)t->d);
    }
    kr_linear_fwd(&t->head, x_work, (size_t)R, out);
    KR_TRACE(tr, "decode_out", -1, out, (size_t)trace_rows, 6);
}
