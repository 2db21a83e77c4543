#ifndef KRONOS_TOKENIZER_H
#define KRONOS_TOKENIZER_H

/* KronosTokenizer inference: normalised bars -> (s1, s2) token pairs and back. */

#include "engine/kronos/block.h"
#include "engine/kronos/trace.h"
#include "engine/kronos/weights.h"

/*
 * Encodes n rows of x[n][6] (normalised) into s1[n], s2[n]. ws must hold n rows of width
 * t->d / t->ff; x_work holds n*t->d floats.
 */
void kr_tok_encode(const kr_tokenizer *t, const float *x, int n, int *s1, int *s2, float *x_work,
                   kr_ws *ws, const kr_trace *tr);

/*
 * Decodes a stack of R token pairs into out[R][6] (normalised space), the rows grouped into
 * causal segments (block.h): several windows that share their first rows decode the shared rows
 * once. tr observes the first trace_rows rows.
 */
void kr_tok_decode_rows(const kr_tokenizer *t, const int *s1, const int *s2, int R,
                        const kr_seg *segs, int nseg, float *out, float *x_work, kr_ws *ws,
                        const kr_trace *tr, int trace_rows);

#endif
