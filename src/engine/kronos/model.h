#ifndef KRONOS_MODEL_H
#define KRONOS_MODEL_H

/*
 * The Kronos predictor as inference uses it: token + time embedding, the RoPE transformer
 * over a window (whole, or one new row per sample against a K/V cache), the final norm
 * (the "context"), the s1 head on the last row, and the dependency layer + s2 head.
 */

#include "engine/kronos/block.h"
#include "engine/kronos/trace.h"
#include "engine/kronos/weights.h"

/* Timestamp features in upstream column order: minute, hour, weekday, day, month. */
typedef struct kr_stamp {
    int f[KR_TIME_N];
} kr_stamp;

/* x[n][d] = fusion(emb_s1·√d ‖ emb_s2·√d) + time(stamp). tmp holds n*2d floats. */
void kr_model_embed(const kr_model *m, const int *s1, const int *s2, const kr_stamp *st, int n,
                    float *x, float *tmp, const kr_trace *tr);

/*
 * A stack of R embedded rows (x[R][d]) through every block, segment by segment (block.h), then
 * the final norm: x becomes the context rows. tr observes each layer's output (step 0).
 */
void kr_model_rows(const kr_model *m, float *x, int R, const kr_seg *segs, int nseg, kr_ws *ws,
                   const kr_trace *tr);

/* Dependency-layer keys and values of context rows: k[n][d], v[n][d]. */
void kr_model_dep_kv(const kr_model *m, const float *ctx, int n, float *k, float *v);

/* s1 logits[S][v1] of S context rows. */
void kr_model_s1_logits(const kr_model *m, const float *ctx, int S, float *logits);

/* The dependency layer's keys for one query: two pieces of rows (n = 0: none). */
typedef struct kr_dep_keys {
    const float *k[2], *v[2];
    int n[2];
} kr_dep_keys;

/*
 * s2 logits[U][v2] for U sample rows: query emb_s1[s1[u]] (unscaled), attending without mask
 * over keys[u], then RMSNorm_dep(ctx_last[u] + out) and proj_s2. tmp holds 3*U*d floats; ws
 * supplies the attention scratch and segments (U <= ws->rows, keys <= ws->keys).
 */
void kr_model_s2_logits(const kr_model *m, const float *ctx_last, const int *s1, int U,
                        const kr_dep_keys *keys, float *logits, float *tmp, kr_ws *ws,
                        const kr_trace *tr);

#endif
