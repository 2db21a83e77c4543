#include "engine/kronos/block.h"

#include <stdlib.h>
#include <string.h>

#include "engine/kronos/ops.h"

static size_t scores_floats(size_t rows, int threads)
{
    return kr_attention_scratch(rows) * (size_t)(threads > 1 ? threads : 1);
}

size_t kr_ws_bytes(size_t rows, int d, int ff, int threads)
{
    return sizeof(float) *
           (5 * rows * (size_t)d + 2 * rows * (size_t)ff + scores_floats(rows, threads));
}

int kr_ws_init(kr_ws *ws, size_t rows, int d, int ff, int threads)
{
    memset(ws, 0, sizeof(*ws));
    ws->rows = rows;
    ws->d = d;
    ws->ff = ff;
    size_t rd = rows * (size_t)d, rf = rows * (size_t)ff;
    ws->h = malloc(rd * sizeof(float));
    ws->q = malloc(rd * sizeof(float));
    ws->a = malloc(rd * sizeof(float));
    ws->k = malloc(rd * sizeof(float));
    ws->v = malloc(rd * sizeof(float));
    ws->g = malloc(rf * sizeof(float));
    ws->u = malloc(rf * sizeof(float));
    ws->scores = malloc(scores_floats(rows, threads) * sizeof(float));
    if (!ws->h || !ws->q || !ws->a || !ws->k || !ws->v || !ws->g || !ws->u || !ws->scores) {
        kr_ws_free(ws);
        return -1;
    }
    return 0;
}

void kr_ws_free(kr_ws *ws)
{
    free(ws->h);
    free(ws->q);
    free(ws->a);
    free(ws->k);
    free(ws->v);
    free(ws->g);
    free(ws->u);
    free(ws->scores);
    memset(ws, 0, sizeof(*ws));
}

static void ffn(const kr_block *b, int d, int ff, float *x, size_t n, kr_ws *ws)
{
    kr_rmsnorm(x, b->norm2, n, d, ws->h);
    const kr_linear *ls[2] = {&b->w1, &b->w3};
    float *ys[2] = {ws->g, ws->u};
    kr_linear_many(ls, 2, ws->h, n, ys);
    kr_swiglu(ws->g, ws->u, n * (size_t)ff);
    kr_linear_acc(&b->w2, ws->g, n, x);
}

void kr_block_seq(const kr_block *b, int d, int heads, int ff, float *x, int n, float *k_out,
                  float *v_out, kr_ws *ws)
{
    int hd = d / heads;
    float *k = k_out ? k_out : ws->k, *v = v_out ? v_out : ws->v;
    kr_rmsnorm(x, b->norm1, (size_t)n, d, ws->h);
    const kr_linear *ls[3] = {&b->q, &b->k, &b->v};
    float *ys[3] = {ws->q, k, v};
    kr_linear_many(ls, 3, ws->h, (size_t)n, ys);
    kr_rope(ws->q, k, (size_t)n, d, hd, b->inv_freq, 0);
    kr_attention_causal(ws->q, k, v, n, d, hd, ws->a, ws->scores);
    kr_linear_acc(&b->o, ws->a, (size_t)n, x);
    ffn(b, d, ff, x, (size_t)n, ws);
}

void kr_block_step(const kr_block *b, int d, int heads, int ff, float *x, int S, int pos,
                   const float *kpre, const float *vpre, int npre, float *ksuf, float *vsuf,
                   int cap, int nsuf, kr_ws *ws)
{
    int hd = d / heads;
    kr_rmsnorm(x, b->norm1, (size_t)S, d, ws->h);
    const kr_linear *ls[3] = {&b->q, &b->k, &b->v};
    float *ys[3] = {ws->q, ws->k, ws->v};
    kr_linear_many(ls, 3, ws->h, (size_t)S, ys);
    for (int s = 0; s < S; s++) { /* every sample's new row sits at the same position */
        kr_rope(ws->q + (size_t)s * d, ws->k + (size_t)s * d, 1, d, hd, b->inv_freq, pos);
    }
    for (int s = 0; s < S; s++) {
        size_t at = ((size_t)s * cap + nsuf) * d;
        memcpy(ksuf + at, ws->k + (size_t)s * d, sizeof(float) * (size_t)d);
        memcpy(vsuf + at, ws->v + (size_t)s * d, sizeof(float) * (size_t)d);
    }
    kr_attention_rows(ws->q, S, kpre, vpre, npre, ksuf, vsuf, nsuf + 1, cap, d, hd, ws->a,
                      ws->scores);
    kr_linear_acc(&b->o, ws->a, (size_t)S, x);
    ffn(b, d, ff, x, (size_t)S, ws);
}
