#ifndef KRONOS_KERNELS_AVX2_H
#define KRONOS_KERNELS_AVX2_H

#include <stddef.h>

/* One set of kernels behind kernels.h: same contracts as kr_gemm_skinny and friends, except that
 * skinny needs in % 8 == 0 and scores/mix need hd % 8 == 0 (kernels.c checks). */
typedef struct kr_kernel_table {
    void (*skinny)(const float *x, int rows, int in, const float *w, int out, const float *b,
                   int accumulate, float *y, int ldy);
    float (*dot)(const float *a, const float *b, int n);
    void (*axpy)(float *y, float a, const float *x, int n);
    void (*softmax)(float *x, int n);
    void (*swiglu)(float *g, const float *u, size_t n);
    void (*scores)(const float *q, const float *k, int n, int ld, int hd, float scale, float *s);
    void (*mix)(const float *p, const float *v, int n, int ld, int hd, float *out);
} kr_kernel_table;

/* kernels_avx2.c, built on x86-64 only (KRONOS_AVX2_KERNELS): call only when the CPU has AVX2
 * and FMA. */
extern const kr_kernel_table kr_kernels_avx2;

#endif
