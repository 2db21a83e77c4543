#include "engine/kronos/kernels.h"

#include <math.h>

#include "engine/kronos/kernels_avx2.h"

/* The AVX2/FMA kernels in use, NULL for the portable C below. Set before any forecast runs: by
 * the constructor from what the CPU says, then by kr_simd_use at start-up (KRONOS_SIMD). */
static const kr_kernel_table *avx2;

static const kr_kernel_table *table_of(kr_simd s)
{
#ifdef KRONOS_AVX2_KERNELS
    if (s == KR_SIMD_AVX2)
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
    return s == KR_SIMD_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool kr_simd_built(kr_simd s)
{
    return s == KR_SIMD_PORTABLE || table_of(s) != NULL;
}

kr_simd kr_simd_best(void)
{
    return kr_simd_supported(KR_SIMD_AVX2) ? KR_SIMD_AVX2 : KR_SIMD_PORTABLE;
}

int kr_simd_use(kr_simd s)
{
    if (!kr_simd_supported(s))
        return -1;
    avx2 = table_of(s);
    return 0;
}

kr_simd kr_simd_active(void)
{
    return avx2 ? KR_SIMD_AVX2 : KR_SIMD_PORTABLE;
}

const char *kr_simd_name(kr_simd s)
{
    return s == KR_SIMD_AVX2 ? "avx2" : "portable";
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
