#include "obs/exposition.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/metrics_internal.h"

static size_t format_u64(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

size_t metric_format_double(double v, char *out)
{
    if (isnan(v))
        return (size_t)(strcpy(out, "NaN"), 3);
    if (isinf(v))
        return (size_t)(strcpy(out, v > 0 ? "+Inf" : "-Inf"), 4);
    /* Integers below 1e15 print exactly with %.15g too; this is the same text, faster. */
    if (v == trunc(v) && fabs(v) < 1e15) {
        if (v < 0) {
            out[0] = '-';
            return 1 + format_u64((uint64_t)-v, out + 1);
        }
        return format_u64((uint64_t)v, out);
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, METRIC_DOUBLE_MAX, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

static void put_double(strbuf *b, double v)
{
    char tmp[METRIC_DOUBLE_MAX];
    sb_append(b, tmp, metric_format_double(v, tmp));
}

static void put_u64(strbuf *b, uint64_t v)
{
    char tmp[24];
    sb_append(b, tmp, format_u64(v, tmp));
}

/* `name<suffix>{labels[,le="x"]}` */
static void put_series(strbuf *b, const char *name, const char *suffix, const struct metric *m,
                       const char *le)
{
    sb_puts(b, name);
    if (suffix)
        sb_puts(b, suffix);
    if (!m->labels_len && !le)
        return;
    sb_putc(b, '{');
    sb_append(b, m->labels, m->labels_len);
    if (le) {
        if (m->labels_len)
            sb_putc(b, ',');
        sb_append(b, "le=\"", 4);
        sb_puts(b, le);
        sb_putc(b, '"');
    }
    sb_putc(b, '}');
}

static void put_exemplar(strbuf *b, const struct metric_exemplar *e)
{
    char id[METRIC_TRACE_ID_LEN + 1];
    double value, ts;
    if (!e || !metric_exemplar_read(e, id, &value, &ts))
        return;
    sb_append(b, " # {trace_id=\"", 14);
    sb_append(b, id, METRIC_TRACE_ID_LEN);
    sb_append(b, "\"} ", 3);
    put_double(b, value);
    sb_putc(b, ' ');
    put_double(b, ts);
}

static double scalar_value(const struct metric *m)
{
    if (m->cb)
        return m->cb->fn(m->cb->arg);
    if (m->fam->type == METRIC_COUNTER)
        return (double)atomic_load_explicit(&m->value, memory_order_relaxed) +
               metric_u2d(atomic_load_explicit(&m->frac, memory_order_relaxed));
    return metric_gauge_get(m);
}

/*
 * Copies a histogram's observations so far into sum and buckets (client_golang's hot/cold swap;
 * callers hold the registry lock, so one scrape swaps at a time): make the other half hot, wait
 * until the writers that began in the old half have finished, copy it, fold it into the new hot
 * half and clear it, ready for the next swap.
 */
static void read_histogram(struct metric_hist *h, double *sum, uint64_t *buckets)
{
    uint64_t n = atomic_fetch_add_explicit(&h->started, 1ull << 63, memory_order_acq_rel);
    uint64_t begun = n & ~(1ull << 63);
    _Atomic uint64_t *cold = metric_hist_half(h, n >> 63);
    _Atomic uint64_t *hot = metric_hist_half(h, (n >> 63) ^ 1);
    for (unsigned spins = 0; atomic_load_explicit(&cold[0], memory_order_acquire) != begun;)
        if (++spins > 64)
            sched_yield(); /* a writer was preempted between its begin and its count */
    *sum = metric_u2d(atomic_load_explicit(&cold[1], memory_order_relaxed));
    atomic_fetch_add_explicit(&hot[0], begun, memory_order_relaxed);
    metric_atomic_add_f64(&hot[1], *sum);
    atomic_store_explicit(&cold[0], 0, memory_order_relaxed);
    atomic_store_explicit(&cold[1], 0, memory_order_relaxed);
    for (uint32_t i = 0; i <= h->n_bounds; i++) {
        buckets[i] = atomic_load_explicit(&cold[2 + i], memory_order_relaxed);
        atomic_fetch_add_explicit(&hot[2 + i], buckets[i], memory_order_relaxed);
        atomic_store_explicit(&cold[2 + i], 0, memory_order_relaxed);
    }
}

static void render_histogram(strbuf *b, const struct metric_family *f, const struct metric *m,
                             const char *name, bool om)
{
    uint32_t nb = f->n_bounds;
    uint64_t w[METRIC_MAX_BUCKETS + 1];
    double sum;
    read_histogram(m->hist, &sum, w);
    uint64_t cum = 0;
    for (uint32_t i = 0; i <= nb; i++) {
        cum += w[i];
        put_series(b, name, "_bucket", m, f->le[i]);
        sb_putc(b, ' ');
        put_u64(b, cum);
        if (om && m->ex)
            put_exemplar(b, &m->ex[i]);
        sb_putc(b, '\n');
    }
    put_series(b, name, "_sum", m, NULL);
    sb_putc(b, ' ');
    put_double(b, sum);
    sb_putc(b, '\n');
    put_series(b, name, "_count", m, NULL);
    sb_putc(b, ' ');
    put_u64(b, cum);
    sb_putc(b, '\n');
}

static const char *type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

static void render_family(strbuf *b, const struct metric_family *f, bool om)
{
    const char *meta = om ? f->om_name : f->name;
    sb_append(b, "# HELP ", 7);
    sb_puts(b, meta);
    sb_putc(b, ' ');
    sb_puts(b, om ? f->help_om : f->help_text);
    sb_append(b, "\n# TYPE ", 8);
    sb_puts(b, meta);
    sb_putc(b, ' ');
    sb_puts(b, type_name(f->type));
    sb_putc(b, '\n');
    if (om && f->unit) {
        sb_append(b, "# UNIT ", 7);
        sb_puts(b, meta);
        sb_putc(b, ' ');
        sb_puts(b, f->unit);
        sb_putc(b, '\n');
    }
    for (size_t i = 0; i < f->n_series; i++) {
        const struct metric *m = f->series[i];
        if (m->hidden)
            continue;
        if (f->type == METRIC_HISTOGRAM) {
            render_histogram(b, f, m, f->name, om);
            continue;
        }
        put_series(b, f->name, NULL, m, NULL);
        sb_putc(b, ' ');
        put_double(b, scalar_value(m));
        if (om && m->ex)
            put_exemplar(b, m->ex);
        sb_putc(b, '\n');
    }
}

int metric_registry_render(struct metric_registry *r, enum metric_format fmt, strbuf *out)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n_collect;
    void (*fns[METRIC_MAX_COLLECTORS])(void *);
    void *args[METRIC_MAX_COLLECTORS];
    for (size_t i = 0; i < n; i++) {
        fns[i] = r->collect[i].fn;
        args[i] = r->collect[i].arg;
    }
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++)
        fns[i](args[i]);

    bool om = fmt == METRIC_FMT_OPENMETRICS;
    pthread_mutex_lock(&r->lock);
    for (const struct metric_family *f = r->first; f; f = f->next)
        render_family(out, f, om);
    pthread_mutex_unlock(&r->lock);
    if (om)
        sb_append(out, "# EOF\n", 6);
    return sb_ok(out) ? 0 : -1;
}
