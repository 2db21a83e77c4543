/* A fake engine for the scheduler tests. Per-job behaviour is read from the first series:
 *   sampling.seed      milliseconds of work, done in 1 ms slices that poll the cancel token
 *   sampling.top_k     milliseconds of work done first while ignoring the token (stubborn);
 *                      FAKE_UNTIL_GATE: ignore it until the test opens f->gate
 *   sampling.top_p < 0 fail with "fake failure"
 *   x[0] (open)        job id (< FAKE_MAX_IDS) recorded in ran[] when predict starts
 * Each forecast is pred_len bars whose every value is the id. */
#ifndef TEST_SCHEDULER_FAKE_ENGINE_H
#define TEST_SCHEDULER_FAKE_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

#define FAKE_MAX_IDS 4096
#define FAKE_UNTIL_GATE (-1)

typedef struct fake_engine {
    engine base;
    atomic_int started;
    atomic_int finished;
    atomic_int saw_cancel;
    atomic_int gate;
    atomic_int ran[FAKE_MAX_IDS];
} fake_engine;

static inline double fake_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void fake_sleep_ms(double ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)((ms - 1000.0 * (time_t)(ms / 1000)) * 1e6)};
    nanosleep(&ts, NULL);
}

static int fake_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                        engine_cancel *cancel, char *err, size_t errlen)
{
    fake_engine *f = (fake_engine *)e;
    int id = (int)series[0].x[F_OPEN];
    if (id >= 0 && id < FAKE_MAX_IDS)
        atomic_fetch_add(&f->ran[id], 1);
    atomic_fetch_add(&f->started, 1);
    int rc = ENGINE_OK;
    if (series[0].sampling.top_k == FAKE_UNTIL_GATE)
        while (!atomic_load(&f->gate))
            fake_sleep_ms(1);
    else
        fake_sleep_ms((double)series[0].sampling.top_k);
    double until = fake_now() + (double)series[0].sampling.seed / 1000.0;
    while (fake_now() < until) {
        if (engine_is_cancelled(cancel)) {
            rc = ENGINE_CANCELLED;
            break;
        }
        fake_sleep_ms(1);
    }
    if (engine_is_cancelled(cancel)) {
        atomic_fetch_add(&f->saw_cancel, 1);
        rc = ENGINE_CANCELLED;
    }
    if (rc == ENGINE_OK && series[0].sampling.top_p < 0) {
        snprintf(err, errlen, "fake failure");
        rc = ENGINE_ERROR;
    }
    if (rc == ENGINE_OK) {
        for (size_t i = 0; i < n; i++) {
            size_t m = series[i].pred_len * ENGINE_FEATURES;
            out[i].pred_len = series[i].pred_len;
            out[i].sample_count = 1;
            out[i].mean = malloc(m * sizeof(float));
            out[i].samples = malloc(m * sizeof(float));
            for (size_t k = 0; k < m; k++)
                out[i].mean[k] = out[i].samples[k] = (float)id;
        }
    }
    atomic_fetch_add(&f->finished, 1);
    return rc;
}

static void fake_destroy(engine *e)
{
    free(e);
}

static const engine_ops fake_ops = {.load = NULL, .predict = fake_predict, .destroy = fake_destroy};

static inline fake_engine *fake_engine_new(void)
{
    fake_engine *f = calloc(1, sizeof *f);
    f->base.ops = &fake_ops;
    f->base.name = "fake";
    return f;
}

/* One series of 2 rows whose behaviour is described above. */
typedef struct fake_input {
    float x[2 * ENGINE_FEATURES];
    engine_series series;
} fake_input;

static inline void fake_input_init(fake_input *in, int id, int work_ms, int stubborn_ms, bool fail)
{
    memset(in, 0, sizeof *in);
    for (int k = 0; k < 2 * ENGINE_FEATURES; k++)
        in->x[k] = (float)id;
    in->series.rows = 2;
    in->series.x = in->x;
    in->series.pred_len = 3;
    in->series.sampling.seed = (uint64_t)work_ms;
    in->series.sampling.top_k = stubborn_ms;
    in->series.sampling.top_p = fail ? -1 : 0.9;
    in->series.sampling.sample_count = 1;
    in->series.sampling.temperature = 1;
}

#endif
