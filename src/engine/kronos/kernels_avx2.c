/*
 * The AVX2/FMA kernels (x86-64 only): CMake compiles this file alone with -mavx2 -mfma and leaves
 * it out on other architectures; kernels.c calls it through kr_kernels_avx2 only when the CPU
 * has both (kr_simd_supported). Nothing here may run before that check.
 */
#include "engine/kronos/kernels_avx2.h"

#include <immintrin.h>
#include <math.h>

__attribute__((target("avx2,fma"))) static inline float hsum(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* Four weight rows against two input rows: 8 accumulators. Requires in % 8 == 0. */
__attribute__((target("avx2,fma"))) static void skinny_avx2(const float *x, int rows, int in,
                                                            const float *w, int out, const float *b,
                                                            int accumulate, float *y, int ldy)
{
    int j = 0;
    for (; j + 4 <= out; j += 4) {
        const float *w0 = w + (size_t)j * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
        for (int r = 0; r < rows; r += 2) {
            const float *x0 = x + (size_t)r * in;
            const float *x1 = r + 1 < rows ? x0 + in : x0;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (int k = 0; k < in; k += 8) {
                __m256 v0 = _mm256_loadu_ps(x0 + k), v1 = _mm256_loadu_ps(x1 + k);
                __m256 c0 = _mm256_loadu_ps(w0 + k), c1 = _mm256_loadu_ps(w1 + k);
                __m256 c2 = _mm256_loadu_ps(w2 + k), c3 = _mm256_loadu_ps(w3 + k);
                a00 = _mm256_fmadd_ps(v0, c0, a00);
                a01 = _mm256_fmadd_ps(v0, c1, a01);
                a02 = _mm256_fmadd_ps(v0, c2, a02);
                a03 = _mm256_fmadd_ps(v0, c3, a03);
                a10 = _mm256_fmadd_ps(v1, c0, a10);
                a11 = _mm256_fmadd_ps(v1, c1, a11);
                a12 = _mm256_fmadd_ps(v1, c2, a12);
                a13 = _mm256_fmadd_ps(v1, c3, a13);
            }
            float s[2][4] = {{hsum(a00), hsum(a01), hsum(a02), hsum(a03)},
                             {hsum(a10), hsum(a11), hsum(a12), hsum(a13)}};
            for (int rr = 0; rr < 2 && r + rr < rows; rr++) {
                float *o = y + (size_t)(r + rr) * ldy + j;
                for (int q = 0; q < 4; q++) {
                    float v = s[rr][q] + (b ? b[j + q] : 0.0f);
                    o[q] = accumulate ? o[q] + v : v;
                }
            }
        }
    }
    if (j < out) /* the last out % 4 weight rows */
        for (int r = 0; r < rows; r++)
            for (int q = j; q < out; q++) {
                const float *xr = x + (size_t)r * in, *wq = w + (size_t)q * in;
                __m256 acc = _mm256_setzero_ps();
                for (int k = 0; k < in; k += 8)
                    acc = _mm256_fmadd_ps(_mm256_loadu_ps(xr + k), _mm256_loadu_ps(wq + k), acc);
                float v = hsum(acc) + (b ? b[q] : 0.0f);
                float *o = y + (size_t)r * ldy + q;
                *o = accumulate ? *o + v : v;
            }
}

/*
 * Three weight rows against four input rows: 12 accumulators, each weight load used four times.
 * Per output the same summation as skinny_avx2 (8 lanes over k, then hsum), so the results are
 * identical. The next three weight rows are prefetched while these are used: weight rows are
 * short (2-4 KB) and read once, too short for the hardware prefetcher to reach full bandwidth.
 * Requires in % 8 == 0.
 */
__attribute__((target("avx2,fma"))) static void skinny43_avx2(const float *x, int rows, int in,
                                                              const float *w, int out,
                                                              const float *b, int accumulate,
                                                              float *y, int ldy)
{
    int j = 0;
    for (; j + 3 <= out; j += 3) {
        const float *w0 = w + (size_t)j * in, *w1 = w0 + in, *w2 = w1 + in;
        const char *next = (const char *)(w2 + in);
        int prefetch = j + 6 <= out;
        for (int r = 0; r < rows; r += 4) {
            const float *x0 = x + (size_t)r * in;
            const float *x1 = r + 1 < rows ? x0 + in : x0;
            const float *x2 = r + 2 < rows ? x0 + 2 * (size_t)in : x0;
            const float *x3 = r + 3 < rows ? x0 + 3 * (size_t)in : x0;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00;
            __m256 a12 = a00, a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            for (int k = 0; k < in; k += 8) {
                if (r == 0 && prefetch && (k & 15) == 0) { /* one 64-byte line per row */
                    _mm_prefetch(next + 4 * (size_t)k, _MM_HINT_T0);
                    _mm_prefetch(next + 4 * ((size_t)in + k), _MM_HINT_T0);
                    _mm_prefetch(next + 4 * (2 * (size_t)in + k), _MM_HINT_T0);
                }
                __m256 c0 = _mm256_loadu_ps(w0 + k), c1 = _mm256_loadu_ps(w1 + k);
                __m256 c2 = _mm256_loadu_ps(w2 + k), v = _mm256_loadu_ps(x0 + k);
                a00 = _mm256_fmadd_ps(v, c0, a00);
                a01 = _mm256_fmadd_ps(v, c1, a01);
                a02 = _mm256_fmadd_ps(v, c2, a02);
                v = _mm256_loadu_ps(x1 + k);
                a10 = _mm256_fmadd_ps(v, c0, a10);
                a11 = _mm256_fmadd_ps(v, c1, a11);
                a12 = _mm256_fmadd_ps(v, c2, a12);
                v = _mm256_loadu_ps(x2 + k);
                a20 = _mm256_fmadd_ps(v, c0, a20);
                a21 = _mm256_fmadd_ps(v, c1, a21);
                a22 = _mm256_fmadd_ps(v, c2, a22);
                v = _mm256_loadu_ps(x3 + k);
                a30 = _mm256_fmadd_ps(v, c0, a30);
                a31 = _mm256_fmadd_ps(v, c1, a31);
                a32 = _mm256_fmadd_ps(v, c2, a32);
            }
            float s[4][3] = {{hsum(a00), hsum(a01), hsum(a02)},
                             {hsum(a10), hsum(a11), hsum(a12)},
                             {hsum(a20), hsum(a21), hsum(a22)},
                             {hsum(a30), hsum(a31), hsum(a32)}};
            for (int rr = 0; rr < 4 && r + rr < rows; rr++) {
                float *o = y + (size_t)(r + rr) * ldy + j;
                for (int q = 0; q < 3; q++) {
                    float v = s[rr][q] + (b ? b[j + q] : 0.0f);
                    o[q] = accumulate ? o[q] + v : v;
                }
            }
        }
    }
    if (j < out)
        skinny_avx2(x, rows, in, w + (size_t)j * in, out - j, b ? b + j : NULL, accumulate, y + j,
                    ldy);
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) static void axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* Cephes-style expf on 8 lanes: range reduction by ln 2 and a degree-6 polynomial (~1 ulp). */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 fx = _mm256_floor_ps(
        _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) static void softmax_avx2(float *x, int n)
{
    int i = 0;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    __m256 vmx = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(x + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    float sum = hsum(vs);
    for (; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++)
        x[i] *= 1.0f / sum;
}

__attribute__((target("avx2,fma"))) static void swiglu_avx2(float *g, const float *u, size_t n)
{
    size_t i = 0;
    __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(g + i);
        __m256 den = _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, a)));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(a, den), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* Scores of one query head against n key rows (row stride ld): s[j] = q·k_j * scale. Rows of a
 * strided walk (a head's few lines of each long row) are prefetched a few rows ahead; rows one
 * after another (a head-major cache) ATTN_STREAM_AHEAD floats ahead, which kept the two cores'
 * reads at about the bandwidth of a plain streaming read where the hardware prefetcher alone
 * left them a third below it. */
#define ATTN_AHEAD 8
#define ATTN_STREAM_AHEAD 1024

__attribute__((target("avx2,fma"))) static inline void prefetch_stream(const float *p, int hd)
{
    for (int i = 0; i < hd; i += 16)
        _mm_prefetch((const char *)(p + ATTN_STREAM_AHEAD + i), _MM_HINT_T0);
}

__attribute__((target("avx2,fma"))) static void scores_avx2(const float *q, const float *k, int n,
                                                            int ld, int hd, float scale, float *s)
{
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *k0 = k + (size_t)j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
        if (ld == hd)
            prefetch_stream(k0, 4 * hd);
        else if (j + ATTN_AHEAD + 4 <= n)
            for (int r = 0; r < 4; r++)
                for (int i = 0; i < hd; i += 16)
                    _mm_prefetch((const char *)(k0 + (size_t)(ATTN_AHEAD + r) * ld + i),
                                 _MM_HINT_T0);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < hd; i += 8) {
            __m256 vq = _mm256_loadu_ps(q + i);
            a0 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k0 + i), a0);
            a1 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k1 + i), a1);
            a2 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k2 + i), a2);
            a3 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k3 + i), a3);
        }
        s[j] = hsum(a0) * scale;
        s[j + 1] = hsum(a1) * scale;
        s[j + 2] = hsum(a2) * scale;
        s[j + 3] = hsum(a3) * scale;
    }
    for (; j < n; j++)
        s[j] = dot_avx2(q, k + (size_t)j * ld, hd) * scale;
}

/* out[0..hd) += Σ_j p[j]·v_j for n value rows (row stride ld), 64 columns at a time. */
__attribute__((target("avx2,fma"))) static void mix_avx2(const float *p, const float *v, int n,
                                                         int ld, int hd, float *out)
{
    for (int c = 0; c < hd; c += 64) {
        int w = hd - c < 64 ? hd - c : 64, nv = w / 8;
        __m256 acc[8];
        for (int i = 0; i < nv; i++)
            acc[i] = _mm256_loadu_ps(out + c + 8 * i);
        for (int j = 0; j < n; j++) {
            __m256 pj = _mm256_set1_ps(p[j]);
            const float *vr = v + (size_t)j * ld + c;
            if (ld == hd)
                prefetch_stream(vr, w);
            else if (j + ATTN_AHEAD < n)
                for (int i = 0; i < w; i += 16)
                    _mm_prefetch((const char *)(vr + (size_t)ATTN_AHEAD * ld + i), _MM_HINT_T0);
            for (int i = 0; i < nv; i++)
                acc[i] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8 * i), acc[i]);
        }
        for (int i = 0; i < nv; i++)
            _mm256_storeu_ps(out + c + 8 * i, acc[i]);
    }
}

const kr_kernel_table kr_kernels_avx2 = {
    .skinny = skinny43_avx2,
    .dot = dot_avx2,
    .axpy = axpy_avx2,
    .softmax = softmax_avx2,
    .swiglu = swiglu_avx2,
    .scores = scores_avx2,
    .mix = mix_avx2,
};
