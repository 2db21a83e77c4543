#include "engine/kronos/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kronos/batch.h"

#define NF ENGINE_FEATURES

float kr_pairwise_sum(const float *a, size_t n, size_t stride)
{
    if (n < 8) {
        float res = 0.0f;
        for (size_t i = 0; i < n; i++)
            res += a[i * stride];
        return res;
    }
    if (n <= 128) {
        float r[8], res;
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[(size_t)j * stride];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[(i + (size_t)j) * stride];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i * stride];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return kr_pairwise_sum(a, n2, stride) + kr_pairwise_sum(a + n2 * stride, n - n2, stride);
}

/* np.mean / np.std(ddof=0) of one column of a float32 [T][6] frame, as numpy computes them. */
static void numpy_stats(const float *x, int T, size_t stride, float *mean, float *std, float *tmp)
{
    float mu = kr_pairwise_sum(x, (size_t)T, stride) / (float)T;
    for (int r = 0; r < T; r++) {
        float dv = x[(size_t)r * stride] - mu;
        tmp[r] = dv * dv;
    }
    *mean = mu;
    *std = sqrtf(kr_pairwise_sum(tmp, (size_t)T, 1) / (float)T);
}

/* The same in double, for columns whose float32 statistics overflow; mean and std cannot exceed
 * the column's largest magnitude, so both fit a float. */
static void double_stats(const float *x, int T, size_t stride, float *mean, float *std)
{
    double sum = 0, top = 0;
    for (int r = 0; r < T; r++) {
        sum += x[(size_t)r * stride];
        top = fmax(top, fabs(x[(size_t)r * stride]));
    }
    double mu = sum / T, ss = 0;
    for (int r = 0; r < T; r++) {
        double dv = x[(size_t)r * stride] - mu;
        ss += dv * dv;
    }
    *mean = (float)fmin(fmax(mu, -top), top);
    *std = (float)fmin(sqrt(ss / T), top);
}

/*
 * Per column, numpy's float32 statistics (bit-exact with upstream) whenever they are finite.
 * Large values overflow them (squares above ~1e19, sums of values near FLT_MAX, where upstream
 * gives inf and then NaN forecasts): such a column is computed again in double.
 */
void kr_column_stats(const float *x, int T, float *mean, float *std, float *tmp)
{
    for (int c = 0; c < NF; c++) {
        numpy_stats(x + c, T, NF, &mean[c], &std[c], tmp);
        if (!isfinite(mean[c]) || !isfinite(std[c]))
            double_stats(x + c, T, NF, &mean[c], &std[c]);
    }
}

size_t kr_forecast_bytes(const kr_shape *sh, int max_context, int T, int P, int S, int threads)
{
    return kr_item_bytes(sh, max_context, T, P, S) +
           kr_batch_bytes(sh, max_context, T, P, S, 0, threads);
}

size_t kr_forecast_bytes_max(const kr_shape *sh, int max_context, int max_T, int P, int S,
                             int threads)
{
    /* Monotone in P and S, not in T: the per-sample K/V caches (max_context - T rows) shrink
     * as T grows, until T reaches max_context and they are gone. */
    size_t worst = kr_forecast_bytes(sh, max_context, max_T, P, S, threads);
    for (int T = 1; T < max_T && T <= max_context; T++) {
        size_t b = kr_forecast_bytes(sh, max_context, T, P, S, threads);
        worst = b > worst ? b : worst;
    }
    return worst;
}

int kr_check_request(int M, const kr_request *q, char *err, size_t errlen)
{
    if (q->T < 1 || q->P < 1 || q->S < 1 || !q->x || !q->x_stamp || !q->y_stamp) {
        snprintf(err, errlen, "empty input, prediction length or sample count");
        return -1;
    }
    if (q->P > M) {
        snprintf(err, errlen, "pred_len %d exceeds max_context %d", q->P, M);
        return -1;
    }
    if (!(q->temperature > 0) || q->top_k < 0 || !(q->top_p > 0 && q->top_p <= 1)) {
        snprintf(err, errlen, "invalid sampling parameters");
        return -1;
    }
    for (int r = 0; r < q->T + q->P - 1; r++) {
        const kr_stamp *st = r < q->T ? &q->x_stamp[r] : &q->y_stamp[r - q->T];
        for (int k = 0; k < KR_TIME_N; k++)
            if (st->f[k] < 0 || st->f[k] >= kr_time_sizes[k]) {
                snprintf(err, errlen, "timestamp %d: calendar field %d out of range", r, k);
                return -1;
            }
    }
    for (size_t i = 0; i < (size_t)q->T * NF; i++)
        if (!isfinite(q->x[i])) {
            snprintf(err, errlen, "non-finite input value at row %zu", i / NF);
            return -1;
        }
    return 0;
}

#define NS(seconds) ((uint64_t)((seconds)*1e9))

int kr_forecast(const kr_tokenizer *tok, const kr_model *m, int max_context, double clip,
                const kr_request *q, kr_result *out, engine_cancel *cancel, const kr_trace *tr,
                kr_phase_times *times, char *err, size_t errlen)
{
    if (kr_check_request(max_context, q, err, errlen) != 0)
        return ENGINE_ERROR;
    kr_batch *b = kr_batch_create(tok, m, max_context, clip, q->threads, q->max_rows);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return ENGINE_ERROR;
    }
    kr_item *it = kr_batch_add(b, q, out, cancel, tr, times, err, errlen);
    if (!it) {
        kr_batch_destroy(b);
        return ENGINE_ERROR;
    }
    while (kr_batch_step(b) > 0)
        ;
    int rc = kr_item_status(it);
    if (rc == ENGINE_ERROR)
        snprintf(err, errlen, "%s", kr_item_error(it));
    kr_batch_destroy(b);
    return rc;
}
