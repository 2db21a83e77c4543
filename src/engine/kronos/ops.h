#ifndef KRONOS_OPS_H
#define KRONOS_OPS_H

/* The numeric building blocks shared by the tokenizer and the predictor (all float32). */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define KR_MAX_HEAD_DIM 1024

#include "engine/kronos/pool.h"
#include "engine/kronos/weights.h"

/* Sets the pool the calling thread's ops may fan out to (NULL: run inline). */
void kr_ops_set_pool(kr_pool *p);

/*
 * Cooperative stop inside a pass: poll(ctx) says whether the work running should end (a
 * forecast in it was cancelled); once it has said so, `stopped` stays set. The model checks it
 * between layers and sub-layers and the attention between its tasks, then returns early and
 * leaves its outputs undefined: the caller drops the pass. poll may run on any pool thread.
 */
typedef struct kr_stop {
    atomic_bool stopped;
    bool (*poll)(void *ctx);
    void *ctx;
} kr_stop;

/* Sets the stop the calling thread's ops check (NULL: none). */
void kr_ops_set_stop(kr_stop *s);
/* Polls the calling thread's stop: true when the work must end. */
bool kr_ops_stopped(void);
bool kr_stop_check(kr_stop *s);

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

/* Floats of score scratch one thread needs for n rows attending to n keys: a band of at most 128
 * query rows against n keys, so it grows linearly with n. */
size_t kr_attention_scratch(size_t n);
/* The same for segments of at most `rows` query rows attending to at most `keys` keys. */
size_t kr_attention_scratch_keys(size_t rows, size_t keys);

/*
 * Query rows q[rows][d] attending to key/value rows given in pieces, in order. A piece's rows
 * are either rows of width d with the heads side by side (hs = 0), or head-major: head h's rows
 * at k + h * hs, hd floats each, one after another (a cache read one head at a time streams).
 * causal: the last `rows` keys are the query rows' own, so query row j sees every key up to
 * total - rows + j; otherwise every row sees every key.
 */
#define KR_ATTN_PIECES 3
typedef struct kr_attn_seg {
    const float *q;
    float *out;
    int rows, npieces, causal;
    const float *k[KR_ATTN_PIECES], *v[KR_ATTN_PIECES];
    int n[KR_ATTN_PIECES];
    size_t hs[KR_ATTN_PIECES];
} kr_attn_seg;

/*
 * Softmax(q kᵀ/√hd) v for every segment and head of width hd, in one fan-out over segments x
 * heads x bands of 128 query rows. scratch holds per_thread floats for each pool thread
 * (kr_attention_scratch_keys of the largest segment); index holds 4 * nseg + 1 ints.
 * Consecutive segments whose rows follow each other and whose first pieces are the same keys
 * run together (the shared keys are read once for all of them).
 */
void kr_attention_segs(const kr_attn_seg *segs, int nseg, int d, int hd, float *scratch,
                       size_t per_thread, int *index);

#endif
