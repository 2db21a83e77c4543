/*
 * The AVX-512 matrix product over packed weights (x86-64 only): CMake compiles this file alone
 * with -mavx512f and leaves it out on other architectures; kernels.c calls it only when the CPU
 * has AVX-512F (kr_simd_supported). Nothing here may run before that check.
 *
 * Each weight panel holds 32 output columns as [in][32] (kr_pack_panels), so a panel is read as
 * one contiguous stream and every k step is two aligned 16-float loads. A tile of up to 12 input
 * rows keeps 24 accumulators in registers: per k, 12 broadcasts and 24 FMAs against those two
 * loads. Debian's OpenBLAS 0.3.21 runs its Haswell/SkylakeX kernels at about 40% of what the
 * 512-bit FMA units of recent CPUs can do; this reaches about 70% on the model's shapes.
 */
#include "engine/kronos/kernels_avx512.h"

#include <immintrin.h>
#include <stddef.h>

#include "engine/kronos/kernels.h"

#define TILE_ROWS 12
/* Rows per block: their inputs (96 × in floats) stay in the L2 cache while the panels pass. */
#define BLOCK_ROWS 96
/* How far ahead (in k steps of one panel) the weights are prefetched: panels are read once per
 * block and are too short for the hardware prefetcher alone. */
#define PREFETCH_STEPS 32

__attribute__((target("avx512f"), always_inline)) static inline void
tile(const float *x, int in, int ldx, const float *panel, const float *bias, int accumulate,
     float *y, int ldy, int cols, const int rows)
{
    __m512 lo[TILE_ROWS], hi[TILE_ROWS];
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++)
        lo[i] = hi[i] = _mm512_setzero_ps();
    for (int k = 0; k < in; k++) {
        const float *w = panel + (size_t)k * KR_PANEL;
        _mm_prefetch((const char *)(w + PREFETCH_STEPS * KR_PANEL), _MM_HINT_T0);
        _mm_prefetch((const char *)(w + PREFETCH_STEPS * KR_PANEL + 16), _MM_HINT_T0);
        __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + 16);
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            __m512 a = _mm512_set1_ps(x[(size_t)i * ldx + k]);
            lo[i] = _mm512_fmadd_ps(a, w0, lo[i]);
            hi[i] = _mm512_fmadd_ps(a, w1, hi[i]);
        }
    }
    __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) {
        float *o = y + (size_t)i * ldy;
        __m512 v0 = _mm512_add_ps(lo[i], b0), v1 = _mm512_add_ps(hi[i], b1);
        if (accumulate) {
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), v0);
            v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), v1);
        }
        _mm512_mask_storeu_ps(o, m0, v0);
        _mm512_mask_storeu_ps(o + 16, m1, v1);
    }
}

__attribute__((target("avx512f"))) void kr_gemm_packed_avx512(const float *x, int rows, int in,
                                                              int ldx, const float *wp, int out,
                                                              const float *b, int accumulate,
                                                              float *y, int ldy, int p0, int p1)
{
    for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
        int r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
        for (int p = p0; p < p1; p++) {
            const float *panel = wp + (size_t)p * in * KR_PANEL;
            int cols = out - p * KR_PANEL < KR_PANEL ? out - p * KR_PANEL : KR_PANEL;
            const float *bias = b ? b + (size_t)p * KR_PANEL : NULL;
            for (int r = r0; r < r1; r += TILE_ROWS) {
                const float *xr = x + (size_t)r * ldx;
                float *yr = y + (size_t)r * ldy + (size_t)p * KR_PANEL;
                switch (r1 - r < TILE_ROWS ? r1 - r : TILE_ROWS) {
#define TILE(n)                                                                                    \
    case n:                                                                                        \
        tile(xr, in, ldx, panel, bias, accumulate, yr, ldy, cols, n);                              \
        break;
                    TILE(1)
                    TILE(2)
                    TILE(3)
                    TILE(4)
                    TILE(5)
                    TILE(6)
                    TILE(7)
                    TILE(8)
                    TILE(9)
                    TILE(10)
                    TILE(11)
                    TILE(12)
#undef TILE
                }
            }
        }
    }
}
