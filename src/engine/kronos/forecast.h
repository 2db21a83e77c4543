#ifndef KRONOS_FORECAST_H
#define KRONOS_FORECAST_H

/*
 * One Kronos forecast (upstream KronosPredictor.predict): normalise, encode, the
 * autoregressive loop over a max_context window with K/V caching while the window only grows
 * and exact full-window recompute once it slides, decode, mean over samples, de-normalise.
 */

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/kronos/model.h"
#include "engine/kronos/trace.h"
#include "engine/kronos/weights.h"

typedef struct kr_request {
    int T;
    const float *x; /* [T][6] raw features */
    const kr_stamp *x_stamp;
    int P;
    const kr_stamp *y_stamp;
    double temperature;
    int top_k;
    double top_p;
    int S;
    uint64_t seed;
    int threads;           /* threads this forecast may use (<= 1: the calling thread only) */
    int full_recompute;    /* no K/V cache across steps: every step recomputes its window (tests) */
    int max_rows;          /* rows one pass of the model may stack (<= 0: the default) */
    engine_phases *phases; /* where the phases' times are noted for tracing, or NULL */
} kr_request;

/* Caller-allocated outputs; the optional ones may be NULL. */
typedef struct kr_result {
    float *mean;          /* [P][6] de-normalised mean over samples */
    float *samples;       /* [S][P][6] de-normalised, optional */
    int *ctx_s1, *ctx_s2; /* [T], optional */
    int *gen;             /* [S][P][2] generated (s1, s2), optional */
} kr_result;

/* Seconds spent per phase, accumulated when not NULL (for the benchmark). */
typedef struct kr_phase_times {
    double tokenizer, prefill, cached, sliding;
    int cached_steps, sliding_steps;
    int passes, decode_passes; /* passes of the model and of the final decode it took part in */
} kr_phase_times;

/* numpy's float32 pairwise summation (the order numpy's add.reduce uses). */
float kr_pairwise_sum(const float *a, size_t n, size_t stride);
/* Per column of x[T][6]: mean and population std as numpy computes them in float32 (in double
 * when those overflow). tmp holds T floats. */
void kr_column_stats(const float *x, int T, float *mean, float *std, float *tmp);
/* 0, or -1 with a reason when the request cannot be forecast with max_context M. */
int kr_check_request(int M, const kr_request *q, char *err, size_t errlen);

/* Bytes one kr_forecast allocates for T input rows, P forecast rows and S samples on a pool of
 * `threads` with the default pass cap (the caller's outputs aside). */
size_t kr_forecast_bytes(const kr_shape *sh, int max_context, int T, int P, int S, int threads);
/* The most kr_forecast_bytes gives for any T in 1..max_T. */
size_t kr_forecast_bytes_max(const kr_shape *sh, int max_context, int max_T, int P, int S,
                             int threads);

/* One forecast on its own (a batch of one). Returns ENGINE_OK, ENGINE_CANCELLED, or
 * ENGINE_ERROR with a reason in err. */
int kr_forecast(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                const kr_request *req, kr_result *out, engine_cancel *cancel, const kr_trace *tr,
                kr_phase_times *times, char *err, size_t errlen);

#endif
