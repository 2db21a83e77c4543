#include "engine/kronos/kronos_engine.h"

#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/kronos/forecast.h"
#include "engine/kronos/weights.h"
#include "util/utf8_sanitize.h"

typedef struct kronos_impl {
    char *model_dir, *tokenizer_dir;
    double clip;
    int threads;
    atomic_int loaded; /* set once load has finished; predict may race with it */
    kr_model model;
    kr_tokenizer tok;
} kronos_impl;

/* The folder's name, after following symlinks: <model>/tokenizer may link to the tokenizer's own
 * folder (Kronos-Tokenizer-base), and that name is the one answers should carry. Folder names
 * are bytes, not text: the name is made valid UTF-8 here, once, for every JSON answer, log line
 * and metric label that carries it. */
static void basename_into(char *dst, size_t n, const char *given)
{
    char *resolved = realpath(given, NULL);
    const char *path = resolved ? resolved : given;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t b = len;
    while (b > 0 && path[b - 1] != '/')
        b--;
    utf8_sanitize(dst, n, path + b, len - b);
    free(resolved);
}

static int kronos_load(engine *e, char *err, size_t errlen)
{
    kronos_impl *k = e->impl;
    if (atomic_load_explicit(&k->loaded, memory_order_acquire))
        return ENGINE_OK;
    if (kr_tokenizer_load(&k->tok, k->tokenizer_dir, err, errlen) != 0)
        return ENGINE_ERROR;
    if (kr_model_load(&k->model, k->model_dir, err, errlen) != 0) {
        kr_tokenizer_free(&k->tok);
        return ENGINE_ERROR;
    }
    if (k->tok.s1_bits != k->model.s1_bits || k->tok.s2_bits != k->model.s2_bits) {
        snprintf(err, errlen, "tokenizer bits (%d,%d) do not match the model's (%d,%d)",
                 k->tok.s1_bits, k->tok.s2_bits, k->model.s1_bits, k->model.s2_bits);
        kr_model_free(&k->model);
        kr_tokenizer_free(&k->tok);
        return ENGINE_ERROR;
    }
    /* Forecasts fan out over their own pools; BLAS runs inside those threads single-threaded. */
    openblas_set_num_threads(1);
    atomic_store_explicit(&k->loaded, 1, memory_order_release);
    return ENGINE_OK;
}

static void to_stamp(const engine_time *t, kr_stamp *s)
{
    s->f[KR_TIME_MINUTE] = t->minute;
    s->f[KR_TIME_HOUR] = t->hour;
    s->f[KR_TIME_WEEKDAY] = t->weekday;
    s->f[KR_TIME_DAY] = t->day;
    s->f[KR_TIME_MONTH] = t->month;
}

static int predict_one(kronos_impl *k, int max_context, const engine_series *se,
                       engine_forecast *out, engine_cancel *cancel, char *err, size_t errlen)
{
    if (se->rows < 1 || se->pred_len < 1 || se->rows > (1u << 20) || se->pred_len > (1u << 20) ||
        se->sampling.sample_count < 1 || se->sampling.sample_count > 4096) {
        snprintf(err, errlen, "invalid series dimensions");
        return ENGINE_ERROR;
    }
    int T = (int)se->rows, P = (int)se->pred_len, S = se->sampling.sample_count;
    kr_stamp *xs = malloc(sizeof(kr_stamp) * (size_t)T), *ys = malloc(sizeof(kr_stamp) * (size_t)P);
    float *mean = malloc(sizeof(float) * (size_t)P * ENGINE_FEATURES);
    float *samples = malloc(sizeof(float) * (size_t)S * P * ENGINE_FEATURES);
    int rc = ENGINE_ERROR;
    if (!xs || !ys || !mean || !samples) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < T; i++)
        to_stamp(&se->x_time[i], &xs[i]);
    for (int i = 0; i < P; i++)
        to_stamp(&se->y_time[i], &ys[i]);
    kr_request q = {.T = T,
                    .x = se->x,
                    .x_stamp = xs,
                    .P = P,
                    .y_stamp = ys,
                    .temperature = se->sampling.temperature,
                    .top_k = se->sampling.top_k,
                    .top_p = se->sampling.top_p,
                    .S = S,
                    .seed = se->sampling.seed,
                    .threads = k->threads,
                    .phases = se->phases};
    kr_result r = {.mean = mean, .samples = samples};
    rc = kr_forecast(&k->tok, &k->model, max_context, k->clip, &q, &r, cancel, NULL, NULL, err,
                     errlen);
    if (rc != ENGINE_OK)
        goto fail;
    free(xs);
    free(ys);
    out->pred_len = se->pred_len;
    out->sample_count = S;
    out->mean = mean;
    out->samples = samples;
    return ENGINE_OK;
fail:
    free(xs);
    free(ys);
    free(mean);
    free(samples);
    return rc;
}

static int kronos_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                          engine_cancel *cancel, char *err, size_t errlen)
{
    kronos_impl *k = e->impl;
    if (!atomic_load_explicit(&k->loaded, memory_order_acquire)) {
        snprintf(err, errlen, "model not loaded");
        return ENGINE_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        int rc = predict_one(k, e->max_context, &series[i], &out[i], cancel, err, errlen);
        if (rc != ENGINE_OK) {
            for (size_t j = 0; j < i; j++)
                engine_forecast_free(&out[j]);
            return rc;
        }
    }
    return ENGINE_OK;
}

static void kronos_destroy(engine *e)
{
    if (!e)
        return;
    kronos_impl *k = e->impl;
    if (k) {
        kr_model_free(&k->model);
        kr_tokenizer_free(&k->tok);
        free(k->model_dir);
        free(k->tokenizer_dir);
        free(k);
    }
    free(e);
}

static int kronos_memory(const engine *e, const engine_limits *lim, engine_memory *out, char *err,
                         size_t errlen)
{
    const kronos_impl *k = e->impl;
    kr_shape sh;
    if (kr_shape_read(k->model_dir, k->tokenizer_dir, &sh, err, errlen) != 0)
        return -1;
    uint64_t weights = 0;
    const char *dirs[2] = {k->model_dir, k->tokenizer_dir};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/model.safetensors", dirs[i]);
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        weights += (uint64_t)st.st_size;
    }
    /* Longer forecasts are refused (422) before they reach the engine. */
    size_t P =
        lim->max_pred_len < (size_t)e->max_pred_len ? lim->max_pred_len : (size_t)e->max_pred_len;
    size_t T = lim->max_candles, S = (size_t)lim->max_sample_count;
    uint64_t series =
        kr_forecast_bytes_max(&sh, e->max_context, (int)T, (int)P, (int)S, k->threads) +
        sizeof(kr_stamp) * (T + P); /* predict_one's calendar rows */
    uint64_t outputs = sizeof(float) * P * ENGINE_FEATURES * (S + 1); /* mean + samples */
    out->per_job = series + lim->max_batch_items * outputs;
    out->weights = weights;
    return 0;
}

static const engine_ops kronos_ops = {kronos_load, kronos_predict, kronos_destroy, kronos_memory};

engine *kronos_engine_create(const char *model_dir, const char *tokenizer_dir, int max_context,
                             double clip, int threads)
{
    if (!model_dir || !tokenizer_dir || max_context < 1)
        return NULL;
    engine *e = calloc(1, sizeof(*e));
    kronos_impl *k = calloc(1, sizeof(*k));
    if (!e || !k) {
        free(e);
        free(k);
        return NULL;
    }
    k->model_dir = strdup(model_dir);
    k->tokenizer_dir = strdup(tokenizer_dir);
    k->clip = clip > 0 ? clip : 5.0;
    k->threads = threads;
    if (!k->model_dir || !k->tokenizer_dir) {
        free(k->model_dir);
        free(k->tokenizer_dir);
        free(k);
        free(e);
        return NULL;
    }
    e->ops = &kronos_ops;
    e->name = "kronos";
    e->max_context = max_context;
    e->max_pred_len = max_context; /* the final decode yields at most max_context rows */
    /* Any float32 input: the statistics cannot overflow (forecast.c); a forecast beyond float32
     * comes back as inf and is refused then. */
    e->price_min = FLT_TRUE_MIN;
    e->price_max = FLT_MAX;
    e->quantity_max = FLT_MAX;
    e->impl = k;
    basename_into(e->model_version, sizeof(e->model_version), model_dir);
    basename_into(e->tokenizer_version, sizeof(e->tokenizer_version), tokenizer_dir);
    return e;
}
