#ifndef KRONOS_PREDICT_RESPONSE_H
#define KRONOS_PREDICT_RESPONSE_H

/*
 * The body answering a prediction (SPEC §1): one object for /v1/predict/single, a JSON array
 * of objects in item order for /v1/predict/batch. Each object:
 *
 *   {"series_id": <string or null>, "request_id": "...",
 *    "prediction": [{"timestamp": <as the client wrote it>, "open", "high", "low", "close",
 *                    "volume", "amount"}, ...],
 *    "quantiles": {"0.1": [<same bars>], ...},          (only when the item asked for some)
 *    "model_version": "...", "tokenizer_version": "...", "engine": "..."}
 *
 * Bars are made consistent (high = max(open, high, close), low = min(open, low, close),
 * volume/amount >= 0). Quantiles are taken per field and time step across the samples after
 * each sample bar has been made consistent, with numpy's default linear interpolation; that
 * keeps quantile bars consistent too. Numbers are the shortest text that reads back as the
 * same float32 (1.1, not 1.10000002), always with a '.' or an exponent.
 */

#include <stdbool.h>
#include <stddef.h>

#include "api/predict_request.h"
#include "engine/engine.h"

typedef struct predict_output_stats {
    size_t points;         /* forecast bars in "prediction", over all items */
    size_t ohlc_adjusted;  /* high/low values of those bars raised/lowered for consistency */
    size_t volume_clamped; /* volume/amount values of those bars raised to 0 */
} predict_output_stats;

/* fc[i] is the forecast of req->series[i]. Returns a malloc'ed NUL-terminated body (its
 * length in *len_out), or NULL when memory ran out or a forecast does not fit its request
 * (wrong pred_len, missing samples for quantiles, non-finite values): a server fault. stats
 * may be NULL. */
char *predict_response_json(const predict_request *req, const engine_forecast *fc,
                            const char *request_id, const char *model_version,
                            const char *tokenizer_version, const char *engine_name, size_t *len_out,
                            predict_output_stats *stats);

/* A forecast the engine could not represent (values beyond float32 at the series' scale come
 * back as inf) is a 422: records one violation per item and column, naming the candle with the
 * column's largest value (the volume for a derived amount). Returns true when any was found
 * (err is then finished). */
bool predict_forecast_unrepresentable(const predict_request *req, const engine_forecast *fc,
                                      predict_error *err);

/* Makes one [ENGINE_FEATURES] bar consistent in place; adds what changed to stats (or NULL). */
void predict_bar_make_consistent(float *bar, predict_output_stats *stats);

/* The q-quantile of sorted[0..n) (n >= 1), linear interpolation as numpy.quantile's default. */
double predict_quantile_sorted(const double *sorted, size_t n, double q);

#endif
