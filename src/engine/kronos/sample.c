#include "engine/kronos/sample.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void kr_rng_seed(kr_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t kr_rng_next(kr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kr_rng_uniform(kr_rng *r)
{
    return (double)(kr_rng_next(r) >> 11) * 0x1.0p-53;
}

/* qsort has no context argument; the values live in a thread-local for the comparison. */
static _Thread_local const float *tl_vals;

static int by_value_desc(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = tl_vals[i], y = tl_vals[j];
    if (x != y) return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

int kr_sample_filter(const float *logits, int n, double temperature, int top_k, double top_p,
                     float *probs, int *order, float *work)
{
    float t = (float)temperature;
    int arg = 0;
    for (int i = 0; i < n; i++) {
        probs[i] = logits[i] / t;
        if (probs[i] > probs[arg]) arg = i;
    }
    /* probs holds the scaled logits until the softmax; removed entries become -inf */
    if (top_k > 0 || top_p < 1.0) {
        for (int i = 0; i < n; i++)
            order[i] = i;
        tl_vals = probs;
        qsort(order, (size_t)n, sizeof(int), by_value_desc);
    }
    if (top_k > 0) {
        int k = top_k < n ? top_k : n;
        float kth = probs[order[k - 1]];
        for (int i = 0; i < n; i++)
            if (probs[i] < kth) probs[i] = -INFINITY;
    } else if (top_p < 1.0) {
        float mx = probs[order[0]], sum = 0.0f, *e = work;
        {
            for (int r = 0; r < n; r++)
                sum += (e[r] = expf(probs[order[r]] - mx));
            float c = 0.0f, p = (float)top_p;
            int cut = n;
            for (int r = 0; r < n; r++) {
                if (r >= 1 && c > p) {
                    cut = r;
                    break;
                }
                c += e[r] / sum;
            }
            for (int r = cut; r < n; r++)
                probs[order[r]] = -INFINITY;
        }
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

int kr_sample_draw(const float *probs, int n, kr_rng *r)
{
    double total = 0.0;
    int last = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] > 0.0f) {
            total += probs[i];
            last = i;
        }
    double u = kr_rng_uniform(r) * total, c = 0.0;
    for (int i = 0; i < n; i++) {
        if (probs[i] <= 0.0f) continue;
        c += probs[i];
        if (u < c) return i;
    }
    return last;
}
