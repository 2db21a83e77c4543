#ifndef KRONOS_OBS_METRICS_INTERNAL_H
#define KRONOS_OBS_METRICS_INTERNAL_H

/* Registry and family internals shared by metrics.c and exposition.c only. */

#include <pthread.h>
#include <stdbool.h>

#include "obs/metrics.h"

struct metric_callback {
    metric_callback_fn fn;
    void *arg;
};

struct metric_bound_rt {
    char *fallback;
    char **allowed;
    size_t n_allowed;
    size_t max_values;
    char **seen;
    size_t n_seen;
};

struct metric_family {
    struct metric_registry *reg;
    enum metric_type type;
    char *name;       /* as registered */
    char *om_name;    /* OpenMetrics family name: counters without _total */
    const char *unit; /* "seconds", "bytes" or NULL */
    char *help_text;  /* HELP escaped for text 0.0.4 */
    char *help_om;    /* HELP escaped for OpenMetrics */
    size_t n_labels;
    char *label_names[METRIC_MAX_LABELS];
    struct metric_bound_rt *bound[METRIC_MAX_LABELS];
    double *bounds; /* histogram upper bounds */
    uint32_t n_bounds;
    char **le; /* rendered upper bounds, "+Inf" last */
    bool exemplars;
    struct metric **hash;
    size_t hash_cap;
    struct metric **series;
    size_t n_series, cap_series;
    struct metric_family *next;
};

#define METRIC_MAX_COLLECTORS 8

struct metric_registry {
    pthread_mutex_t lock;
    struct metric_family *first, *last;
    struct {
        void (*fn)(void *);
        void *arg;
    } collect[METRIC_MAX_COLLECTORS];
    size_t n_collect;
};

/* Copies an exemplar; false if never written or kept busy by writers. */
bool metric_exemplar_read(const struct metric_exemplar *e, char id[METRIC_TRACE_ID_LEN + 1],
                          double *value, double *ts);

#endif
