#include "engine/kronos/kernels.h"

#include <math.h>
#include <string.h>

#include "engine/kronos/kernels_avx2.h"
#include "engine/kronos/kernels_avx512.h"

/* The set in use; avx2: its AVX2/FMA kernels, NULL for the portable C below. Set before any
 * forecast runs: by the constructor from what the CPU says, then by kr_simd_use at start-up
 * (KRONOS_SIMD). */
static kr_simd active;
static const kr_kernel_table *avx2;

static const kr_kernel_table *table_of(kr_simd s)
{
#ifdef KRONOS_AVX2_KERNELS
    if (s == KR_SIMD_AVX2 || s == KR_SIMD_AVX512)
        return &kr_kernels_avx2;
#endif
    (void)s;
    return NULL;
}

bool kr_simd_supported(kr_simd s)
{
    if (s == KR_SIMD_PORTABLE)
        return true;
#ifdef KRONOS_AVX2_KERNELS
    __builtin_cpu_init();
    bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (s == KR_SIMD_AVX2)
        return has_avx2;
#ifdef KRONOS_AVX512_KERNELS
    if (s == KR_SIMD_AVX512)
        return has_avx2 && __builtin_cpu_supports("avx512f");
#endif
#endif
    return false;
}

bool kr_simd_built(kr_simd s)
{
#ifndef KRONOS_AVX512_KERNELS
    if (s == KR_SIMD_AVX512)
        return false;
#endif
    return s == KR_SIMD_PORTABLE || table_of(s) != NULL;
}

kr_simd kr_simd_best(void)
{
    if (kr_simd_supported(KR_SIMD_AVX512))
        return KR_SIMD_AVX512;
    return kr_simd_supported(KR_SIMD_AVX2) ? KR_SIMD_AVX2 : KR_SIMD_PORTABLE;
}

int kr_simd_use(kr_simd s)
{
    if (!kr_simd_supported(s))
        return -1;
    avx2 = table_of(s);
    active = s;
    return 0;
}

kr_simd kr_simd_active(void)
{
    return active;
}

const char *kr_simd_name(kr_simd s)
{
    return s == KR_SIMD_AVX512 ? "avx512" : s == KR_SIMD_AVX2 ? "avx2" : "portable";
}

bool kr_gemm_packed_active(void)
{
    return active == KR_SIMD_AVX512;
}

int kr_panels(int out)
{
    return (out + KR_PANEL - 1) / KR_PANEL;
}

size_t kr_packed_floats(int out, int in)
{
    return (size_t)kr_panels(out) * KR_PANEL * (size_t)in;
}

void kr_pack_panels(const float *w, int out, int in, int ldw, float *dst)
{
    for (int p = 0; p < kr_panels(out); p++)
        for (int k = 0; k < in; k++)
            for (int j = 0; j < KR_PANEL; j++) {
                int n = p * KR_PANEL + j;
                dst[((size_t)p * in + k) * KR_PANEL + j] = n < out ? w[(size_t)n * ldw + k] : 0.0f;
            }
}

void kr_pack_panels_t(const float *v, int n, int cols, int ldv, float *dst)
{
    for (int p = 0; p < kr_panels(cols); p++) {
        int c0 = p * KR_PANEL, w = cols - c0 < KR_PANEL ? cols - c0 : KR_PANEL;
        for (int k = 0; k < n; k++) {
            float *o = dst + ((size_t)p * n + k) * KR_PANEL;
            memcpy(o, v + (size_t)k * ldv + c0, sizeof(float) * (size_t)w);
            memset(o + w, 0, sizeof(float) * (size_t)(KR_PANEL - w));
        }
    }
}

/* The reference the AVX-512 version is tested against; never chosen for speed. */
static void gemm_packed_portable(const float *x, int rows, int in, int ldx, const float *wp,
                                 int out, const float *b, int accumulate, float *y, int ldy, int p0,
                                 int p1)
{
    for (int p = p0; p < p1; p++)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < KR_PANEL && p * KR_PANEL + j < out; j++) {
                int n = p * KR_PANEL + j;
                float s = 0.0f;
                for (int k = 0; k < in; k++)
                    s += x[(size_t)r * ldx + k] * wp[((size_t)p * in + k) * KR_PANEL + j];
                if (b)
                    s += b[n];
                float *o = y + (size_t)r * ldy + n;
                *o = accumulate ? *o + s : s;
            }
}

void kr_gemm_packed(const float *x, int rows, int in, int ldx, const float *wp, int out,
                    const float *b, int accumulate, float *y, int ldy, int p0, int p1)
{
#ifdef KRONOS_AVX512_KERNELS
    if (active == KR_SIMD_AVX512) {
        kr_gemm_packed_avx512(x, rows, in, ldx, wp, out, b, accumulate, y, ldy, p0, p1);
        return;
    }
#endif
    gemm_packed_portable(x, rows, in, ldx, wp, out, b, accumulate, y, ldy, p0, p1);
}

__attribute__((constructor)) static void detect_cpu(void)
{
    kr_simd_use(kr_simd_best());
}

static void skinny_portable(const float *x, int rows, int in, const float *w, int out,
                            const float *b, int accumulate, float *y, int ldy)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < out; j++) {
            const float *xr = x + (size_t)r * in, *wj = w + (size_t)j * in;
            float s = 0.0f;
            for (int k = 0; k < in; k++)
                s += xr[k] * wj[k];
            if (b)
                s += b[j];
            float *o = y + (size_t)r * ldy + j;
            *o = accumulate ? *o + s : s;
        }
}

void kr_gemm_skinny(const float *x, int rows, int in, const float *w, int out, const float *b,
                    int accumulate, float *y, int ldy)
{
    if (avx2 && in % 8 == 0)
        avx2->skinny(x, rows, in, w, out, b, accumulate, y, ldy);
    else
        skinny_portable(x, rows, in, w, out, b, accumulate, y, ldy);
}

float kr_dot(const float *a, const float *b, int n)
{
    if (avx2)
        return avx2->dot(a, b, n);
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void kr_axpy(float *y, float a, const float *x, int n)
{
    if (avx2) {
        avx2->axpy(y, a, x, n);
        return;
    }
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

void kr_softmax_fast(float *x, int n)
{
    if (avx2) {
        avx2->softmax(x, n);
        return;
    }
    float mx = -INFINITY, sum = 0.0f;
    for (int i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++)
        sum += (x[i] = expf(x[i] - mx));
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

void kr_swiglu_fast(float *g, const float *u, size_t n)
{
    if (avx2) {
        avx2->swiglu(g, u, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void kr_attn_scores(const float *q, const float *k, int n, int ld, int hd, float scale, float *s)
{
    if (avx2 && hd % 8 == 0) {
        avx2->scores(q, k, n, ld, hd, scale, s);
        return;
    }
    for (int j = 0; j < n; j++)
        s[j] = kr_dot(q, k + (size_t)j * ld, hd) * scale;
}

void kr_attn_mix(const float *p, const float *v, int n, int ld, int hd, float *out)
{
    if (avx2 && hd % 8 == 0) {
        avx2->mix(p, v, n, ld, hd, out);
        return;
    }
    for (int j = 0; j < n; j++)
        kr_axpy(out, p[j], v + (size_t)j * ld, hd);
}
