#include "engine/kronos/kronos_engine.h"

#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/kronos/batch.h"
#include "engine/kronos/forecast.h"
#include "engine/kronos/kronos_jobs.h"
#include "engine/kronos/weights.h"
#include "util/utf8_sanitize.h"

typedef struct kronos_impl {
    char *model_dir, *tokenizer_dir;
    double clip;
    int threads, max_rows;
    size_t budget;     /* what one batch holds at once (0: no bound) */
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

static kr_jobs *open_jobs(kronos_impl *k, int max_context)
{
    return kr_jobs_open(&k->tok, &k->model, max_context, k->clip, k->threads, k->max_rows,
                        k->budget);
}

/* A request's series run as one batch: every step of the model serves all of them. */
static int kronos_predict(engine *e, const engine_series *series, size_t n, engine_forecast *out,
                          engine_cancel *cancel, char *err, size_t errlen)
{
    kronos_impl *k = e->impl;
    if (!atomic_load_explicit(&k->loaded, memory_order_acquire)) {
        snprintf(err, errlen, "model not loaded");
        return ENGINE_ERROR;
    }
    kr_jobs *j = open_jobs(k, e->max_context);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return ENGINE_ERROR;
    }
    int rc = kr_jobs_add(j, series, n, out, cancel, out, err, errlen);
    while (rc == ENGINE_OK && !kr_jobs_take(j, &rc, err, errlen))
        kr_jobs_step(j);
    kr_jobs_close(j);
    return rc;
}

static engine_batch *kronos_batch_open(engine *e)
{
    kronos_impl *k = e->impl;
    if (!atomic_load_explicit(&k->loaded, memory_order_acquire))
        return NULL;
    return (engine_batch *)open_jobs(k, e->max_context);
}

static void kronos_batch_close(engine_batch *b)
{
    kr_jobs_close((kr_jobs *)b);
}

static int kronos_batch_add(engine_batch *b, const engine_series *series, size_t n,
                            engine_forecast *out, engine_cancel *cancel, void *tag, char *err,
                            size_t errlen)
{
    return kr_jobs_add((kr_jobs *)b, series, n, out, cancel, tag, err, errlen);
}

static int kronos_batch_step(engine_batch *b)
{
    return kr_jobs_step((kr_jobs *)b);
}

static void *kronos_batch_take(engine_batch *b, int *status, char *err, size_t errlen)
{
    return kr_jobs_take((kr_jobs *)b, status, err, errlen);
}

static int kronos_batch_jobs(const engine_batch *b)
{
    return kr_jobs_count((const kr_jobs *)b);
}

static const engine_batch_ops kronos_batch_ops = {kronos_batch_open, kronos_batch_close,
                                                  kronos_batch_add,  kronos_batch_step,
                                                  kronos_batch_take, kronos_batch_jobs};

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

/* What a batch may hold at once under lim: the costliest series the limits allow (its working
 * set and calendar rows) and the outputs of a full batch request. */
static size_t batch_budget(const kr_shape *sh, int max_context, const engine_limits *lim, size_t P)
{
    size_t T = lim->max_candles, S = (size_t)lim->max_sample_count;
    size_t series =
        kr_item_bytes_max(sh, max_context, (int)T, (int)P, (int)S) + sizeof(kr_stamp) * (T + P);
    size_t outputs = sizeof(float) * P * ENGINE_FEATURES * (S + 1); /* mean + samples */
    return series + lim->max_batch_items * outputs;
}

/* Longer forecasts are refused (422) before they reach the engine. */
static size_t longest_forecast(const engine *e, const engine_limits *lim)
{
    return lim->max_pred_len < (size_t)e->max_pred_len ? lim->max_pred_len
                                                       : (size_t)e->max_pred_len;
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
    weights += kr_packed_bytes(&sh); /* the linears again as panels, with the AVX512 set */
    size_t P = longest_forecast(e, lim);
    /* one batch per worker: its pass buffers, and the forecasts and outputs it holds */
    out->per_job = kr_batch_bytes_many(&sh, e->max_context, (int)lim->max_candles, (int)P,
                                       lim->max_sample_count, k->max_rows, k->threads) +
                   batch_budget(&sh, e->max_context, lim, P);
    out->weights = weights;
    return 0;
}

int kronos_engine_set_batching(engine *e, int max_batch_rows, const engine_limits *lim, char *err,
                               size_t errlen)
{
    kronos_impl *k = e->impl;
    kr_shape sh;
    k->max_rows = max_batch_rows > 0 ? max_batch_rows : KR_BATCH_ROWS_DEFAULT;
    if (!lim) {
        k->budget = 0;
        return 0;
    }
    if (kr_shape_read(k->model_dir, k->tokenizer_dir, &sh, err, errlen) != 0)
        return -1;
    k->budget = batch_budget(&sh, e->max_context, lim, longest_forecast(e, lim));
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
    k->max_rows = KR_BATCH_ROWS_DEFAULT;
    e->ops = &kronos_ops;
    e->batch = &kronos_batch_ops;
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
