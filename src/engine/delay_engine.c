#ifdef KRONOS_TEST_HOOKS

#include "engine/delay_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct delay_impl {
    engine *inner;
    int delay_ms;
    int load_delay_ms;
} delay_impl;

static int delay_load(engine *e, char *err, size_t errlen)
{
    delay_impl *d = e->impl;
    struct timespec ts = {d->load_delay_ms / 1000, (d->load_delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    /* The identity fields were copied by delay_engine_wrap(): HTTP threads read them while this
     * load runs, so writing them here would race. */
    return d->inner->ops->load(d->inner, err, errlen);
}

static int delay_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                         engine_cancel *cancel, char *err, size_t errlen)
{
    delay_impl *d = e->impl;
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < d->delay_ms; i++) {
        if (engine_is_cancelled(cancel))
            return ENGINE_CANCELLED;
        nanosleep(&ms, NULL);
    }
    return d->inner->ops->predict(d->inner, series, n, out, cancel, err, errlen);
}

static void delay_destroy(engine *e)
{
    delay_impl *d = e->impl;
    d->inner->ops->destroy(d->inner);
    free(d);
    free(e);
}

static int delay_memory(const engine *e, const engine_limits *lim, engine_memory *out, char *err,
                        size_t errlen)
{
    const delay_impl *d = e->impl;
    if (!d->inner->ops->memory) {
        snprintf(err, errlen, "the wrapped engine gives no memory figure");
        return -1;
    }
    return d->inner->ops->memory(d->inner, lim, out, err, errlen);
}

static const engine_ops delay_ops = {delay_load, delay_predict, delay_destroy, delay_memory};

engine *delay_engine_wrap(engine *inner, int delay_ms, int load_delay_ms)
{
    engine *e = calloc(1, sizeof(*e));
    delay_impl *d = calloc(1, sizeof(*d));
    if (!e || !d || !inner) {
        free(e);
        free(d);
        return inner;
    }
    d->inner = inner;
    d->delay_ms = delay_ms;
    d->load_delay_ms = load_delay_ms;
    *e = *inner;
    e->ops = &delay_ops;
    e->batch = NULL; /* the delay applies to predict: no continuous batching through the wrapper */
    e->impl = d;
    return e;
}

#else
typedef int kronos_delay_engine_disabled;
#endif
