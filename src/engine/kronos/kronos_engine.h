#ifndef KRONOS_KRONOS_ENGINE_H
#define KRONOS_KRONOS_ENGINE_H

/*
 * The native Kronos engine behind engine.h. Weights are read into memory once at load and shared
 * by every concurrent predict call; each call allocates its own bounded working set.
 * model_version / tokenizer_version are the basenames of the two folders, made valid UTF-8.
 */

#include "engine/engine.h"

/* threads: how many threads one forecast may use (BLAS). clip: normalised-value clip (5). */
engine *kronos_engine_create(const char *model_dir, const char *tokenizer_dir, int max_context,
                             double clip, int threads);

#endif
