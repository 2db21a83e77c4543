#ifndef KRONOS_BLOCK_H
#define KRONOS_BLOCK_H

/* A pre-norm RoPE transformer block, over a whole causal sequence or one new row per sample. */

#include <stddef.h>

#include "engine/kronos/weights.h"

/* Scratch for sequences of up to `rows` rows (width d, feed-forward ff), for a pool of threads. */
typedef struct kr_ws {
    size_t rows;
    int d, ff;
    float *h, *q, *a, *g, *u, *scores;
    float *k, *v; /* used when the caller keeps no cache */
} kr_ws;

int kr_ws_init(kr_ws *ws, size_t rows, int d, int ff, int threads);
/* Bytes kr_ws_init allocates for these arguments. */
size_t kr_ws_bytes(size_t rows, int d, int ff, int threads);
void kr_ws_free(kr_ws *ws);

/*
 * x[n][d] += Attn(RMSNorm1(x)); x += FFN(RMSNorm2(x)), causal, positions 0..n-1.
 * k_out/v_out ([n][d]) receive the rotated keys and the values; NULL uses scratch.
 */
void kr_block_seq(const kr_block *b, int d, int heads, int ff, float *x, int n, float *k_out,
                  float *v_out, kr_ws *ws);

/*
 * One new row per sample (x[S][d]) at position pos. Sample s attends to the shared prefix
 * (kpre/vpre, npre rows) and its own rows ksuf/vsuf + s*cap*d, of which nsuf exist already;
 * this row's key and value are written at index nsuf.
 */
void kr_block_step(const kr_block *b, int d, int heads, int ff, float *x, int S, int pos,
                   const float *kpre, const float *vpre, int npre, float *ksuf, float *vsuf,
                   int cap, int nsuf, kr_ws *ws);

#endif
