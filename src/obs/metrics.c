#include "obs/metrics.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/exposition.h"
#include "obs/metrics_internal.h"
#include "util/strbuf.h"
#include "util/utf8.h"

/* ---- names and escaping ---- */

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Escapes s into b: backslash and newline always, double quote when `quote` (label values in
 * both formats, HELP in OpenMetrics). Ill-formed UTF-8 becomes U+FFFD so parsers accept it.
 */
void metric_escape(strbuf *b, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n) {
        size_t run = 0;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '\\' && p[run] != '"')
            run++;
        sb_append(b, (const char *)p, run);
        p += run;
        n -= run;
        if (!n)
            break;
        if (*p == '\\') {
            sb_append(b, "\\\\", 2);
        } else if (*p == '\n') {
            sb_append(b, "\\n", 2);
        } else if (*p == '"') {
            if (quote)
                sb_append(b, "\\\"", 2);
            else
                sb_putc(b, '"');
        } else if (*p < 0x80) {
            sb_putc(b, (char)*p); /* other control bytes are legal in both formats */
        } else {
            size_t len = utf8_valid_len(p, n);
            if (len) {
                sb_append(b, (const char *)p, len);
                p += len;
                n -= len;
                continue;
            }
            sb_append(b, "\xEF\xBF\xBD", 3);
        }
        p++;
        n--;
    }
}

static char *escaped_dup(const char *s, bool quote)
{
    strbuf b;
    sb_init(&b, 0);
    sb_append(&b, "", 0); /* allocates even for an empty text */
    metric_escape(&b, s, quote);
    if (!sb_ok(&b)) {
        sb_free(&b);
        return NULL;
    }
    return sb_detach(&b, NULL);
}

/* ---- registry ---- */

struct metric_registry *metric_registry_new(void)
{
    struct metric_registry *r = calloc(1, sizeof *r);
    if (r)
        pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void free_bound(struct metric_bound_rt *b)
{
    if (!b)
        return;
    free(b->fallback);
    for (size_t i = 0; i < b->n_allowed; i++)
        free(b->allowed[i]);
    for (size_t i = 0; i < b->n_seen; i++)
        free(b->seen[i]);
    free(b->allowed);
    free(b->seen);
    free(b);
}

static void free_family(struct metric_family *f)
{
    for (size_t i = 0; i < f->n_series; i++) {
        free(f->series[i]->ex);
        free(f->series[i]->cb);
        free(f->series[i]->hist);
        free(f->series[i]);
    }
    free(f->series);
    free(f->hash);
    for (size_t i = 0; i < f->n_labels; i++) {
        free(f->label_names[i]);
        free_bound(f->bound[i]);
    }
    if (f->le)
        for (size_t i = 0; i <= f->n_bounds; i++)
            free(f->le[i]);
    free(f->le);
    free(f->bounds);
    free(f->name);
    free(f->om_name);
    free(f->help_text);
    free(f->help_om);
    free(f);
}

void metric_registry_free(struct metric_registry *r)
{
    if (!r)
        return;
    for (struct metric_family *f = r->first, *next; f; f = next) {
        next = f->next;
        free_family(f);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int metric_registry_on_collect(struct metric_registry *r, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&r->lock);
    int rc = -1;
    if (r->n_collect < METRIC_MAX_COLLECTORS) {
        r->collect[r->n_collect].fn = fn;
        r->collect[r->n_collect].arg = arg;
        r->n_collect++;
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (err)                                                                                   \
            snprintf(err, errlen, __VA_ARGS__);                                                    \
        goto fail;                                                                                 \
    } while (0)

static struct metric_bound_rt *make_bound(const struct metric_label_bound *lb)
{
    struct metric_bound_rt *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->max_values = lb->max_values;
    b->fallback = strdup(lb->fallback);
    b->allowed = calloc(lb->n_allowed ? lb->n_allowed : 1, sizeof *b->allowed);
    if (!b->fallback || !b->allowed)
        goto fail;
    for (; b->n_allowed < lb->n_allowed; b->n_allowed++)
        if (!lb->allowed[b->n_allowed] ||
            !(b->allowed[b->n_allowed] = strdup(lb->allowed[b->n_allowed])))
            goto fail;
    return b;
fail:
    free_bound(b);
    return NULL;
}

static int setup_histogram(struct metric_family *f, const struct metric_family_opts *o, char *err,
                           size_t errlen)
{
    if (o->n_buckets == 0 || o->n_buckets > METRIC_MAX_BUCKETS || !o->buckets)
        FAIL("%s: a histogram needs 1..%d buckets", o->name, METRIC_MAX_BUCKETS);
    for (size_t i = 0; i < o->n_buckets; i++)
        if (!isfinite(o->buckets[i]) || (i && o->buckets[i] <= o->buckets[i - 1]))
            FAIL("%s: buckets must be finite and strictly increasing", o->name);
    size_t n = o->n_buckets;
    f->bounds = malloc(n * sizeof *f->bounds);
    f->le = calloc(n + 1, sizeof *f->le);
    if (!f->bounds || !f->le)
        FAIL("out of memory");
    memcpy(f->bounds, o->buckets, n * sizeof *f->bounds);
    f->n_bounds = (uint32_t)n;
    for (size_t i = 0; i <= n; i++) {
        char tmp[METRIC_DOUBLE_MAX];
        if (i < n)
            metric_format_double(f->bounds[i], tmp);
        else
            strcpy(tmp, "+Inf");
        if (!(f->le[i] = strdup(tmp)))
            FAIL("out of memory");
    }
    return 0;
fail:
    return -1;
}

struct metric_family *metric_registry_add(struct metric_registry *r,
                                          const struct metric_family_opts *o, char *err,
                                          size_t errlen)
{
    struct metric_family *f = NULL;
    if (!o || !valid_name(o->name, true))
        FAIL("invalid metric name");
    if (o->type == METRIC_COUNTER && !ends_with(o->name, "_total"))
        FAIL("%s: counter names must end in _total", o->name);
    if (o->n_labels > METRIC_MAX_LABELS || (o->n_labels && !o->label_names))
        FAIL("%s: at most %d labels", o->name, METRIC_MAX_LABELS);
    if (!(f = calloc(1, sizeof *f)))
        FAIL("out of memory");
    f->reg = r;
    f->type = o->type;
    f->exemplars = o->exemplars && o->type != METRIC_GAUGE;
    for (size_t i = 0; i < o->n_labels; i++) {
        const char *ln = o->label_names[i];
        if (!valid_name(ln, false) || strncmp(ln, "__", 2) == 0)
            FAIL("%s: invalid label name", o->name);
        if (o->type == METRIC_HISTOGRAM && strcmp(ln, "le") == 0)
            FAIL("%s: histograms may not have a label named le", o->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ln, o->label_names[j]) == 0)
                FAIL("%s: duplicate label %s", o->name, ln);
        if (!(f->label_names[i] = strdup(ln)))
            FAIL("out of memory");
        f->n_labels = i + 1;
    }
    for (size_t k = 0; k < o->n_bounds; k++) {
        const struct metric_label_bound *lb = &o->bounds[k];
        size_t i = 0;
        while (i < f->n_labels && lb->label && strcmp(lb->label, f->label_names[i]) != 0)
            i++;
        if (i == f->n_labels || !lb->fallback)
            FAIL("%s: bound on unknown label or without fallback", o->name);
        if (!(f->bound[i] = make_bound(lb)))
            FAIL("out of memory");
    }
    if (o->type == METRIC_HISTOGRAM && setup_histogram(f, o, err, errlen) != 0)
        goto fail;
    f->name = strdup(o->name);
    f->om_name = strndup(o->name, strlen(o->name) - (o->type == METRIC_COUNTER ? 6 : 0));
    f->help_text = escaped_dup(o->help ? o->help : "", false);
    f->help_om = escaped_dup(o->help ? o->help : "", true);
    if (!f->name || !f->om_name || !f->help_text || !f->help_om)
        FAIL("out of memory");
    f->unit = ends_with(f->om_name, "_seconds") ? "seconds"
              : ends_with(f->om_name, "_bytes") ? "bytes"
                                                : NULL;

    pthread_mutex_lock(&r->lock);
    for (struct metric_family *g = r->first; g; g = g->next) {
        if (strcmp(g->om_name, f->om_name) == 0 || strcmp(g->name, f->name) == 0) {
            pthread_mutex_unlock(&r->lock);
            FAIL("%s: already registered", o->name);
        }
    }
    if (r->last)
        r->last->next = f;
    else
        r->first = f;
    r->last = f;
    pthread_mutex_unlock(&r->lock);
    return f;
fail:
    if (f)
        free_family(f);
    return NULL;
}

/* ---- series lookup (cold path, registry lock held) ---- */

/* The value to store for label i: itself, or the bound's fallback. Records newly seen values. */
static const char *bounded_value(struct metric_bound_rt *b, const char *v)
{
    if (!b)
        return v;
    if (strcmp(v, b->fallback) == 0)
        return v;
    if (b->n_allowed) {
        size_t i = 0;
        while (i < b->n_allowed && strcmp(b->allowed[i], v) != 0)
            i++;
        if (i == b->n_allowed)
            return b->fallback;
    }
    if (!b->max_values)
        return v;
    for (size_t i = 0; i < b->n_seen; i++)
        if (strcmp(b->seen[i], v) == 0)
            return v;
    if (b->n_seen >= b->max_values)
        return b->fallback;
    char **seen = realloc(b->seen, (b->n_seen + 1) * sizeof *seen);
    if (!seen)
        return b->fallback;
    b->seen = seen;
    if (!(seen[b->n_seen] = strdup(v)))
        return b->fallback;
    b->n_seen++;
    return v;
}

/* Eight bytes per multiply: label strings are tens of bytes and byte-wise FNV showed in lookups. */
static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    if (n)
        memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static int grow_index(struct metric_family *f)
{
    if (f->n_series < f->cap_series)
        return 0;
    size_t cap = f->cap_series ? f->cap_series * 2 : 4;
    struct metric **series = realloc(f->series, cap * sizeof *series);
    if (!series)
        return -1;
    f->series = series;
    f->cap_series = cap;
    struct metric **hash = calloc(cap * 2, sizeof *hash);
    if (!hash)
        return -1;
    for (size_t i = 0; i < f->n_series; i++) {
        struct metric *m = f->series[i];
        size_t h = hash_str(m->labels, m->labels_len) & (cap * 2 - 1);
        m->hash_next = hash[h];
        hash[h] = m;
    }
    free(f->hash);
    f->hash = hash;
    f->hash_cap = cap * 2;
    return 0;
}

static struct metric *new_series(struct metric_family *f, const char *labels, size_t len)
{
    if (len > UINT16_MAX || grow_index(f) != 0)
        return NULL;
    struct metric *m = calloc(1, sizeof *m + len + 1);
    if (!m)
        return NULL;
    m->fam = f;
    m->labels_len = (uint16_t)len;
    if (len)
        memcpy(m->labels, labels, len);
    size_t n_ex = f->type == METRIC_COUNTER ? 1 : f->n_bounds + 1;
    if (f->type == METRIC_HISTOGRAM) {
        m->hist = calloc(1, sizeof *m->hist + 2 * (f->n_bounds + 3) * sizeof m->hist->half[0]);
        if (!m->hist)
            goto fail;
        m->hist->bounds = f->bounds;
        m->hist->n_bounds = f->n_bounds;
    }
    if (f->exemplars && !(m->ex = calloc(n_ex, sizeof *m->ex)))
        goto fail;
    size_t h = hash_str(labels, len) & (f->hash_cap - 1);
    m->hash_next = f->hash[h];
    f->hash[h] = m;
    f->series[f->n_series++] = m;
    return m;
fail:
    free(m->hist);
    free(m);
    return NULL;
}

static struct metric *get_locked(struct metric_family *f, const char *const *values)
{
    strbuf b;
    sb_init(&b, 0);
    struct metric *m = NULL;
    for (size_t i = 0; i < f->n_labels; i++) {
        if (!values || !values[i])
            goto out;
        if (i)
            sb_putc(&b, ',');
        sb_puts(&b, f->label_names[i]);
        sb_append(&b, "=\"", 2);
        metric_escape(&b, bounded_value(f->bound[i], values[i]), true);
        sb_putc(&b, '"');
    }
    if (!sb_ok(&b))
        goto out;
    if (f->hash_cap) {
        size_t h = hash_str(b.data, b.len) & (f->hash_cap - 1);
        for (m = f->hash[h]; m; m = m->hash_next)
            if (m->labels_len == b.len && (!b.len || memcmp(m->labels, b.data, b.len) == 0))
                goto out;
    }
    m = new_series(f, b.data, b.len);
out:
    sb_free(&b);
    return m;
}

struct metric *metric_family_get(struct metric_family *f, const char *const *values)
{
    pthread_mutex_lock(&f->reg->lock);
    struct metric *m = get_locked(f, values);
    pthread_mutex_unlock(&f->reg->lock);
    return m;
}

struct metric *metric_family_replace(struct metric_family *f, const char *const *values,
                                     double value)
{
    pthread_mutex_lock(&f->reg->lock);
    struct metric *m = get_locked(f, values);
    if (m) {
        for (size_t i = 0; i < f->n_series; i++)
            f->series[i]->hidden = true;
        m->hidden = false;
        metric_gauge_set(m, value);
    }
    pthread_mutex_unlock(&f->reg->lock);
    return m;
}

int metric_set_callback(struct metric *m, metric_callback_fn fn, void *arg)
{
    if (!m || !fn || m->fam->type == METRIC_HISTOGRAM)
        return -1;
    struct metric_callback *cb = malloc(sizeof *cb);
    if (!cb)
        return -1;
    cb->fn = fn;
    cb->arg = arg;
    pthread_mutex_lock(&m->fam->reg->lock);
    free(m->cb);
    m->cb = cb;
    pthread_mutex_unlock(&m->fam->reg->lock);
    return 0;
}

/* ---- exemplars ---- */

static bool valid_trace_id(const char *s)
{
    for (int i = 0; i < METRIC_TRACE_ID_LEN; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return s[METRIC_TRACE_ID_LEN] == '\0';
}

void metric_exemplar_record(struct metric_exemplar *e, const char *trace_id, double value)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    metric_exemplar_record_at(e, trace_id, value, (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

void metric_exemplar_record_at(struct metric_exemplar *e, const char *trace_id, double value,
                               double ts)
{
    if (!valid_trace_id(trace_id))
        return;
    /* Someone else holds the slot: drop this exemplar rather than wait. */
    if (atomic_exchange_explicit(&e->busy, true, memory_order_acquire))
        return;
    memcpy(e->id, trace_id, METRIC_TRACE_ID_LEN);
    e->value = value;
    e->ts = ts;
    e->set = true;
    atomic_store_explicit(&e->busy, false, memory_order_release);
}

bool metric_exemplar_read(const struct metric_exemplar *e, char id[METRIC_TRACE_ID_LEN + 1],
                          double *value, double *ts)
{
    struct metric_exemplar *w = (struct metric_exemplar *)e;
    for (int tries = 0; tries < 100; tries++) {
        if (atomic_exchange_explicit(&w->busy, true, memory_order_acquire)) {
            sched_yield(); /* a writer holds it for a few stores, unless it was preempted */
            continue;
        }
        bool set = w->set;
        if (set) {
            memcpy(id, w->id, METRIC_TRACE_ID_LEN);
            id[METRIC_TRACE_ID_LEN] = '\0';
            *value = w->value;
            *ts = w->ts;
        }
        atomic_store_explicit(&w->busy, false, memory_order_release);
        return set;
    }
    return false;
}
