#ifndef KRONOS_BLOCK_H
#define KRONOS_BLOCK_H

/*
 * A pre-norm RoPE transformer block over a stack of rows that belong to several segments: each
 * segment is a run of consecutive new rows of one sequence, attending causally to themselves and
 * to keys/values computed before (a cache, or rows another segment of the same pass stores).
 * One matrix through every linear layer, so the weights are read once for the whole stack.
 */

#include <stddef.h>

#include "engine/kronos/ops.h"
#include "engine/kronos/weights.h"

/* Scratch for stacks of up to `rows` rows in at most `segs` segments that attend to at most
 * `keys` keys (width d, feed-forward ff), for a pool of threads. */
typedef struct kr_ws {
    size_t rows, keys, segs;
    int d, ff, threads;
    float *h, *q, *a, *g, *u, *scores;
    float *k, *v;
    kr_attn_seg *aseg; /* [segs] */
    int *task0;        /* [4 * segs + 1] */
} kr_ws;

int kr_ws_init(kr_ws *ws, size_t rows, size_t keys, size_t segs, int d, int ff, int threads);
/* Bytes kr_ws_init allocates for these arguments. */
size_t kr_ws_bytes(size_t rows, size_t keys, size_t segs, int d, int ff, int threads);
void kr_ws_free(kr_ws *ws);

/* Keys and values of earlier rows: layer l's n rows at k + l*lstride, rows of width d (hs = 0)
 * or head-major, head h's rows at k + l*lstride + h*hs (see kr_attn_seg). */
typedef struct kr_kv_ref {
    const float *k, *v;
    size_t lstride;
    int n;
    size_t hs;
} kr_kv_ref;

typedef struct kr_seg {
    int row0, rows;   /* the segment's rows in the stack */
    int pos0;         /* RoPE position of its first row */
    kr_kv_ref pre[2]; /* keys before its own rows, in order (n = 0: none) */
    /* Where its rows' keys and values are stored (ks NULL: not kept): layer l's block at
     * ks + l*lstride, head-major with head stride hs (as a kr_kv_ref), its rows from row krow
     * of the block. Stores happen before any attention of the layer, so a later segment of the
     * same stack may name them in pre. */
    float *ks, *vs;
    size_t lstride, hs;
    int krow;
} kr_seg;

/* x[R][d] += Attn(RMSNorm1(x)); x += FFN(RMSNorm2(x)) for every segment; `layer` selects the
 * layer's keys and values in the segments' references. */
void kr_block_rows(const kr_block *b, int layer, int d, int heads, int ff, float *x, int R,
                   const kr_seg *segs, int nseg, kr_ws *ws);

/* One causal sequence of n rows at positions 0..n-1, keys and values not kept. */
void kr_block_seq(const kr_block *b, int d, int heads, int ff, float *x, int n, kr_ws *ws);

#endif
