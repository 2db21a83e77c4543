#ifndef KRONOS_BASELINE_H
#define KRONOS_BASELINE_H

/*
 * The baseline engine, served when no Kronos weights are configured: an honest statistical
 * forecaster (a geometric Brownian motion fitted to the history, see model.h), not a model.
 * Deterministic for a seed; cost linear in history + pred_len * sample_count. Ignores top_k and
 * top_p; temperature scales the volatility. It fits the last max_context rows (512 by default;
 * the caller may change e->max_context before serving).
 */

#include "engine/engine.h"

#define BASELINE_MODEL_VERSION "baseline-gbm"
#define BASELINE_DEFAULT_WINDOW 512

engine *baseline_engine_create(void); /* NULL when out of memory; free with ops->destroy */

#endif
