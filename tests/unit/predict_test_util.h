/* Helpers shared by the test_predict_*.c files (header-only: each test is its own binary). */
#ifndef KRONOS_PREDICT_TEST_UTIL_H
#define KRONOS_PREDICT_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/predict_request.h"

/* SPEC §1/§2 default limits and sampling defaults, as kronosd starts without configuration. */
static inline predict_limits predict_limits_default(void)
{
    return (predict_limits){
        .max_candles = 2048, .max_pred_len = 512, .max_batch_items = 64, .max_sample_count = 16};
}

static inline predict_defaults predict_defaults_default(void)
{
    return (predict_defaults){.temperature = 1.0, .top_k = 0, .top_p = 0.9, .sample_count = 1};
}

#define BASE_SINGLE                                                                                \
    "{\"series_id\":\"BTC-USDT\","                                                                 \
    "\"candles\":[{\"open\":10,\"high\":12,\"low\":9,\"close\":11,\"volume\":100,\"amount\":1000}" \
    ","                                                                                            \
    "{\"open\":11,\"high\":13,\"low\":10.5,\"close\":12,\"volume\":200,\"amount\":2400},"          \
    "{\"open\":12,\"high\":12.5,\"low\":11,\"close\":11.5,\"volume\":50,\"amount\":600}],"         \
    "\"timestamps\":[\"2025-10-14T10:00:00Z\",\"2025-10-14T10:05:00Z\",\"2025-10-14T10:10:00Z\"]," \
    "\"prediction_timestamps\":[\"2025-10-14T10:15:00Z\",\"2025-10-14T10:20:00Z\"],"               \
    "\"overrides\":{}}"

/* Sets (or, with value_text == NULL, deletes) the member at a '/'-separated path such as
 * "candles/1/high" or "overrides/top_p"; array indexes are numbers. Returns 0 on success. */
static inline int json_set_path(json_t *root, const char *path, const char *value_text)
{
    char buf[256];
    strncpy(buf, path, sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    json_t *cur = root;
    char *save = NULL;
    char *tok = strtok_r(buf, "/", &save);
    while (tok) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            json_t *v = NULL;
            if (value_text) {
                json_error_t e;
                v = json_loads(value_text, JSON_DECODE_ANY, &e);
                if (!v)
                    return -1;
            }
            if (json_is_array(cur)) {
                size_t i = strtoul(tok, NULL, 10);
                return v ? json_array_set_new(cur, i, v) : json_array_remove(cur, i);
            }
            return v ? json_object_set_new(cur, tok, v) : json_object_del(cur, tok);
        }
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10))
                                 : json_object_get(cur, tok);
        if (!cur)
            return -1;
        tok = next;
    }
    return -1;
}

/* base with one change, dumped back to text (caller frees). */
static inline char *mutated(const char *base, const char *path, const char *value_text)
{
    json_error_t e;
    json_t *root = json_loads(base, 0, &e);
    if (!root || (path && json_set_path(root, path, value_text) != 0)) {
        json_decref(root);
        return NULL;
    }
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static inline int parse_text(const char *body, bool batch, predict_request *req, predict_error *err)
{
    predict_limits lim = predict_limits_default();
    predict_defaults def = predict_defaults_default();
    predict_error_init(err);
    return predict_parse(body, strlen(body), batch, &lim, &def, req, err);
}

static inline const char *first_field(const predict_error *err)
{
    return json_string_value(json_object_get(json_array_get(err->details, 0), "field"));
}

static inline const char *first_constraint(const predict_error *err)
{
    return json_string_value(json_object_get(json_array_get(err->details, 0), "constraint"));
}

#endif
