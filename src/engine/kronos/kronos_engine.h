#ifndef KRONOS_KRONOS_ENGINE_H
#define KRONOS_KRONOS_ENGINE_H

/*
 * The native Kronos engine behind engine.h. Weights are read into memory once at load and shared
 * by every concurrent predict call; each call allocates its own bounded working set.
 * model_version / tokenizer_version are the basenames of the two folders, made valid UTF-8.
 */

#include "engine/engine.h"

/* threads: how many threads one batch of forecasts uses. clip: normalised-value clip (5). */
engine *kronos_engine_create(const char *model_dir, const char *tokenizer_dir, int max_context,
                             double clip, int threads);

/*
 * Batching: max_batch_rows (KRONOS_MAX_BATCH_ROWS, <= 0: 1024) bounds the rows one pass of the
 * model stacks; under the request limits lim, a batch holds at once at most what the costliest
 * series and a full batch request's outputs take (what the start-up memory check counts per
 * worker); NULL: no bound. Call before serving. Returns 0, or -1 with a reason when the model
 * folder cannot be read (loading will report it too).
 */
int kronos_engine_set_batching(engine *e, int max_batch_rows, const engine_limits *lim, char *err,
                               size_t errlen);

#endif
