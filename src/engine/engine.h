#ifndef KRONOS_ENGINE_H
#define KRONOS_ENGINE_H

/*
 * The forecasting engine interface. Two engines implement it: kronos/ (the native model) and
 * baseline/ (a statistical forecaster used when no weights are configured). Engines are driven
 * by the scheduler's worker threads only; HTTP threads never call predict.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENGINE_FEATURES 6 /* open, high, low, close, volume, amount */

enum engine_feature { F_OPEN, F_HIGH, F_LOW, F_CLOSE, F_VOLUME, F_AMOUNT };

/* Calendar features of a bar's wall-clock time, as the upstream model uses them. */
typedef struct engine_time {
    int minute;  /* 0..59 */
    int hour;    /* 0..23 */
    int weekday; /* Monday = 0 .. Sunday = 6 */
    int day;     /* 1..31 */
    int month;   /* 1..12 */
} engine_time;

typedef struct engine_sampling {
    double temperature; /* > 0 */
    int top_k;          /* 0 = off */
    double top_p;       /* (0, 1] */
    int sample_count;   /* >= 1 */
    uint64_t seed;
} engine_sampling;

/* Where a forecast's time went, per series, for tracing: the engine records each phase it runs
 * (monotonic ns; a phase run several times keeps its first start, last end and the number of
 * runs). Engine-agnostic so any engine, batched or not, can fill it; NULL records nothing. */
enum engine_phase {
    ENGINE_PHASE_ENCODE,  /* normalise the input and tokenise it */
    ENGINE_PHASE_PREFILL, /* the first step over the whole context */
    ENGINE_PHASE_CACHED,  /* autoregressive steps on the key/value cache */
    ENGINE_PHASE_SLIDING, /* steps that recompute a sliding window */
    ENGINE_PHASE_DECODE,  /* tokens back to candles */
    ENGINE_PHASE_COUNT
};

typedef struct engine_phase_record {
    uint64_t start_ns, end_ns;
    uint64_t count; /* steps (cached, sliding) or runs */
} engine_phase_record;

typedef struct engine_phases {
    engine_phase_record phase[ENGINE_PHASE_COUNT];
} engine_phases;

static inline void engine_phase_note(engine_phases *p, enum engine_phase ph, uint64_t start_ns,
                                     uint64_t end_ns, uint64_t count)
{
    if (!p)
        return;
    engine_phase_record *r = &p->phase[ph];
    if (!r->count && !r->start_ns)
        r->start_ns = start_ns;
    r->end_ns = end_ns;
    r->count += count;
}

/* One series to forecast. Inputs are raw (not normalised); volume/amount already filled in
 * per SPEC §1 (missing volume -> 0, missing amount -> volume * mean(OHLC)). */
typedef struct engine_series {
    size_t rows;               /* T >= 1 */
    const float *x;            /* [rows][ENGINE_FEATURES], row-major */
    const engine_time *x_time; /* [rows] */
    size_t pred_len;           /* >= 1 */
    const engine_time *y_time; /* [pred_len] */
    engine_sampling sampling;
    engine_phases *phases; /* NULL, or where the engine records its phases (see above) */
} engine_series;

/* Result for one series. Buffers are allocated by the engine with malloc and owned by the
 * caller afterwards (engine_forecast_free). Values are finite, or +-inf where the forecast at the
 * series' scale exceeds float32 (the caller refuses such a series, naming its field); never NaN. */
typedef struct engine_forecast {
    size_t pred_len;
    int sample_count;
    float *mean;    /* [pred_len][ENGINE_FEATURES]: mean over samples, de-normalised */
    float *samples; /* [sample_count][pred_len][ENGINE_FEATURES], de-normalised; for quantiles */
} engine_forecast;

void engine_forecast_free(engine_forecast *f);

/* Cooperative cancellation: the scheduler sets `cancelled` on deadline expiry or client
 * disconnect; engines poll it between steps (the Kronos engine also inside a step, between
 * layers) and return ENGINE_CANCELLED promptly. */
typedef struct engine_cancel {
    atomic_bool cancelled;
} engine_cancel;

static inline bool engine_is_cancelled(const engine_cancel *c)
{
    return c && atomic_load_explicit(&c->cancelled, memory_order_relaxed);
}

enum engine_status {
    ENGINE_OK = 0,
    ENGINE_CANCELLED = 1,
    ENGINE_ERROR = 2,
    ENGINE_BUSY = 3, /* engine_batch_ops.add: no room beside the jobs already in */
};

typedef struct engine engine;

/* The request limits (KRONOS_MAX_*) that bound the memory of one forecast job. */
typedef struct engine_limits {
    size_t max_candles, max_pred_len, max_batch_items;
    int max_sample_count;
} engine_limits;

/* Worst-case memory under engine_limits (docs/PERFORMANCE.md, "Memory bounds"). */
typedef struct engine_memory {
    uint64_t per_job; /* one job: the largest series' working set + the outputs of a full batch */
    uint64_t weights; /* held once per process */
} engine_memory;

typedef struct engine_ops {
    /* Loads weights; may take long. Called once, from a loader thread. On failure returns
     * ENGINE_ERROR and writes a one-line reason into err. */
    int (*load)(engine *e, char *err, size_t errlen);
    /* Forecasts n series. Called concurrently from several worker threads; must be
     * thread-safe after load. out[i] is filled for every series on ENGINE_OK. The caller
     * zeroes out[] first; on any other status each out[i] is left zeroed or valid (the
     * scheduler frees it with engine_forecast_free), never holding freed pointers. */
    int (*predict)(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                   engine_cancel *cancel, char *err, size_t errlen);
    void (*destroy)(engine *e);
    /* Worst-case memory under lim, from the configuration alone (callable before load, from
     * any thread). Returns 0, or -1 with a one-line reason when it cannot tell (a broken model
     * folder, which loading will report). NULL: the engine gives no figure. */
    int (*memory)(const engine *e, const engine_limits *lim, engine_memory *out, char *err,
                  size_t errlen);
} engine_ops;

/*
 * Continuous batching (optional). A batch holds the forecasts of several jobs and advances all of
 * them by one step of the model per call, reading the weights once for all; jobs join between
 * steps and leave when finished, failed or cancelled. One thread at a time drives a batch.
 */
typedef struct engine_batch engine_batch;

typedef struct engine_batch_ops {
    engine_batch *(*open)(engine *e);
    void (*close)(engine_batch *b); /* drops every job still in */
    /* Admits a job of n series (predict's contract for series, out and cancel; all stay valid
     * until the job is taken back). ENGINE_OK; ENGINE_BUSY when its working set does not fit
     * beside the jobs already in (never for an empty batch); ENGINE_ERROR with a reason. */
    int (*add)(engine_batch *b, const engine_series *series, size_t n, engine_forecast *out,
               engine_cancel *cancel, void *tag, char *err, size_t errlen);
    /* One step for every job in; a job whose cancel token is set stops first. Returns the rows
     * the model stacked (0: nothing ran). */
    int (*step)(engine_batch *b);
    /* A job that left, with its status (ENGINE_OK: out filled; ENGINE_CANCELLED; ENGINE_ERROR
     * with a reason in err); NULL when none has. */
    void *(*take)(engine_batch *b, int *status, char *err, size_t errlen);
    int (*jobs)(const engine_batch *b); /* jobs in the batch */
} engine_batch_ops;

struct engine {
    const engine_ops *ops;
    const engine_batch_ops *batch; /* NULL: predict only */
    const char *name;              /* "kronos" or "baseline" */
    char model_version[128];       /* e.g. "Kronos-small"; filled by the constructor or load */
    char tokenizer_version[128];   /* e.g. "Kronos-Tokenizer-base" */
    int max_context;               /* tokens the model sees; baseline: its history window */
    int max_pred_len;              /* longest forecast the engine can make; 0 = no limit */
    /* The input values the engine represents; requests outside are refused (422, naming the
     * field) before any work: prices in [price_min, price_max], volume and amount in
     * [0, quantity_max]. 0 = the float32 range (the engine's input type). */
    double price_min, price_max, quantity_max;
    void *impl;
};

#endif
