#include "engine/kronos/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static void gemm_wt(const float *x, size_t rows, const kr_linear *l, float beta, float *y)
{
    if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, l->out, l->in, 1.0f, l->w, l->in, x, 1, beta, y,
                    1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, l->out, l->in, 1.0f, x,
                    l->in, l->w, l->in, beta, y, l->out);
}

static void add_bias(const kr_linear *l, size_t rows, float *y)
{
    if (!l->b) return;
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * (size_t)l->out;
        for (int j = 0; j < l->out; j++)
            row[j] += l->b[j];
    }
}

void kr_linear_fwd(const kr_linear *l, const float *x, size_t rows, float *y)
{
    gemm_wt(x, rows, l, 0.0f, y);
    add_bias(l, rows, y);
}

void kr_linear_acc(const kr_linear *l, const float *x, size_t rows, float *y)
{
    gemm_wt(x, rows, l, 1.0f, y);
    add_bias(l, rows, y);
}

void kr_rmsnorm(const float *x, const float *w, size_t rows, int d, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * (size_t)d;
        float *o = y + r * (size_t)d;
        float ss = 0.0f;
        for (int i = 0; i < d; i++)
            ss += a[i] * a[i];
        float inv = 1.0f / sqrtf(ss / (float)d + 1e-5f);
        for (int i = 0; i < d; i++)
            o[i] = (a[i] * inv) * w[i];
    }
}

void kr_rope(float *x, size_t rows, int d, int hd, const float *inv_freq, int pos0)
{
    int h = hd / 2;
    float cs[KR_MAX_HEAD_DIM / 2], sn[KR_MAX_HEAD_DIM / 2];
    for (size_t r = 0; r < rows; r++) {
        float p = (float)(pos0 + (int)r);
        for (int i = 0; i < h; i++) {
            float th = p * inv_freq[i];
            cs[i] = cosf(th);
            sn[i] = sinf(th);
        }
        float *row = x + r * (size_t)d;
        for (int o = 0; o < d; o += hd) {
            float *a = row + o, *b = row + o + h;
            for (int i = 0; i < h; i++) {
                float x1 = a[i], x2 = b[i];
                a[i] = x1 * cs[i] - x2 * sn[i];
                b[i] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

void kr_swiglu(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float a = g[i];
        g[i] = a / (1.0f + expf(-a)) * u[i];
    }
}

void kr_softmax(float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void kr_attention_causal(const float *q, const float *k, const float *v, int n, int d, int hd,
                         float *out, float *scratch)
{
    float scale = 1.0f / sqrtf((float)hd);
    for (int o = 0; o < d; o += hd) {
        /* S = Q_h K_hᵀ over the full square; the upper triangle is masked below. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, hd, scale, q + o, d, k + o, d,
                    0.0f, scratch, n);
        for (int i = 0; i < n; i++) {
            float *srow = scratch + (size_t)i * n;
            kr_softmax(srow, i + 1);
            memset(srow + i + 1, 0, sizeof(float) * (size_t)(n - i - 1));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, n, 1.0f, scratch, n, v + o, d,
                    0.0f, out + o, d);
    }
}

void kr_attention_row(const float *q, const float *k0, const float *v0, int n0, const float *k1,
                      const float *v1, int n1, int d, int hd, float *out, float *scratch)
{
    float scale = 1.0f / sqrtf((float)hd);
    int n = n0 + n1;
    for (int o = 0; o < d; o += hd) {
        const float *qh = q + o;
        for (int j = 0; j < n; j++) {
            const float *kr = j < n0 ? k0 + (size_t)j * d + o : k1 + (size_t)(j - n0) * d + o;
            float s = 0.0f;
            for (int i = 0; i < hd; i++)
                s += qh[i] * kr[i];
            scratch[j] = s * scale;
        }
        kr_softmax(scratch, n);
        float *oh = out + o;
        memset(oh, 0, sizeof(float) * (size_t)hd);
        for (int j = 0; j < n; j++) {
            const float *vr = j < n0 ? v0 + (size_t)j * d + o : v1 + (size_t)(j - n0) * d + o;
            float p = scratch[j];
            for (int i = 0; i < hd; i++)
                oh[i] += p * vr[i];
        }
    }
}
