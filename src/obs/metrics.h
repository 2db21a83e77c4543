#ifndef KRONOS_OBS_METRICS_H
#define KRONOS_OBS_METRICS_H

/*
 * A Prometheus metrics library.
 *
 * A registry holds families (counter, gauge, histogram) with fixed label names. A series
 * (`struct metric`) is looked up once with metric_family_get() (cold path: locks, allocates)
 * and kept as a handle; recording through a handle is lock-free and allocation-free:
 *   - counters and histograms write into per-thread storage (metrics_shard.h), summed at scrape;
 *     a histogram's per-thread words sit behind a seqlock so a scrape never sees it torn;
 *   - gauges are one atomic double (set/add), or a callback read at scrape time;
 *   - exemplars (latest trace id per counter / histogram bucket) sit in small seqlocked slots;
 *     a writer that finds a slot busy skips it rather than wait.
 * Handles stay valid until the registry is destroyed. Rendering lives in exposition.h.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/metrics_shard.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRIC_MAX_LABELS 8
#define METRIC_MAX_BUCKETS 64
#define METRIC_TRACE_ID_LEN 32 /* W3C trace id: 32 lowercase hex digits */

/* Bounds one label's values: an allowed set and/or a cap on distinct values. */
struct metric_label_bound {
    const char *label;          /* label name this bound applies to */
    const char *const *allowed; /* NULL: any value (subject to max_values) */
    size_t n_allowed;
    size_t max_values;    /* 0: no cap; else at most this many distinct values + fallback */
    const char *fallback; /* value used outside the set / past the cap */
};

struct metric_family_opts {
    const char *name; /* counters must end in _total */
    const char *help;
    enum metric_type type;
    const char *const *label_names;
    size_t n_labels;
    const double *buckets; /* histogram upper bounds, strictly increasing, finite; +Inf implied */
    size_t n_buckets;
    bool exemplars; /* counters and histograms: keep the latest exemplar */
    const struct metric_label_bound *bounds;
    size_t n_bounds;
};

struct metric_exemplar {
    _Atomic uint64_t seq; /* odd while written; 0: never written */
    _Atomic uint64_t id[METRIC_TRACE_ID_LEN / 8];
    _Atomic uint64_t value; /* double bits */
    _Atomic uint64_t ts;    /* double bits, epoch seconds */
};

typedef double (*metric_callback_fn)(void *arg);

struct metric_family;
struct metric_registry;

/* A series. Fields are private to the library; use the functions below. */
struct metric {
    struct metric_family *fam;
    uint32_t off;           /* counter/histogram: per-thread storage offset */
    uint16_t labels_len;    /* length of the rendered label pairs */
    bool hidden;            /* replaced info series: kept alive, not rendered */
    _Atomic uint64_t gauge; /* gauge value, double bits */
    struct metric_exemplar *ex;
    struct metric_callback *cb;
    struct metric *hash_next;
    char labels[]; /* `a="x",b="y"`, escaped, NUL-terminated */
};

/* Hot-path helpers need these two fields; the rest of the family is private. */
struct metric_family_hot {
    const double *bounds;
    uint32_t n_bounds;
};

struct metric_registry *metric_registry_new(void);
void metric_registry_free(struct metric_registry *r);

/* Registers a family; NULL with a message in err on invalid options or a duplicate name. */
struct metric_family *metric_registry_add(struct metric_registry *r,
                                          const struct metric_family_opts *o, char *err,
                                          size_t errlen);

/* Called at the start of every render, unlocked (e.g. to refresh process figures). */
int metric_registry_on_collect(struct metric_registry *r, void (*fn)(void *), void *arg);

/*
 * The series for these label values (n_labels of them; NULL for a label-less family), created at
 * zero on first use. Values outside a label's bound map to its fallback. NULL only when out of
 * memory or a value is NULL.
 */
struct metric *metric_family_get(struct metric_family *f, const char *const *values);

/*
 * Info-style replacement: hides every series of the family, then shows (creating if needed) the
 * one with these values and sets it to `value`. A scrape sees the old set or the new, never a mix.
 */
struct metric *metric_family_replace(struct metric_family *f, const char *const *values,
                                     double value);

/*
 * Value read at scrape time instead of the stored one (gauge or counter; not histogram). fn runs
 * with the registry locked: it must not record into or look up metrics of any registry.
 */
int metric_set_callback(struct metric *m, metric_callback_fn fn, void *arg);

/*
 * Records an exemplar into a slot; trace_id must be 32 lowercase hex digits or it is ignored.
 * The _at variant takes the timestamp (epoch seconds) instead of reading the clock.
 */
void metric_exemplar_record(struct metric_exemplar *e, const char *trace_id, double value);
void metric_exemplar_record_at(struct metric_exemplar *e, const char *trace_id, double value,
                               double ts);

/* Hot path. Recording never fails: without memory for per-thread storage a value is dropped. */

/*
 * Per-thread counter words: [integer part][fractional adds]. Whole increments take the integer
 * word: a plain add, shorter than a floating-point add in a tight loop, and exact past 2^53 sums.
 */
static inline void metric_counter_add(struct metric *m, double v)
{
    if (!(v > 0))
        return;
    mshard_word *w = mshard_slot(m->off);
    if (v < 9007199254740992.0 && v == (double)(uint64_t)v)
        mshard_add_u64(&w[0], (uint64_t)v);
    else
        mshard_add_f64(&w[1], v);
}

static inline void metric_counter_inc(struct metric *m)
{
    mshard_add_u64(mshard_slot(m->off), 1);
}

/* Adds and, when trace_id is a valid trace id, records the exemplar {trace_id} v. */
static inline void metric_counter_add_exemplar(struct metric *m, double v, const char *trace_id)
{
    metric_counter_add(m, v);
    if (trace_id && m->ex && v > 0)
        metric_exemplar_record(m->ex, trace_id, v);
}

static inline void metric_counter_add_exemplar_at(struct metric *m, double v, const char *trace_id,
                                                  double ts)
{
    metric_counter_add(m, v);
    if (trace_id && m->ex && v > 0)
        metric_exemplar_record_at(m->ex, trace_id, v, ts);
}

static inline void metric_gauge_set(struct metric *m, double v)
{
    atomic_store_explicit(&m->gauge, mshard_d2u(v), memory_order_relaxed);
}

static inline void metric_gauge_add(struct metric *m, double v)
{
    uint64_t cur = atomic_load_explicit(&m->gauge, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&m->gauge, &cur, mshard_d2u(mshard_u2d(cur) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static inline void metric_gauge_inc(struct metric *m)
{
    metric_gauge_add(m, 1.0);
}

static inline void metric_gauge_dec(struct metric *m)
{
    metric_gauge_add(m, -1.0);
}

static inline double metric_gauge_get(const struct metric *m)
{
    return mshard_u2d(atomic_load_explicit(&m->gauge, memory_order_relaxed));
}

/*
 * Index of the first bucket whose upper bound is >= v; n (the +Inf bucket) if none or v is NaN.
 * The bucket's counter address depends on this index, and the next observation's load waits for
 * it, so latency matters more than work: count the bounds below v with independent compares
 * (two per SSE2 instruction) rather than search. b must hold a multiple of two bounds, padded
 * with +Inf (the family does that).
 */
static inline uint32_t metric_bucket_index(const double *b, uint32_t n, double v)
{
#if defined(__SSE2__)
    __m128d x = _mm_set1_pd(v);
    __m128i a0 = _mm_setzero_si128(), a1 = _mm_setzero_si128(); /* two chains: shorter latency */
    uint32_t k = 0;
    for (; k + 2 < n; k += 4) {
        a0 = _mm_sub_epi64(a0, _mm_castpd_si128(_mm_cmpnle_pd(x, _mm_loadu_pd(b + k))));
        a1 = _mm_sub_epi64(a1, _mm_castpd_si128(_mm_cmpnle_pd(x, _mm_loadu_pd(b + k + 2))));
    }
    if (k < n)
        a0 = _mm_sub_epi64(a0, _mm_castpd_si128(_mm_cmpnle_pd(x, _mm_loadu_pd(b + k))));
    __m128i acc = _mm_add_epi64(a0, a1);
    uint64_t i = (uint64_t)_mm_cvtsi128_si64(acc) +
                 (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
    return i < n ? (uint32_t)i : n;
#else
    uint32_t i = 0;
    for (uint32_t k = 0; k < n; k++)
        i += !(v <= b[k]);
    return i;
#endif
}

/* Per-thread histogram words: [seq][sum][bucket 0 .. bucket n_bounds (+Inf)], non-cumulative. */
static inline uint32_t metric_histogram_observe_at(struct metric *m, double v)
{
    const struct metric_family_hot *h = (const struct metric_family_hot *)m->fam;
    uint32_t i = metric_bucket_index(h->bounds, h->n_bounds, v);
    mshard_word *w = mshard_slot(m->off);
    uint64_t seq = atomic_load_explicit(&w[0], memory_order_relaxed);
    atomic_store_explicit(&w[0], seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    mshard_add_f64(&w[1], v);
    mshard_add_u64(&w[2 + i], 1);
    atomic_store_explicit(&w[0], seq + 2, memory_order_release);
    return i;
}

static inline void metric_histogram_observe(struct metric *m, double v)
{
    (void)metric_histogram_observe_at(m, v);
}

/* Observes and records the exemplar on the bucket the value landed in. */
static inline void metric_histogram_observe_exemplar(struct metric *m, double v,
                                                     const char *trace_id)
{
    uint32_t i = metric_histogram_observe_at(m, v);
    if (trace_id && m->ex)
        metric_exemplar_record(&m->ex[i], trace_id, v);
}

static inline void metric_histogram_observe_exemplar_at(struct metric *m, double v,
                                                        const char *trace_id, double ts)
{
    uint32_t i = metric_histogram_observe_at(m, v);
    if (trace_id && m->ex)
        metric_exemplar_record_at(&m->ex[i], trace_id, v, ts);
}

#endif
