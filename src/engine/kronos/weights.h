#ifndef KRONOS_WEIGHTS_H
#define KRONOS_WEIGHTS_H

/*
 * The Kronos tokenizer and predictor parameters, bound to a safetensors file read into memory.
 * Dimensions come from config.json only; every parameter used at inference must be present
 * with the shape the config implies, F32 and finite, or loading fails naming the tensor.
 */

#include "engine/kronos/safetensors.h"

typedef struct kr_linear {
    const float *w;  /* [out][in] */
    const float *b;  /* [out] or NULL */
    const float *wp; /* w as panels (kr_pack_panels) when kr_gemm_packed_active at load, or NULL */
    int in, out;
} kr_linear;

typedef struct kr_block {
    const float *norm1, *norm2;
    kr_linear q, k, v, o;
    kr_linear w1, w2, w3;
    const float *inv_freq; /* [head_dim/2]: the file's buffer, or computed */
} kr_block;

typedef struct kr_tokenizer {
    int d_in, d, heads, ff, s1_bits, s2_bits, n_enc, n_dec;
    kr_linear embed, quant_embed, post_quant, head;
    kr_block *enc, *dec;
    float *owned;  /* computed inv_freq tables */
    float *packed; /* every linear's wp */
    kst_file st;
} kr_tokenizer;

enum { KR_TIME_MINUTE, KR_TIME_HOUR, KR_TIME_WEEKDAY, KR_TIME_DAY, KR_TIME_MONTH, KR_TIME_N };

typedef struct kr_model {
    int d, heads, layers, ff, s1_bits, s2_bits, v1, v2;
    int dep_heads;
    const float *emb_s1, *emb_s2; /* [v1][d], [v2][d] */
    kr_linear fusion;
    const float *time[KR_TIME_N]; /* [60|24|7|32|13][d] */
    kr_block *blocks;
    const float *norm;
    kr_linear dep_q, dep_k, dep_v, dep_o;
    const float *dep_norm;
    kr_linear proj_s1, proj_s2;
    float *owned;
    float *packed; /* every linear's wp */
    kst_file st;
} kr_model;

extern const int kr_time_sizes[KR_TIME_N];

/* The dimensions a forecast's working set depends on. */
typedef struct kr_shape {
    int d, ff, layers, v1, v2; /* predictor */
    int tok_d, tok_ff;         /* tokenizer */
    int tok_layers;            /* encoder + decoder blocks */
} kr_shape;

kr_shape kr_shape_of(const kr_tokenizer *t, const kr_model *m);
/* The same from the two folders' config.json alone, validated as loading does (no weights read).
 * Returns 0, or -1 with a one-line reason in err. */
int kr_shape_read(const char *model_dir, const char *tokenizer_dir, kr_shape *s, char *err,
                  size_t errlen);

/* The bytes kr_*_load adds for packed weights, given the linears' shapes (0 unless
 * kr_gemm_packed_active). */
size_t kr_packed_bytes(const kr_shape *s);

int kr_tokenizer_load(kr_tokenizer *t, const char *dir, char *err, size_t errlen);
void kr_tokenizer_free(kr_tokenizer *t);
int kr_model_load(kr_model *m, const char *dir, char *err, size_t errlen);
void kr_model_free(kr_model *m);

#endif
