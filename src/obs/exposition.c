#include "obs/exposition.h"

#include <math.h>
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

static void put_double(struct mbuf *b, double v)
{
    if (!mbuf_reserve(b, METRIC_DOUBLE_MAX))
        return;
    b->len += metric_format_double(v, b->data + b->len);
}

static void put_u64(struct mbuf *b, uint64_t v)
{
    if (!mbuf_reserve(b, 24))
        return;
    b->len += format_u64(v, b->data + b->len);
}

/* `name<suffix>{labels[,le="x"]}` */
static void put_series(struct mbuf *b, const char *name, const char *suffix, const struct metric *m,
                       const char *le)
{
    mbuf_puts(b, name);
    if (suffix)
        mbuf_puts(b, suffix);
    if (!m->labels_len && !le)
        return;
    mbuf_putc(b, '{');
    mbuf_put(b, m->labels, m->labels_len);
    if (le) {
        if (m->labels_len)
            mbuf_putc(b, ',');
        mbuf_put(b, "le=\"", 4);
        mbuf_puts(b, le);
        mbuf_putc(b, '"');
    }
    mbuf_putc(b, '}');
}

static void put_exemplar(struct mbuf *b, const struct metric_exemplar *e)
{
    char id[METRIC_TRACE_ID_LEN + 1];
    double value, ts;
    if (!e || !metric_exemplar_read(e, id, &value, &ts))
        return;
    mbuf_put(b, " # {trace_id=\"", 14);
    mbuf_put(b, id, METRIC_TRACE_ID_LEN);
    mbuf_put(b, "\"} ", 3);
    put_double(b, value);
    mbuf_putc(b, ' ');
    put_double(b, ts);
}

static double scalar_value(const struct metric *m)
{
    if (m->cb)
        return m->cb->fn(m->cb->arg);
    if (m->fam->type == METRIC_COUNTER)
        return mshard_sum_counter(m->off);
    return metric_gauge_get(m);
}

static void render_histogram(struct mbuf *b, const struct metric_family *f, const struct metric *m,
                             const char *name, bool om)
{
    uint32_t nb = f->hot.n_bounds;
    uint64_t w[METRIC_MAX_BUCKETS + 2];
    mshard_sum_locked_range(m->off, nb + 2, f->kinds, w);
    uint64_t cum = 0;
    for (uint32_t i = 0; i <= nb; i++) {
        cum += w[1 + i];
        put_series(b, name, "_bucket", m, f->le[i]);
        mbuf_putc(b, ' ');
        put_u64(b, cum);
        if (om && m->ex)
            put_exemplar(b, &m->ex[i]);
        mbuf_putc(b, '\n');
    }
    put_series(b, name, "_sum", m, NULL);
    mbuf_putc(b, ' ');
    put_double(b, mshard_u2d(w[0]));
    mbuf_putc(b, '\n');
    put_series(b, name, "_count", m, NULL);
    mbuf_putc(b, ' ');
    put_u64(b, cum);
    mbuf_putc(b, '\n');
}

static const char *type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

static void render_family(struct mbuf *b, const struct metric_family *f, bool om)
{
    const char *meta = om ? f->om_name : f->name;
    mbuf_put(b, "# HELP ", 7);
    mbuf_puts(b, meta);
    mbuf_putc(b, ' ');
    mbuf_puts(b, om ? f->help_om : f->help_text);
    mbuf_put(b, "\n# TYPE ", 8);
    mbuf_puts(b, meta);
    mbuf_putc(b, ' ');
    mbuf_puts(b, type_name(f->type));
    mbuf_putc(b, '\n');
    if (om && f->unit) {
        mbuf_put(b, "# UNIT ", 7);
        mbuf_puts(b, meta);
        mbuf_putc(b, ' ');
        mbuf_puts(b, f->unit);
        mbuf_putc(b, '\n');
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
        mbuf_putc(b, ' ');
        put_double(b, scalar_value(m));
        if (om && m->ex)
            put_exemplar(b, m->ex);
        mbuf_putc(b, '\n');
    }
}

int metric_registry_render(struct metric_registry *r, enum metric_format fmt, struct mbuf *out)
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
    mshard_lock();
    for (const struct metric_family *f = r->first; f; f = f->next)
        render_family(out, f, om);
    mshard_unlock();
    pthread_mutex_unlock(&r->lock);
    if (om)
        mbuf_put(out, "# EOF\n", 6);
    return out->oom ? -1 : 0;
}
