#include "obs/metrics_shard.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

_Thread_local struct mshard_block *mshard_tls;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_next_off;
static uint8_t *g_kind[MSHARD_MAX_CHUNKS];
static struct mshard_block *g_live;
static struct mshard_block g_retired;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static bool g_key_ok;

/* Where writes go when memory for a thread's chunk cannot be had: values are lost, not fatal. */
static mshard_word g_sink[MSHARD_CHUNK_WORDS];

static void fold_into_retired(struct mshard_block *b)
{
    for (uint32_t ci = 0; ci < MSHARD_MAX_CHUNKS; ci++) {
        mshard_word *c = atomic_load_explicit(&b->chunk[ci], memory_order_relaxed);
        if (!c)
            continue;
        mshard_word *r = atomic_load_explicit(&g_retired.chunk[ci], memory_order_relaxed);
        if (!r) {
            r = calloc(MSHARD_CHUNK_WORDS, sizeof *r);
            if (!r)
                continue;
            atomic_store_explicit(&g_retired.chunk[ci], r, memory_order_release);
        }
        const uint8_t *kind = g_kind[ci];
        for (uint32_t i = 0; kind && i < MSHARD_CHUNK_WORDS; i++) {
            uint64_t v = atomic_load_explicit(&c[i], memory_order_relaxed);
            if (kind[i] == MSHARD_U64)
                mshard_add_u64(&r[i], v);
            else if (kind[i] == MSHARD_F64)
                mshard_add_f64(&r[i], mshard_u2d(v));
        }
    }
}

static void thread_exit(void *arg)
{
    struct mshard_block *b = arg;
    pthread_mutex_lock(&g_lock);
    fold_into_retired(b);
    if (b->prev)
        b->prev->next = b->next;
    else
        g_live = b->next;
    if (b->next)
        b->next->prev = b->prev;
    pthread_mutex_unlock(&g_lock);
    for (uint32_t ci = 0; ci < MSHARD_MAX_CHUNKS; ci++)
        free(atomic_load_explicit(&b->chunk[ci], memory_order_relaxed));
    free(b);
    mshard_tls = NULL;
}

static void make_key(void)
{
    g_key_ok = pthread_key_create(&g_key, thread_exit) == 0;
}

mshard_word *mshard_slot_slow(uint32_t off)
{
    uint32_t ci = off >> MSHARD_CHUNK_SHIFT;
    if (off == MSHARD_NO_SPACE || ci >= MSHARD_MAX_CHUNKS)
        return g_sink;
    struct mshard_block *b = mshard_tls;
    if (!b) {
        pthread_once(&g_key_once, make_key);
        if (!g_key_ok || !(b = calloc(1, sizeof *b)))
            return g_sink;
        pthread_mutex_lock(&g_lock);
        b->next = g_live;
        if (g_live)
            g_live->prev = b;
        g_live = b;
        pthread_mutex_unlock(&g_lock);
        pthread_setspecific(g_key, b);
        mshard_tls = b;
    }
    mshard_word *c = atomic_load_explicit(&b->chunk[ci], memory_order_relaxed);
    if (!c) {
        c = calloc(MSHARD_CHUNK_WORDS, sizeof *c);
        if (!c)
            return g_sink;
        atomic_store_explicit(&b->chunk[ci], c, memory_order_release);
    }
    return c + (off & (MSHARD_CHUNK_WORDS - 1));
}

uint32_t mshard_alloc(uint32_t n, const uint8_t *kinds)
{
    if (n == 0 || n > MSHARD_CHUNK_WORDS)
        return MSHARD_NO_SPACE;
    pthread_mutex_lock(&g_lock);
    uint32_t off = g_next_off;
    if ((off & (MSHARD_CHUNK_WORDS - 1)) + n > MSHARD_CHUNK_WORDS)
        off = (off | (MSHARD_CHUNK_WORDS - 1)) + 1;
    uint32_t ci = off >> MSHARD_CHUNK_SHIFT;
    if (ci >= MSHARD_MAX_CHUNKS)
        goto full;
    if (!g_kind[ci] && !(g_kind[ci] = calloc(MSHARD_CHUNK_WORDS, 1)))
        goto full;
    memcpy(g_kind[ci] + (off & (MSHARD_CHUNK_WORDS - 1)), kinds, n);
    g_next_off = off + n;
    pthread_mutex_unlock(&g_lock);
    return off;
full:
    pthread_mutex_unlock(&g_lock);
    return MSHARD_NO_SPACE;
}

void mshard_lock(void)
{
    pthread_mutex_lock(&g_lock);
}

void mshard_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

static mshard_word *words_of(struct mshard_block *b, uint32_t off)
{
    mshard_word *c =
        atomic_load_explicit(&b->chunk[off >> MSHARD_CHUNK_SHIFT], memory_order_acquire);
    return c ? c + (off & (MSHARD_CHUNK_WORDS - 1)) : NULL;
}

double mshard_sum_counter(uint32_t off)
{
    if (off == MSHARD_NO_SPACE)
        return 0;
    uint64_t whole = 0;
    double frac = 0;
    for (struct mshard_block *b = &g_retired; b; b = (b == &g_retired) ? g_live : b->next) {
        mshard_word *w = words_of(b, off);
        if (!w)
            continue;
        whole += atomic_load_explicit(&w[0], memory_order_relaxed);
        frac += mshard_u2d(atomic_load_explicit(&w[1], memory_order_relaxed));
    }
    return (double)whole + frac;
}

#define MSHARD_MAX_RANGE 128

/* One thread's copy of a seqlocked range, retried until no write overlapped the copy. */
static void read_consistent(mshard_word *w, uint32_t n, uint64_t *tmp)
{
    for (unsigned spins = 0;; spins++) {
        uint64_t s1 = atomic_load_explicit(&w[0], memory_order_acquire);
        if (!(s1 & 1)) {
            for (uint32_t i = 0; i < n; i++)
                tmp[i] = atomic_load_explicit(&w[1 + i], memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&w[0], memory_order_relaxed) == s1)
                return;
        }
        if (spins > 64)
            sched_yield(); /* the writer may be preempted mid-update */
    }
}

void mshard_sum_locked_range(uint32_t off, uint32_t n, const uint8_t *kinds, uint64_t *out)
{
    memset(out, 0, n * sizeof *out);
    if (off == MSHARD_NO_SPACE || n >= MSHARD_MAX_RANGE)
        return;
    uint64_t tmp[MSHARD_MAX_RANGE];
    for (struct mshard_block *b = &g_retired; b; b = (b == &g_retired) ? g_live : b->next) {
        mshard_word *w = words_of(b, off);
        if (!w)
            continue;
        read_consistent(w, n, tmp);
        for (uint32_t i = 0; i < n; i++) {
            if (kinds[i] == MSHARD_F64)
                out[i] = mshard_d2u(mshard_u2d(out[i]) + mshard_u2d(tmp[i]));
            else
                out[i] += tmp[i];
        }
    }
}
