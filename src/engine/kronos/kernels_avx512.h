#ifndef KRONOS_KERNELS_AVX512_H
#define KRONOS_KERNELS_AVX512_H

/* kernels_avx512.c, built on x86-64 only (KRONOS_AVX512_KERNELS): call only when the CPU has
 * AVX-512F (kr_simd_supported(KR_SIMD_AVX512)). Same contract as kr_gemm_packed. */
void kr_gemm_packed_avx512(const float *x, int rows, int in, int ldx, const float *wp, int out,
                           const float *b, int accumulate, float *y, int ldy, int p0, int p1);

#endif
