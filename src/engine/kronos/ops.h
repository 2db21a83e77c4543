#ifndef KRONOS_OPS_H
#define KRONOS_OPS_H

/* The numeric building blocks shared by the tokenizer and the predictor (all float32). */

#include <stddef.h>

#define KR_MAX_HEAD_DIM 1024

#include "engine/kronos/pool.h"
#include "engine/kronos/weights.h"

/* Sets the pool the calling thread's ops may fan out to (NULL: run inline). */
void kr_ops_set_pool(kr_pool *p);

/* y[rows][l->out] = x[rows][l->in] · Wᵀ (+ b) */
void kr_linear_fwd(const kr_linear *l, const float *x, size_t rows, float *y);
/* ys[i] = x · W_iᵀ (+ b_i) for linears sharing one input, in a single fan-out. */
#define KR_MULTI_MAX 4
void kr_linear_many(const kr_linear *const *ls, int count, const float *x, size_t rows,
                    float *const *ys);
/* y += x · Wᵀ (+ b): used for residual adds */
void kr_linear_acc(const kr_linear *l, const float *x, size_t rows, float *y);
/* y = x * rsqrt(mean(x²) + 1e-5) * w, row by row (y may alias x) */
void kr_rmsnorm(const float *x, const float *w, size_t rows, int d, float *y);
/*
 * NeoX rotate-half RoPE on rows of width d split into heads of hd; row r has position pos0 + r.
 * y (may be NULL) gets the same rotation: q and k share their positions.
 */
void kr_rope(float *x, float *y, size_t rows, int d, int hd, const float *inv_freq, int pos0);
/* g = silu(g) * u */
void kr_swiglu(float *g, const float *u, size_t n);

/*
 * Causal self-attention of one sequence of n rows (q, k, v, out: [n][d], heads of hd):
 * out = softmax(q kᵀ/√hd with key ≤ query) v. scratch holds kr_attention_scratch(n) floats per
 * pool thread.
 */
/* Floats of score scratch one thread needs for n rows: a band of at most 128 query rows against
 * n keys, so it grows linearly with n (and is at least n, enough for kr_attention_rows). */
size_t kr_attention_scratch(size_t n);
void kr_attention_causal(const float *q, const float *k, const float *v, int n, int d, int hd,
                         float *out, float *scratch);

/*
 * S query rows (q[S][d]), every head: sample s attends to the shared keys k0/v0 (n0 rows) and
 * its own k1/v1 + s*stride1*d (n1 rows). Fans out over samples x heads; scratch holds n0+n1
 * floats per pool thread.
 */
void kr_attention_rows(const float *q, int S, const float *k0, const float *v0, int n0,
                       const float *k1, const float *v1, int n1, int stride1, int d, int hd,
                       float *out, float *scratch);
/* The head at column offset o only. */
void kr_attention_row_head(const float *q, const float *k0, const float *v0, int n0,
                           const float *k1, const float *v1, int n1, int d, int hd, int o,
                           float *out, float *scratch);

#endif
