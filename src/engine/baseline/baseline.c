#include "engine/baseline/baseline.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/baseline/model.h"

static int baseline_load(engine *e, char *err, size_t errlen)
{
    (void)e;
    (void)err;
    (void)errlen;
    return ENGINE_OK; /* nothing to load */
}

/* Mean over samples; the mean bar is re-made consistent since float sums can be off by an ulp. */
static void mean_of_samples(const float *samples, int sample_count, size_t pred_len, float *mean)
{
    size_t per = pred_len * ENGINE_FEATURES;
    for (size_t k = 0; k < per; k++) {
        double acc = 0;
        for (int s = 0; s < sample_count; s++)
            acc += samples[(size_t)s * per + k];
        mean[k] = (float)(acc / sample_count);
    }
    for (size_t t = 0; t < pred_len; t++) {
        float *b = mean + t * ENGINE_FEATURES;
        float hi = b[F_OPEN] > b[F_CLOSE] ? b[F_OPEN] : b[F_CLOSE];
        float lo = b[F_OPEN] < b[F_CLOSE] ? b[F_OPEN] : b[F_CLOSE];
        if (b[F_HIGH] < hi)
            b[F_HIGH] = hi;
        if (b[F_LOW] > lo)
            b[F_LOW] = lo;
    }
}

static int forecast_one(const engine *e, const engine_series *in, engine_forecast *out,
                        engine_cancel *cancel, char *err, size_t errlen)
{
    if (!in->x || in->rows == 0 || in->pred_len == 0) {
        snprintf(err, errlen, "empty series");
        return ENGINE_ERROR;
    }
    size_t window = e->max_context > 0 ? (size_t)e->max_context : 0;
    baseline_params p;
    if (baseline_fit(in->x, in->rows, window, &p, err, errlen))
        return ENGINE_ERROR;

    int samples = in->sampling.sample_count >= 1 ? in->sampling.sample_count : 1;
    double temp = in->sampling.temperature;
    if (!(temp > 0) || !isfinite(temp))
        temp = 1.0;
    size_t per = in->pred_len * ENGINE_FEATURES;
    if (in->pred_len > SIZE_MAX / ENGINE_FEATURES / sizeof(float) / (size_t)samples) {
        snprintf(err, errlen, "forecast too large");
        return ENGINE_ERROR;
    }
    out->pred_len = in->pred_len;
    out->sample_count = samples;
    out->mean = malloc(per * sizeof(float));
    out->samples = malloc(per * (size_t)samples * sizeof(float));
    if (!out->mean || !out->samples) {
        engine_forecast_free(out);
        snprintf(err, errlen, "out of memory");
        return ENGINE_ERROR;
    }

    rng rng;
    rng_seed(&rng, in->sampling.seed);
    for (int s = 0; s < samples; s++) {
        if (engine_is_cancelled(cancel)) {
            engine_forecast_free(out);
            return ENGINE_CANCELLED;
        }
        baseline_simulate(&p, temp, in->pred_len, &rng, out->samples + (size_t)s * per);
    }
    mean_of_samples(out->samples, samples, in->pred_len, out->mean);
    return ENGINE_OK;
}

static int baseline_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                            engine_cancel *cancel, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        memset(&out[i], 0, sizeof out[i]);
    for (size_t i = 0; i < n; i++) {
        int rc = engine_is_cancelled(cancel)
                     ? ENGINE_CANCELLED
                     : forecast_one(e, &series[i], &out[i], cancel, err, errlen);
        if (rc != ENGINE_OK) {
            for (size_t k = 0; k < n; k++)
                engine_forecast_free(&out[k]);
            return rc;
        }
    }
    return ENGINE_OK;
}

static void baseline_destroy(engine *e)
{
    free(e);
}

/* Fitting takes a handful of doubles; a job holds the samples and means of a full batch. */
static int baseline_memory(const engine *e, const engine_limits *lim, engine_memory *out, char *err,
                           size_t errlen)
{
    (void)e;
    (void)err;
    (void)errlen;
    uint64_t item =
        sizeof(float) * lim->max_pred_len * ENGINE_FEATURES * ((uint64_t)lim->max_sample_count + 1);
    out->per_job = lim->max_batch_items * item;
    out->weights = 0;
    return 0;
}

static const engine_ops baseline_ops = {
    .load = baseline_load,
    .predict = baseline_predict,
    .destroy = baseline_destroy,
    .memory = baseline_memory,
};

engine *baseline_engine_create(void)
{
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ops = &baseline_ops;
    e->name = "baseline";
    snprintf(e->model_version, sizeof e->model_version, "%s", BASELINE_MODEL_VERSION);
    snprintf(e->tokenizer_version, sizeof e->tokenizer_version, "none");
    e->max_context = BASELINE_DEFAULT_WINDOW;
    e->price_min = BASELINE_PRICE_MIN;
    e->price_max = BASELINE_PRICE_MAX;
    e->quantity_max = FLT_MAX;
    return e;
}
