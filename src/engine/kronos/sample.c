#include "engine/kronos/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A float's bits mapped so that unsigned order is descending float order. */
static uint32_t desc_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof(u));
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending */
    return ~u;
}

/*
 * order[0..m) (indices in ascending order) sorted by descending value, ties by ascending index:
 * a stable radix sort on the value's bits, 11 bits per pass. scratch holds 3m values.
 */
static void sort_desc(const float *v, int *order, int m, uint32_t *scratch)
{
    uint32_t *key = scratch, *key2 = scratch + m, *idx2 = scratch + 2 * (size_t)m;
    for (int i = 0; i < m; i++)
        key[i] = desc_key(v[order[i]]);
    uint32_t *ka = key, *kb = key2;
    int *ia = order, *ib = (int *)idx2;
    for (int shift = 0; shift < 32; shift += 11) {
        int count[2048] = {0};
        for (int i = 0; i < m; i++)
            count[(ka[i] >> shift) & 2047]++;
        for (int i = 0, sum = 0; i < 2048; i++) {
            int c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (int i = 0; i < m; i++) {
            int at = count[(ka[i] >> shift) & 2047]++;
            kb[at] = ka[i];
            ib[at] = ia[i];
        }
        uint32_t *tk = ka;
        ka = kb;
        kb = tk;
        int *ti = ia;
        ia = ib;
        ib = ti;
    }
    if (ia != order) /* three passes: the result is in the scratch copy */
        memcpy(order, ia, sizeof(int) * (size_t)m);
}

/* The k-th largest of v[0..n) (1-based k), by quickselect on a copy in work. */
static float kth_largest(const float *v, int n, int k, float *work)
{
    memcpy(work, v, sizeof(float) * (size_t)n);
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = work[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (work[i] > pivot)
                i++;
            while (work[j] < pivot)
                j--;
            if (i <= j) {
                float t = work[i];
                work[i++] = work[j];
                work[j--] = t;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break;
    }
    return work[want];
}

/*
 * Top-p over the descending order: rank r >= 1 is removed when the cumulative probability of
 * ranks < r exceeds p. Only the head of the order can matter, so the candidates within a wide
 * margin of the maximum are sorted first; the full sort is the fallback.
 */
static void top_p_filter(float *l, int n, float mx, double top_p, int *order, float *e,
                         uint32_t *scratch)
{
    float sum = 0.0f, p = (float)top_p;
    for (int i = 0; i < n; i++)
        sum += expf(l[i] - mx);
    for (int pass = 0; pass < 2; pass++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (pass == 1 || l[i] >= mx - 20.0f)
                order[m++] = i;
        sort_desc(l, order, m, scratch);
        float c = 0.0f;
        int cut = -1;
        for (int r = 0; r < m; r++) {
            if (r >= 1 && c > p) {
                cut = r;
                break;
            }
            c += expf(l[order[r]] - mx) / sum;
        }
        if (cut < 0 && pass == 0)
            continue; /* the mass beyond the margin matters: sort everything */
        if (cut < 0)
            return;
        /* remove every index not among the first `cut` ranks */
        for (int i = 0; i < n; i++)
            e[i] = 0.0f;
        for (int r = 0; r < cut; r++)
            e[order[r]] = 1.0f;
        for (int i = 0; i < n; i++)
            if (e[i] == 0.0f)
                l[i] = -INFINITY;
        return;
    }
}

int kr_sample_filter(const float *logits, int n, double temperature, int top_k, double top_p,
                     float *probs, int *order, float *work)
{
    float t = (float)temperature;
    int arg = 0;
    for (int i = 0; i < n; i++) {
        probs[i] = logits[i] / t;
        if (probs[i] > probs[arg])
            arg = i;
    }
    /* probs holds the scaled logits until the softmax; removed entries become -inf */
    if (top_k > 0) {
        int k = top_k < n ? top_k : n;
        float kth = k == 1 ? probs[arg] : kth_largest(probs, n, k, work);
        for (int i = 0; i < n; i++)
            if (probs[i] < kth)
                probs[i] = -INFINITY;
    } else if (top_p < 1.0) {
        top_p_filter(probs, n, probs[arg], top_p, order, work, (uint32_t *)(order + n));
    }
    float mx = probs[arg], sum = 0.0f;
    for (int i = 0; i < n; i++) {
        probs[i] = isinf(probs[i]) && probs[i] < 0 ? 0.0f : expf(probs[i] - mx);
        sum += probs[i];
    }
    for (int i = 0; i < n; i++)
        probs[i] /= sum;
    return arg;
}

int kr_sample_draw(const float *probs, int n, rng *r)
{
    double total = 0.0;
    int last = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] > 0.0f) {
            total += probs[i];
            last = i;
        }
    double u = rng_uniform(r) * total, c = 0.0;
    for (int i = 0; i < n; i++) {
        if (probs[i] <= 0.0f)
            continue;
        c += probs[i];
        if (u < c)
            return i;
    }
    return last;
}
