#ifndef KRONOS_KERNELS_H
#define KRONOS_KERNELS_H

/*
 * Hand-written AVX2/FMA kernels for the shapes BLAS handles poorly: a few rows against a big
 * weight matrix (the cached decode step streams every weight once; sgemm would pack them) and
 * the single-query attention dot products. The AVX2 versions (kernels_avx2.c, x86-64 builds only)
 * are chosen at run time when the CPU has AVX2 and FMA; portable C (kernels.c) otherwise, or
 * when KRONOS_SIMD=portable asks for it.
 */

#include <stdbool.h>
#include <stddef.h>

/* Which kernel set runs (docs/DEPLOYMENT.md, "CPUs and architectures"). AVX512: the AVX2 set plus
 * the matrix product over packed weights (kr_gemm_packed) for every linear of more than a few
 * rows, in place of OpenBLAS. */
typedef enum kr_simd { KR_SIMD_PORTABLE, KR_SIMD_AVX2, KR_SIMD_AVX512 } kr_simd;

/* Whether this build has the set (AVX2, AVX512: x86-64 builds only). */
bool kr_simd_built(kr_simd s);
/* Whether this build has the set and this CPU can run it. */
bool kr_simd_supported(kr_simd s);
/* The fastest supported set: what runs unless kr_simd_use says otherwise. */
kr_simd kr_simd_best(void);
/* Switches every kernel below to the set; -1 (nothing changes) when it is not supported. Call
 * before any forecast runs (start-up; a test's setup): kernels read the choice unlocked. */
int kr_simd_use(kr_simd s);
kr_simd kr_simd_active(void);
/* "avx512", "avx2" or "portable", the KRONOS_SIMD spelling. */
const char *kr_simd_name(kr_simd s);

/* Most rows kr_gemm_skinny accepts; callers use sgemm above it. */
#define KR_SKINNY_MAX_ROWS 64

/*
 * Packed weights: W[out][in] as panels of KR_PANEL output columns, each [in][KR_PANEL] (the last
 * one padded with zeros), 64-byte aligned. Linears are packed at load when kr_gemm_packed_active;
 * with fewer rows than KR_PACKED_MIN_ROWS the skinny kernel streams the row-major weights as fast.
 */
#define KR_PANEL 32
#define KR_PACKED_MIN_ROWS 24
/* Whether linears are packed and multiplied with kr_gemm_packed (the AVX512 set is active). */
bool kr_gemm_packed_active(void);
size_t kr_packed_floats(int out, int in);
int kr_panels(int out);
/* Packs W[out][in] (rows ldw apart) into dst, kr_packed_floats(out, in) floats. */
void kr_pack_panels(const float *w, int out, int in, int ldw, float *dst);
/* Packs the transpose of V[n][cols] (rows ldv apart), as kr_pack_panels(Vᵀ, cols, n) would. */
void kr_pack_panels_t(const float *v, int n, int cols, int ldv, float *dst);
/* y[r][j] (+)= Σ_k x[r][k]·W[j][k] (+ b[j]) for r < rows (x rows ldx apart, y rows ldy apart)
 * and the columns of panels [p0, p1). */
void kr_gemm_packed(const float *x, int rows, int in, int ldx, const float *wp, int out,
                    const float *b, int accumulate, float *y, int ldy, int p0, int p1);

/*
 * y[r][j] (+)= Σ_k x[r][k]·W[j][k] (+ b[j]) for r < rows, j < out; y rows are ldy apart.
 * accumulate: y += instead of =.
 */
void kr_gemm_skinny(const float *x, int rows, int in, const float *w, int out, const float *b,
                    int accumulate, float *y, int ldy);

float kr_dot(const float *a, const float *b, int n);
/* y += a·x */
void kr_axpy(float *y, float a, const float *x, int n);
/* s[j] = (q · k_j) * scale for n key rows of stride ld (one head of width hd). */
void kr_attn_scores(const float *q, const float *k, int n, int ld, int hd, float scale, float *s);
/* out += Σ_j p[j] v_j for n value rows of stride ld. */
void kr_attn_mix(const float *p, const float *v, int n, int ld, int hd, float *out);
/* In-place softmax with a vectorised exp (about 1 ulp from expf). */
void kr_softmax_fast(float *x, int n);
/* g = silu(g) * u */
void kr_swiglu_fast(float *g, const float *u, size_t n);

#endif
