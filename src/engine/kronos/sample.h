#ifndef KRONOS_SAMPLE_H
#define KRONOS_SAMPLE_H

/* Token sampling as upstream's sample_from_logits, with a seeded generator of our own. */

#include <stdint.h>

#include "util/rng.h"

/*
 * probs[n] = softmax of logits/temperature after filtering: top_k > 0 keeps values >= the
 * k-th largest (ties kept) and ignores top_p; otherwise top_p < 1 keeps the smallest prefix of
 * the descending order whose cumulative probability exceeds top_p (rank 0 always kept).
 * Removed entries get probability 0. order holds 4n ints and work n floats of scratch. Returns
 * the argmax.
 */
int kr_sample_filter(const float *logits, int n, double temperature, int top_k, double top_p,
                     float *probs, int *order, float *work);

/* One multinomial draw from probs[n] (need not sum exactly to 1). */
int kr_sample_draw(const float *probs, int n, rng *r);

#endif
