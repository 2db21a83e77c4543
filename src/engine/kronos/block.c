#include "engine/kronos/block.h"

#include <stdlib.h>
#include <string.h>

static size_t scores_floats(size_t rows, size_t keys, int threads)
{
    return kr_attention_scratch_keys(rows, keys) * (size_t)(threads > 1 ? threads : 1);
}

size_t kr_ws_bytes(size_t rows, size_t keys, size_t segs, int d, int ff, int threads)
{
    return sizeof(float) *
               (5 * rows * (size_t)d + 2 * rows * (size_t)ff + scores_floats(rows, keys, threads)) +
           sizeof(kr_attn_seg) * segs + sizeof(int) * (4 * segs + 1);
}

int kr_ws_init(kr_ws *ws, size_t rows, size_t keys, size_t segs, int d, int ff, int threads)
{
    memset(ws, 0, sizeof(*ws));
    ws->rows = rows;
    ws->keys = keys;
    ws->segs = segs;
    ws->d = d;
    ws->ff = ff;
    ws->threads = threads > 1 ? threads : 1;
    size_t rd = rows * (size_t)d, rf = rows * (size_t)ff;
    ws->h = malloc(rd * sizeof(float));
    ws->q = malloc(rd * sizeof(float));
    ws->a = malloc(rd * sizeof(float));
    ws->k = malloc(rd * sizeof(float));
    ws->v = malloc(rd * sizeof(float));
    ws->g = malloc(rf * sizeof(float));
    ws->u = malloc(rf * sizeof(float));
    ws->scores = malloc(scores_floats(rows, keys, threads) * sizeof(float));
    ws->aseg = malloc(segs * sizeof(kr_attn_seg));
    ws->task0 = malloc((4 * segs + 1) * sizeof(int));
    if (!ws->h || !ws->q || !ws->a || !ws->k || !ws->v || !ws->g || !ws->u || !ws->scores ||
        !ws->aseg || !ws->task0) {
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
    free(ws->aseg);
    free(ws->task0);
    memset(ws, 0, sizeof(*ws));
}

static void ffn(const kr_block *b, int d, int ff, float *x, size_t n, kr_ws *ws)
{
    kr_rmsnorm(x, b->norm2, n, d, ws->h);
    const kr_linear *ls[2] = {&b->w1, &b->w3};
    float *ys[2] = {ws->g, ws->u};
    kr_linear_many(ls, 2, ws->h, n, ys);
    if (kr_ops_stopped())
        return;
    kr_swiglu(ws->g, ws->u, n * (size_t)ff);
    kr_linear_acc(&b->w2, ws->g, n, x);
}

/* A segment's new keys and values (rows of width d) into its head-major store. */
static void store_kv(const kr_seg *s, int layer, int d, int hd, const float *k, const float *v)
{
    size_t lo = (size_t)layer * s->lstride;
    size_t rowb = sizeof(float) * (size_t)hd;
    for (int h = 0; h < d / hd; h++) {
        size_t at = lo + (size_t)h * s->hs + (size_t)s->krow * hd;
        for (int r = 0; r < s->rows; r++) {
            size_t src = (size_t)r * d + (size_t)h * hd, dst = at + (size_t)r * hd;
            memcpy(s->ks + dst, k + src, rowb);
            memcpy(s->vs + dst, v + src, rowb);
        }
    }
}

void kr_block_rows(const kr_block *b, int layer, int d, int heads, int ff, float *x, int R,
                   const kr_seg *segs, int nseg, kr_ws *ws)
{
    int hd = d / heads;
    kr_rmsnorm(x, b->norm1, (size_t)R, d, ws->h);
    const kr_linear *ls[3] = {&b->q, &b->k, &b->v};
    float *ys[3] = {ws->q, ws->k, ws->v};
    kr_linear_many(ls, 3, ws->h, (size_t)R, ys);
    for (int i = 0; i < nseg; i++) {
        const kr_seg *s = &segs[i];
        size_t at = (size_t)s->row0 * d;
        kr_rope(ws->q + at, ws->k + at, (size_t)s->rows, d, hd, b->inv_freq, s->pos0);
        if (s->ks)
            store_kv(s, layer, d, hd, ws->k + at, ws->v + at);
    }
    for (int i = 0; i < nseg; i++) {
        const kr_seg *s = &segs[i];
        kr_attn_seg *a = &ws->aseg[i];
        size_t at = (size_t)s->row0 * d;
        a->q = ws->q + at;
        a->out = ws->a + at;
        a->rows = s->rows;
        a->causal = 1;
        a->npieces = 0;
        for (int p = 0; p < 2; p++)
            if (s->pre[p].n > 0) {
                size_t lo = (size_t)layer * s->pre[p].lstride;
                a->k[a->npieces] = s->pre[p].k + lo;
                a->v[a->npieces] = s->pre[p].v + lo;
                a->hs[a->npieces] = s->pre[p].hs;
                a->n[a->npieces++] = s->pre[p].n;
            }
        a->k[a->npieces] = ws->k + at;
        a->v[a->npieces] = ws->v + at;
        a->hs[a->npieces] = 0;
        a->n[a->npieces++] = s->rows;
    }
    if (kr_ops_stopped())
        return;
    kr_attention_segs(ws->aseg, nseg, d, hd, ws->scores,
                      kr_attention_scratch_keys(ws->rows, ws->keys), ws->task0);
    if (kr_ops_stopped())
        return;
    kr_linear_acc(&b->o, ws->a, (size_t)R, x);
    if (kr_ops_stopped())
        return;
    ffn(b, d, ff, x, (size_t)R, ws);
}

void kr_block_seq(const kr_block *b, int d, int heads, int ff, float *x, int n, kr_ws *ws)
{
    kr_seg s = {.row0 = 0, .rows = n, .pos0 = 0};
    kr_block_rows(b, 0, d, heads, ff, x, n, &s, 1, ws);
}
