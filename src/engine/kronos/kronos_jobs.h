#ifndef KRONOS_JOBS_H
#define KRONOS_JOBS_H

/*
 * Jobs (the series of one request) on a batch of forecasts (batch.h): the engine's continuous
 * batching. Every series of every job in is a forecast of the same batch, so each pass of the
 * model serves all of them. What the batch holds at once is bounded by a byte budget: a job is
 * admitted when its outputs and its first series fit beside the others (or the batch is empty),
 * its other series as memory frees up, in order of arrival.
 */

#include <stddef.h>

#include "engine/engine.h"
#include "engine/kronos/weights.h"

typedef struct kr_jobs kr_jobs;

/* budget: bytes of forecasts' working sets and outputs held at once (0: no bound). */
kr_jobs *kr_jobs_open(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                      int threads, int max_rows, size_t budget);
void kr_jobs_close(kr_jobs *j);

/* engine_batch_ops.add, .step, .take, .jobs */
int kr_jobs_add(kr_jobs *j, const engine_series *series, size_t n, engine_forecast *out,
                engine_cancel *cancel, void *tag, char *err, size_t errlen);
int kr_jobs_step(kr_jobs *j);
void *kr_jobs_take(kr_jobs *j, int *status, char *err, size_t errlen);
int kr_jobs_count(const kr_jobs *j);

/* Bytes a series' outputs take (mean and samples). */
size_t kr_series_out_bytes(const engine_series *s);

#endif
