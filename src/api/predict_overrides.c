#include "api/predict_item.h"
#include "api/predict_lax.h"
#include "util/edit_distance.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* overrides: sampling parameters over the server defaults, quantiles, seed. */

static uint64_t random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed =
            (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
    }
    return seed & (uint64_t)LLONG_MAX; /* non-negative, like a client-given seed */
}

/* An optional number override; returns true when given and valid. */
static bool number_override(const item_ctx *c, const json_t *ov, const char *name, double *out)
{
    const json_t *v = json_object_get(ov, name);
    const char *why;
    if (predict_absent(v))
        return false;
    if (!predict_lax_float(v, out, &why)) {
        predict_viol(c, predict_issue_type(why), v, "overrides.%s", name);
        return false;
    }
    return true;
}

/* Returns 1 given and an integer, 0 absent, -1 wrong type (reported). */
static int integer_override(const item_ctx *c, const json_t *ov, const char *name, long long *out)
{
    const json_t *v = json_object_get(ov, name);
    const char *why;
    if (predict_absent(v))
        return 0;
    if (!predict_lax_int(v, out, &why)) {
        predict_viol(c, predict_issue_type(why), v, "overrides.%s", name);
        return -1;
    }
    return 1;
}

/* The keys of PredictionOverrides. */
static const char *const KNOWN[] = {"pred_len",     "temperature", "top_k",    "top_p",
                                    "sample_count", "seed",        "quantiles"};
#define N_KNOWN (sizeof KNOWN / sizeof KNOWN[0])

/* Unknown keys stay ignored, as pydantic ignores them, but the answer names them so a misspelt
 * override ("sample_cnt") no longer does nothing silently. */
static void warn_unknown_keys(const json_t *ov, predict_item *it)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)ov, key, v)
    {
        size_t best = SIZE_MAX, k = 0;
        for (size_t i = 0; i < N_KNOWN; i++) {
            size_t d = strcmp(key, KNOWN[i]) == 0 ? 0 : edit_distance(key, KNOWN[i]);
            if (d < best)
                best = d, k = i;
        }
        if (best == 0)
            continue;
        char text[256];
        int keylen = (int)(strlen(key) > 64 ? 64 : strlen(key));
        if (best <= 3)
            snprintf(text, sizeof text,
                     "overrides.%.*s is not an override and was ignored; did you mean %s?", keylen,
                     key, KNOWN[k]);
        else
            snprintf(text, sizeof text,
                     "overrides.%.*s is not an override and was ignored (known: pred_len, "
                     "temperature, top_k, top_p, sample_count, seed, quantiles)",
                     keylen, key);
        if (!it->warnings)
            it->warnings = json_array();
        json_array_append_new(it->warnings, json_string(text));
    }
}

static void parse_quantiles(const item_ctx *c, const json_t *ov, int sample_count,
                            bool sample_count_ok, predict_item *it)
{
    const json_t *arr = json_object_get(ov, "quantiles");
    if (predict_absent(arr))
        return;
    if (!json_is_array(arr)) {
        predict_viol(c, predict_issue_type("list_type"), arr, "overrides.quantiles");
        return;
    }
    size_t n = json_array_size(arr);
    if (n > PREDICT_MAX_QUANTILES) {
        predict_viol(c, predict_issue_length(n, 0, PREDICT_MAX_QUANTILES, false), NULL,
                     "overrides.quantiles");
        return;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        double q;
        const char *why;
        if (!predict_lax_float(v, &q, &why)) {
            predict_viol(c, predict_issue_type(why), v, "overrides.quantiles[%zu]", i);
            ok = false;
            continue;
        }
        if (!(q > 0 && q < 1)) {
            predict_viol(c,
                         q > 0 ? predict_issue_bound("less_than", 1, "0 < q < 1")
                               : predict_issue_bound("greater_than", 0, "0 < q < 1"),
                         v, "overrides.quantiles[%zu]", i);
            ok = false;
            continue;
        }
        for (size_t j = 0; j < it->n_quantiles; j++)
            if (it->quantiles[j] == q) {
                predict_viol(c, predict_issue_value("unique"), v, "overrides.quantiles[%zu]", i);
                ok = false;
            }
        it->quantiles[it->n_quantiles++] = q;
    }
    if (n > 0 && sample_count_ok && sample_count < 2)
        predict_viol(c, predict_issue_value("needs sample_count >= 2"), NULL,
                     "overrides.quantiles");
    if (!ok)
        it->n_quantiles = 0;
}

void predict_parse_overrides(const item_ctx *c, const json_t *obj, size_t pred_len,
                             predict_item *it, engine_sampling *s)
{
    const predict_defaults *def = c->def;
    s->temperature = def->temperature;
    s->top_k = def->top_k;
    s->top_p = def->top_p;
    s->sample_count = def->sample_count;
    it->seed_random = true;

    const json_t *ov = json_object_get(obj, "overrides");
    bool sample_count_ok = true;
    if (predict_absent(ov)) {
        s->seed = random_seed();
        return;
    }
    if (!json_is_object(ov)) {
        predict_viol(c, predict_issue_model("PredictionOverrides"), ov, "overrides");
        return;
    }
    warn_unknown_keys(ov, it);
    long long iv;
    double dv;
    char constraint[64];

    if (integer_override(c, ov, "pred_len", &iv) > 0 && pred_len > 0 && iv != (long long)pred_len)
        predict_viol(c, predict_issue_value("== len(prediction_timestamps)"),
                     json_object_get(ov, "pred_len"), "overrides.pred_len");
    if (number_override(c, ov, "temperature", &dv)) {
        if (dv > 0)
            s->temperature = dv;
        else
            predict_viol(c, predict_issue_bound("greater_than", 0, NULL),
                         json_object_get(ov, "temperature"), "overrides.temperature");
    }
    int rc = integer_override(c, ov, "top_k", &iv);
    if (rc > 0 && iv >= 0 && iv <= INT_MAX)
        s->top_k = (int)iv;
    else if (rc > 0)
        predict_viol(c,
                     iv < 0 ? predict_issue_bound("greater_than_equal", 0, NULL)
                            : predict_issue_bound("less_than_equal", INT_MAX, NULL),
                     json_object_get(ov, "top_k"), "overrides.top_k");
    if (number_override(c, ov, "top_p", &dv)) {
        if (dv > 0 && dv <= 1)
            s->top_p = dv;
        else
            predict_viol(c,
                         dv > 0 ? predict_issue_bound("less_than_equal", 1, "0 < top_p <= 1")
                                : predict_issue_bound("greater_than", 0, "0 < top_p <= 1"),
                         json_object_get(ov, "top_p"), "overrides.top_p");
    }
    rc = integer_override(c, ov, "sample_count", &iv);
    if (rc > 0 && iv >= 1 && iv <= c->lim->max_sample_count) {
        s->sample_count = (int)iv;
    } else if (rc != 0) {
        sample_count_ok = false;
        if (rc > 0) {
            snprintf(constraint, sizeof constraint, "1 <= sample_count <= %d",
                     c->lim->max_sample_count);
            predict_viol(c,
                         iv < 1 ? predict_issue_bound("greater_than_equal", 1, constraint)
                                : predict_issue_bound("less_than_equal", c->lim->max_sample_count,
                                                      constraint),
                         json_object_get(ov, "sample_count"), "overrides.sample_count");
        }
    }
    rc = integer_override(c, ov, "seed", &iv);
    if (rc > 0 && iv >= 0) {
        s->seed = (uint64_t)iv;
        it->seed_random = false;
    } else if (rc > 0) {
        predict_viol(c, predict_issue_bound("greater_than_equal", 0, NULL),
                     json_object_get(ov, "seed"), "overrides.seed");
    }
    if (it->seed_random)
        s->seed = random_seed();
    parse_quantiles(c, ov, s->sample_count, sample_count_ok, it);
}
