#ifndef KRONOS_BASELINE_MODEL_H
#define KRONOS_BASELINE_MODEL_H

/*
 * The baseline forecaster: geometric Brownian motion on the close, fitted to the history.
 *   close:  log C[t+1] = log C[t] + mu + sigma * temperature * Z
 *   open:   the previous close
 *   high:   max(open, close) * exp(up_wick * temperature * E),  E ~ Exp(1)
 *   low:    min(open, close) * exp(-down_wick * temperature * E')
 *   volume: mean of the recent volumes; amount = volume * mean(OHLC) when the history has amounts
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/rng.h"
#include "engine/engine.h"

/* The prices the model represents (the engine accepts only these): its simulation is clamped to
 * this range, so a series outside it would be forecast at the bound. */
#define BASELINE_PRICE_MIN 1e-30
#define BASELINE_PRICE_MAX 1e30

#define BASELINE_VOLUME_WINDOW 32 /* bars averaged for the volume forecast */
#define BASELINE_DRIFT_PRIOR 10.0 /* pseudo-returns of zero drift the estimate is shrunk with */

typedef struct baseline_params {
    double last_close;
    double mu;        /* per-bar drift of the log close */
    double sigma;     /* per-bar volatility of the log close */
    double up_wick;   /* mean log(high / max(open, close)) */
    double down_wick; /* mean log(min(open, close) / low) */
    double volume;
    bool has_amount;
} baseline_params;

/* Fits the last `window` rows (0 = all). Returns 0, or -1 with a message when a price is not a
 * finite positive number. */
int baseline_fit(const float *x, size_t rows, size_t window, baseline_params *p, char *err,
                 size_t errlen);

/* Simulates one path of pred_len bars into out[pred_len][ENGINE_FEATURES]. Every bar satisfies
 * 0 < low <= min(open, close) <= max(open, close) <= high, volume >= 0, amount >= 0; amount is
 * +inf where volume x price exceeds float32. */
void baseline_simulate(const baseline_params *p, double temperature, size_t pred_len, rng *rng,
                       float *out);

#endif
