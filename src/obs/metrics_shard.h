#ifndef KRONOS_OBS_METRICS_SHARD_H
#define KRONOS_OBS_METRICS_SHARD_H

/*
 * Per-thread value storage for counters and histograms.
 *
 * Every counter or histogram series owns a range of 64-bit words (an "offset") in one global
 * index space. Each thread that records into a series gets its own private copy of those words,
 * so the hot path is a TLS load, a pointer load and plain (relaxed atomic) stores: no locked
 * instruction, no shared cache line, no allocation after the thread's first touch of a chunk.
 * A scrape sums the words over all live threads plus a "retired" block into which exiting
 * threads fold their values. Histogram words are guarded by a per-thread seqlock word so a
 * scrape copies each thread's contribution whole.
 */

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MSHARD_CHUNK_SHIFT 10
#define MSHARD_CHUNK_WORDS (1u << MSHARD_CHUNK_SHIFT)
#define MSHARD_MAX_CHUNKS 1024 /* 1M words = 8 MiB of series state per thread at most */
#define MSHARD_NO_SPACE UINT32_MAX

/* How a word is folded when its thread exits. */
enum mshard_kind { MSHARD_SEQ = 0, MSHARD_U64 = 1, MSHARD_F64 = 2 };

typedef _Atomic uint64_t mshard_word;

struct mshard_block {
    _Atomic(mshard_word *) chunk[MSHARD_MAX_CHUNKS];
    struct mshard_block *prev, *next;
};

extern _Thread_local struct mshard_block *mshard_tls;

mshard_word *mshard_slot_slow(uint32_t off);

/* The calling thread's words for offset `off`; NULL only if memory is exhausted. */
static inline mshard_word *mshard_slot(uint32_t off)
{
    struct mshard_block *b = mshard_tls;
    if (b) {
        mshard_word *c =
            atomic_load_explicit(&b->chunk[off >> MSHARD_CHUNK_SHIFT], memory_order_relaxed);
        if (c)
            return c + (off & (MSHARD_CHUNK_WORDS - 1));
    }
    return mshard_slot_slow(off);
}

static inline double mshard_u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t mshard_d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Owner-only read-modify-write: no other thread ever writes this word. */
static inline void mshard_add_f64(mshard_word *w, double v)
{
    double cur = mshard_u2d(atomic_load_explicit(w, memory_order_relaxed));
    atomic_store_explicit(w, mshard_d2u(cur + v), memory_order_relaxed);
}

static inline void mshard_add_u64(mshard_word *w, uint64_t v)
{
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* Reserves `n` consecutive words (n <= MSHARD_CHUNK_WORDS) of the given kinds. */
uint32_t mshard_alloc(uint32_t n, const uint8_t *kinds);

/* Scrape side: hold the lock while reading so no thread folds its block away meanwhile. */
void mshard_lock(void);
void mshard_unlock(void);
/* A counter's value: the sum over all threads of its [U64][F64] word pair. */
double mshard_sum_counter(uint32_t off);
/*
 * Sums a seqlocked range [seq][n words] over all threads into out[0..n), reading each thread's
 * copy consistently. kinds[i] says whether word i+1 is U64 or F64 (F64 summed as double bits).
 */
void mshard_sum_locked_range(uint32_t off, uint32_t n, const uint8_t *kinds, uint64_t *out);

#endif
