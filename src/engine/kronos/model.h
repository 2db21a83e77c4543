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
 * Whole window of n rows, positions 0..n-1: x (embedded input) becomes the context
 * (final-norm output). kc/vc, when not NULL, receive layer l's keys/values at kc + l*cap*d.
 */
void kr_model_window(const kr_model *m, float *x, int n, float *kc, float *vc, int cap, kr_ws *ws,
                     const kr_trace *tr);

/*
 * One new row per sample at window position pos (x[S][d] embedded input -> context).
 * Layer l's prefix cache is kpre + l*pcap*d (npre rows); sample s's suffix cache is
 * ksuf + (l*S + s)*scap*d with nsuf rows present.
 */
void kr_model_step(const kr_model *m, float *x, int S, int pos, const float *kpre,
                   const float *vpre, int pcap, int npre, float *ksuf, float *vsuf, int scap,
                   int nsuf, kr_ws *ws);

/* Dependency-layer keys and values of context rows: k[n][d], v[n][d]. */
void kr_model_dep_kv(const kr_model *m, const float *ctx, int n, float *k, float *v);

/* s1 logits[S][v1] of S context rows. */
void kr_model_s1_logits(const kr_model *m, const float *ctx, int S, float *logits);

/*
 * s2 logits[S][v2] for sample rows: query emb_s1[s1[s]] (unscaled), attending without mask
 * over dep keys (k0/v0: n0 rows shared by all; k1 + s*stride1*d: n1 rows per sample), then
 * RMSNorm_dep(ctx_last[s] + out) and proj_s2. tmp holds 3*S*d + (n0 + n1) * threads floats.
 */
void kr_model_s2_logits(const kr_model *m, const float *ctx_last, const int *s1, int S,
                        const float *k0, const float *v0, int n0, const float *k1, const float *v1,
                        int n1, int stride1, float *logits, float *tmp, const kr_trace *tr);

#endif
