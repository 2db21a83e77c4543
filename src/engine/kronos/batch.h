#ifndef KRONOS_BATCH_H
#define KRONOS_BATCH_H

/*
 * Forecasts in flight together. Each pass stacks the rows every running forecast needs next into
 * one matrix and runs it through the model once, so the weights are read once per pass for all
 * of them:
 *   - step 0 (prefill): the window ending at the last input bar, shared by every sample;
 *   - cached steps (window still growing): one row per sample against the K/V caches;
 *   - sliding steps (full window every step): the rows that are still input bars are the same
 *     for every sample, computed once and stored; each sample's generated rows attend to them.
 * A pass holds at most max_rows rows: what does not fit waits for the next pass (a sliding step's
 * samples may be spread over several passes). Forecasts join with kr_batch_add and leave when
 * finished or failed, at pass boundaries, or when cancelled: a cancel token set during a pass
 * (an encode, a prefill, a sliding recompute, a decode) is seen between layers, sub-layers and
 * attention tasks; the pass is then dropped before sampling, the cancelled forecast leaves, and
 * the others run that pass again next step (same answers: nothing they keep was committed).
 */

#include <stddef.h>

#include "engine/engine.h"
#include "engine/kronos/forecast.h"

typedef struct kr_batch kr_batch;
typedef struct kr_item kr_item;

/* Rows of a pass when the caller gives no cap. */
#define KR_BATCH_ROWS_DEFAULT 1024

/* threads: the batch's own pool (<= 1: the calling thread only). max_rows <= 0: the default. */
kr_batch *kr_batch_create(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                          int threads, int max_rows);
/* Frees the batch and every item still in it. */
void kr_batch_destroy(kr_batch *b);

/*
 * Adds a forecast. q's buffers, out, cancel, tr and times must stay valid until the item is
 * removed. Returns NULL with a reason in err for an invalid request or when memory ran out.
 */
kr_item *kr_batch_add(kr_batch *b, const kr_request *q, kr_result *out, engine_cancel *cancel,
                      const kr_trace *tr, kr_phase_times *times, char *err, size_t errlen);

/* Runs one pass over the running items. Returns how many are still running afterwards. */
int kr_batch_step(kr_batch *b);

/* -1 while running, then ENGINE_OK (out filled), ENGINE_CANCELLED or ENGINE_ERROR. */
int kr_item_status(const kr_item *it);
const char *kr_item_error(const kr_item *it);
/* Takes a finished (or running: it is dropped) item out of the batch and frees it. */
void kr_batch_remove(kr_batch *b, kr_item *it);

/* Rows in the last pass (for metrics and tests). */
int kr_batch_last_rows(const kr_batch *b);

/* Bytes one item holds (its tokens, caches and outputs). */
size_t kr_item_bytes(const kr_shape *sh, int max_context, int T, int P, int S);
/* The most kr_item_bytes gives for any T in 1..max_T (not monotone in T: the per-sample caches
 * shrink as T approaches max_context). */
size_t kr_item_bytes_max(const kr_shape *sh, int max_context, int max_T, int P, int S);
/* Bytes of the pass buffers a batch holding one item (T, P, S) allocates, with a pass cap of
 * max_rows (<= 0: the default) on a pool of `threads`. */
size_t kr_batch_bytes(const kr_shape *sh, int max_context, int T, int P, int S, int max_rows,
                      int threads);

/* The same for a batch holding any number of items of up to T input rows, P forecast rows and
 * S samples each. */
size_t kr_batch_bytes_many(const kr_shape *sh, int max_context, int T, int P, int S, int max_rows,
                           int threads);

#endif
