#ifndef KRONOS_PREDICT_REQUEST_H
#define KRONOS_PREDICT_REQUEST_H

/*
 * Parsing and validation of the bodies of POST /v1/predict/single and /v1/predict/batch
 * (SPEC §1). The result is ready for the engine: one engine_series per item, inputs filled
 * per SPEC (volume absent everywhere -> volume = amount = 0; amount absent -> volume x
 * mean(OHLC)), sampling parameters with the server defaults applied.
 *
 * Decisions beyond the SPEC text:
 *  - 400 also for nesting deeper than 32 and for bodies with far more JSON values than the
 *    limits allow (predict_max_json_values), both found by a pre-scan before jansson.
 *  - Bodies jansson refuses are 400: not JSON, NaN/Infinity literals, invalid UTF-8, NUL in
 *    strings, numbers it cannot hold (1e400, integers beyond 64-bit: seeds are <= 2^63-1).
 *  - Integer fields (pred_len, top_k, sample_count, seed) also accept integral reals (2.0),
 *    as pydantic does; 2.5 is a type error.
 *  - volume (and likewise amount) must be given on every candle or on none; candles that lack
 *    it while others have it are 422 "required when other candles have volume".
 *  - Prices must fit a float32 (the engine's input type): > 0 and at most 3.4e38 after the
 *    cast; volume and the derived amount likewise. Within that, values must lie in the range
 *    the serving engine represents (predict_limits, from struct engine).
 *  - quantiles must be distinct (each becomes a key of the response's "quantiles" object).
 *  - series_id: at most 128 characters (code points); required and unique in a batch.
 */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/predict_error.h"
#include "engine/engine.h"

#define PREDICT_MAX_DEPTH 32
#define PREDICT_MAX_QUANTILES 9
#define PREDICT_MAX_SERIES_ID 128

typedef struct predict_limits {
    size_t max_candles;     /* KRONOS_MAX_CANDLES, 2048 */
    size_t max_pred_len;    /* KRONOS_MAX_PRED_LEN, 512 */
    size_t max_batch_items; /* KRONOS_MAX_BATCH_ITEMS, 64 */
    int max_sample_count;   /* KRONOS_MAX_SAMPLE_COUNT, 16 */
    /* The engine's value range (struct engine); 0 = the float32 range. */
    double price_min, price_max, quantity_max;
} predict_limits;

typedef struct predict_defaults {
    double temperature; /* KRONOS_DEFAULT_TEMPERATURE */
    int top_k;
    double top_p;
    int sample_count;
} predict_defaults;

typedef struct predict_item {
    char *series_id;        /* NULL when absent (single route only) */
    float *x;               /* [rows][ENGINE_FEATURES] */
    engine_time *x_time;    /* [rows] */
    engine_time *y_time;    /* [pred_len] */
    size_t pred_len;        /* number of prediction_timestamps */
    char **pred_timestamps; /* [pred_len], as the client wrote them (a number: RFC 3339 UTC) */
    size_t n_quantiles;     /* 0 = none asked */
    double quantiles[PREDICT_MAX_QUANTILES]; /* in request order, distinct, each in (0, 1) */
    bool seed_random;                        /* no seed given: sampling.seed was drawn at random */
    bool volume_given;                       /* false: volume and amount were filled with 0 */
    bool amount_given;                       /* false: amount = volume x mean(OHLC) (or 0) */
    json_t *warnings; /* strings for the answer's "warnings" (unknown overrides), or NULL */
} predict_item;

typedef struct predict_request {
    bool batch;
    size_t n;              /* items: 1 for single */
    predict_item *items;   /* [n] */
    engine_series *series; /* [n], parallel to items, pointing into their buffers */
    size_t total_rows;     /* sum of candles over items */
    size_t total_pred_len; /* sum of pred_len over items */
} predict_request;

enum {
    PREDICT_OK = 0,
    PREDICT_BAD_REQUEST = 400,
    PREDICT_INVALID = 422,
    PREDICT_NOMEM = 500,
};

/* Parses body[0..len) as a single (batch = false) or batch request. Returns PREDICT_OK with
 * *out filled (free it with predict_request_free), or the HTTP status with *err filled
 * (err must have been initialised with predict_error_init; clear it afterwards). On error
 * *out is left empty. */
int predict_parse(const char *body, size_t len, bool batch, const predict_limits *lim,
                  const predict_defaults *def, predict_request *out, predict_error *err);

void predict_request_free(predict_request *r);

/* Cheap pass before jansson (strings and escapes honoured; not a validator, malformed text is
 * left to the parser): 0, or PREDICT_SCAN_TOO_DEEP when arrays/objects nest deeper than
 * max_depth, or PREDICT_SCAN_TOO_MANY when the body holds more than about max_values values
 * (counted as commas + containers). The count bounds jansson's memory, ~40 bytes per
 * value: a 10 MB body of "0," would otherwise cost 200 MB. */
enum { PREDICT_SCAN_TOO_DEEP = -1, PREDICT_SCAN_TOO_MANY = -2 };
int predict_json_prescan(const char *body, size_t len, int max_depth, size_t max_values);

/* The value budget of a route under lim: 16 per candle (6 numbers, a timestamp and room for
 * ignored fields) + 2 per prediction timestamp + 256, times max_batch_items for a batch. */
size_t predict_max_json_values(const predict_limits *lim, bool batch);

#endif
