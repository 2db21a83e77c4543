#include "security/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ull
#define KEY_MAX 128
#define STRIPES 16

typedef struct slot {
    uint64_t tat;
    char key[KEY_MAX + 1];
} slot;

typedef struct stripe {
    _Alignas(64) pthread_mutex_t lock; /* stripes start on their own cache line */
    uint64_t *hashes;                  /* 0 = free slot; scanned before touching the wider slots */
    slot *slots;
    uint64_t overflow_tat;
} stripe;

struct ratelimit {
    uint64_t interval_ns; /* T: emission interval */
    uint64_t window_ns;   /* burst * T: how far ahead of now the TAT may run */
    uint32_t burst;
    size_t n_stripes, slots_per_stripe;
    stripe *stripes;
};

static uint64_t hash_key(const char *s, size_t *len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    const char *p = s;
    for (; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    *len = (size_t)(p - s);
    h ^= h >> 32; /* the stripe index uses the low bits */
    return h ? h : 1;
}

ratelimit *ratelimit_create(uint32_t per_minute, uint32_t burst, size_t max_identities, char *err,
                            size_t errlen)
{
    if (per_minute < 1 || per_minute > RATELIMIT_MAX_PER_MINUTE) {
        snprintf(err, errlen, "per-minute rate must be 1..%u", RATELIMIT_MAX_PER_MINUTE);
        return NULL;
    }
    if (burst < 1 || burst > RATELIMIT_MAX_BURST) {
        snprintf(err, errlen, "burst must be 1..%u", RATELIMIT_MAX_BURST);
        return NULL;
    }
    if (max_identities == 0)
        max_identities = RATELIMIT_DEFAULT_MAX_IDENTITIES;
    ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        goto oom;
    rl->interval_ns = 60 * NS_PER_S / per_minute;
    rl->window_ns = rl->interval_ns * burst;
    rl->burst = burst;
    rl->n_stripes = max_identities < STRIPES ? 1 : STRIPES;
    rl->slots_per_stripe = (max_identities + rl->n_stripes - 1) / rl->n_stripes;
    rl->stripes = aligned_alloc(64, rl->n_stripes * sizeof(stripe));
    if (!rl->stripes) {
        free(rl);
        goto oom;
    }
    memset(rl->stripes, 0, rl->n_stripes * sizeof(stripe));
    for (size_t i = 0; i < rl->n_stripes; i++) {
        stripe *s = &rl->stripes[i];
        pthread_mutex_init(&s->lock, NULL);
        s->hashes = calloc(rl->slots_per_stripe, sizeof(*s->hashes));
        s->slots = calloc(rl->slots_per_stripe, sizeof(*s->slots));
        if (!s->hashes || !s->slots) {
            rl->n_stripes = i + 1;
            ratelimit_free(rl);
            goto oom;
        }
    }
    return rl;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n_stripes; i++) {
        pthread_mutex_destroy(&rl->stripes[i].lock);
        free(rl->stripes[i].hashes);
        free(rl->stripes[i].slots);
    }
    free(rl->stripes);
    free(rl);
}

static uint32_t ceil_seconds(uint64_t ns)
{
    uint64_t s = (ns + NS_PER_S - 1) / NS_PER_S;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* The GCRA step on one TAT. */
static void gcra(const ratelimit *rl, uint64_t *tat, uint64_t now, ratelimit_result *res)
{
    uint64_t start = *tat > now ? *tat : now;
    uint64_t next = start + rl->interval_ns;
    res->limit = rl->burst;
    if (next > now + rl->window_ns) {
        res->allowed = false;
        res->remaining = 0;
        res->retry_after_s = ceil_seconds(next - rl->window_ns - now);
        if (res->retry_after_s < 1)
            res->retry_after_s = 1;
        res->reset_s = ceil_seconds(start - now);
        return;
    }
    *tat = next;
    res->allowed = true;
    res->remaining = (uint32_t)((now + rl->window_ns - next) / rl->interval_ns);
    res->retry_after_s = 0;
    res->reset_s = ceil_seconds(next - now);
}

bool ratelimit_check(ratelimit *rl, const char *identity, uint64_t now_ns, ratelimit_result *res)
{
    memset(res, 0, sizeof(*res));
    size_t len;
    uint64_t h = hash_key(identity ? identity : "", &len);
    stripe *s = &rl->stripes[h % rl->n_stripes];

    pthread_mutex_lock(&s->lock);
    uint64_t *tat = NULL;
    if (identity && len <= KEY_MAX) {
        size_t reusable = SIZE_MAX;
        for (size_t i = 0; i < rl->slots_per_stripe; i++) {
            if (s->hashes[i] == h && strcmp(s->slots[i].key, identity) == 0) {
                tat = &s->slots[i].tat;
                break;
            }
            if (reusable == SIZE_MAX && (s->hashes[i] == 0 || s->slots[i].tat <= now_ns))
                reusable = i;
        }
        if (!tat && reusable != SIZE_MAX) {
            s->hashes[reusable] = h;
            memcpy(s->slots[reusable].key, identity, len + 1);
            s->slots[reusable].tat = 0;
            tat = &s->slots[reusable].tat;
        }
    }
    if (!tat) {
        tat = &s->overflow_tat;
        res->overflow = true;
    }
    gcra(rl, tat, now_ns, res);
    pthread_mutex_unlock(&s->lock);
    return res->allowed;
}
