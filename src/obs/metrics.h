#ifndef KRONOS_OBS_METRICS_H
#define KRONOS_OBS_METRICS_H

/*
 * A Prometheus metrics library, in the shape of client_golang.
 *
 * A registry holds families (counter, gauge, histogram) with fixed label names. A series
 * (`struct metric`) is looked up once with metric_family_get() (cold path: locks, allocates)
 * and kept as a handle; recording through a handle takes no lock and allocates nothing, it only
 * does atomic operations on the series' own words:
 *   - a counter is two atomics: whole increments (an integer add) and other amounts (a double
 *     added with compare-and-swap); a gauge is one atomic double (set/add), or a callback read at
 *     scrape time;
 *   - a histogram keeps two halves of {count, sum, buckets}; writers add to the hot one, a scrape
 *     swaps hot and cold, waits for writers still in the cold one, reads it and folds it into
 *     the new hot one, so every scrape sees whole observations (client_golang's hot/cold swap);
 *   - exemplars (latest trace id per counter / histogram bucket) sit in small slots guarded by a
 *     busy flag: a writer that finds a slot busy skips it rather than wait.
 * Handles stay valid until the registry is destroyed. Rendering lives in exposition.h.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The latest exemplar of a counter or histogram bucket. Fields are read and written only by the
 * thread that set `busy`. */
struct metric_exemplar {
    atomic_bool busy;
    bool set;
    char id[METRIC_TRACE_ID_LEN];
    double value;
    double ts; /* epoch seconds */
};

typedef double (*metric_callback_fn)(void *arg);

struct metric_family;
struct metric_registry;

/*
 * A histogram series' words. Each half is [count][sum][bucket 0 .. n_bounds (+Inf)], buckets not
 * cumulative, sum as double bits; count is the observations completed in that half.
 */
struct metric_hist {
    const double *bounds; /* the family's upper bounds */
    uint32_t n_bounds;
    _Atomic uint64_t started; /* bit 63: the hot half; bits 0-62: observations begun */
    _Atomic uint64_t half[];  /* 2 * (n_bounds + 3) words */
};

/* A series. Fields are private to the library; use the functions below. */
struct metric {
    struct metric_family *fam;
    uint16_t labels_len;    /* length of the rendered label pairs */
    bool hidden;            /* replaced info series: kept alive, not rendered */
    _Atomic uint64_t value; /* counter: sum of whole increments; gauge: double bits */
    _Atomic uint64_t frac;  /* counter: sum of the other amounts, double bits */
    struct metric_hist *hist;
    struct metric_exemplar *ex;
    struct metric_callback *cb;
    struct metric *hash_next;
    char labels[]; /* `a="x",b="y"`, escaped, NUL-terminated */
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

/* Hot path. */

static inline double metric_u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t metric_d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Adds v to a double kept as bits in an atomic word. */
static inline void metric_atomic_add_f64(_Atomic uint64_t *w, double v)
{
    uint64_t cur = atomic_load_explicit(w, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(w, &cur, metric_d2u(metric_u2d(cur) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* Whole amounts take the integer word: one atomic add, exact past 2^53 sums. */
static inline void metric_counter_add(struct metric *m, double v)
{
    if (!(v > 0))
        return;
    if (v < 9007199254740992.0 && v == (double)(uint64_t)v)
        atomic_fetch_add_explicit(&m->value, (uint64_t)v, memory_order_relaxed);
    else
        metric_atomic_add_f64(&m->frac, v);
}

static inline void metric_counter_inc(struct metric *m)
{
    atomic_fetch_add_explicit(&m->value, 1, memory_order_relaxed);
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
    atomic_store_explicit(&m->value, metric_d2u(v), memory_order_relaxed);
}

static inline void metric_gauge_add(struct metric *m, double v)
{
    metric_atomic_add_f64(&m->value, v);
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
    return metric_u2d(atomic_load_explicit(&m->value, memory_order_relaxed));
}

/* Index of the first bucket whose upper bound is >= v; n (the +Inf bucket) if none or v is NaN. */
static inline uint32_t metric_bucket_index(const double *b, uint32_t n, double v)
{
    uint32_t i = 0;
    while (i < n && !(v <= b[i]))
        i++;
    return i;
}

/* Half `which` (0 or 1) of a histogram: [count][sum][buckets]. */
static inline _Atomic uint64_t *metric_hist_half(struct metric_hist *h, uint64_t which)
{
    return h->half + which * (h->n_bounds + 3);
}

/*
 * Begins in the hot half (the acquire pairs with the scrape's swap, so the half was reset before
 * we write to it), adds, then completes: the release on count hands the bucket and sum to the
 * scrape that waits for this half's count.
 */
static inline uint32_t metric_histogram_observe_at(struct metric *m, double v)
{
    struct metric_hist *h = m->hist;
    uint32_t i = metric_bucket_index(h->bounds, h->n_bounds, v);
    uint64_t n = atomic_fetch_add_explicit(&h->started, 1, memory_order_acquire);
    _Atomic uint64_t *hot = metric_hist_half(h, n >> 63);
    atomic_fetch_add_explicit(&hot[2 + i], 1, memory_order_relaxed);
    metric_atomic_add_f64(&hot[1], v);
    atomic_fetch_add_explicit(&hot[0], 1, memory_order_release);
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
