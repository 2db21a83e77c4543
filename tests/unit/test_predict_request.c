#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "predict_test_util.h"

static void valid_single_fills_engine_series(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    assert_int_equal(parse_text(BASE_SINGLE, false, &req, &err), PREDICT_OK);
    assert_int_equal(err.status, 0);
    assert_false(req.batch);
    assert_int_equal(req.n, 1);
    assert_int_equal(req.total_rows, 3);
    assert_int_equal(req.total_pred_len, 2);
    const engine_series *s = &req.series[0];
    const predict_item *it = &req.items[0];
    assert_string_equal(it->series_id, "BTC-USDT");
    assert_int_equal(s->rows, 3);
    assert_int_equal(s->pred_len, 2);
    assert_ptr_equal(s->x, it->x);
    const float row1[ENGINE_FEATURES] = {11, 13, 10.5f, 12, 200, 2400};
    for (int f = 0; f < ENGINE_FEATURES; f++)
        assert_true(s->x[ENGINE_FEATURES + f] == row1[f]);
    assert_int_equal(s->x_time[1].minute, 5);
    assert_int_equal(s->x_time[1].hour, 10);
    assert_int_equal(s->x_time[1].weekday, 1);
    assert_int_equal(s->x_time[1].day, 14);
    assert_int_equal(s->x_time[1].month, 10);
    assert_int_equal(s->y_time[1].minute, 20);
    assert_string_equal(it->pred_timestamps[0], "2025-10-14T10:15:00Z");
    assert_string_equal(it->pred_timestamps[1], "2025-10-14T10:20:00Z");
    /* Server defaults. */
    assert_true(s->sampling.temperature == 1.0);
    assert_int_equal(s->sampling.top_k, 0);
    assert_true(s->sampling.top_p == 0.9);
    assert_int_equal(s->sampling.sample_count, 1);
    assert_true(it->seed_random);
    assert_true(s->sampling.seed <= (uint64_t)INT64_MAX);
    assert_int_equal(it->n_quantiles, 0);
    assert_true(it->volume_given);
    assert_true(it->amount_given);
    predict_request_free(&req);
    predict_error_clear(&err);
}

static void overrides_partial_and_null_take_defaults(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    char *body = mutated(BASE_SINGLE, "overrides",
                         "{\"temperature\":0.5,\"top_k\":null,\"top_p\":null,\"seed\":7,"
                         "\"sample_count\":4.0,\"quantiles\":[0.9,0.1],\"pred_len\":2}");
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_OK);
    const engine_sampling *s = &req.series[0].sampling;
    assert_true(s->temperature == 0.5);
    assert_int_equal(s->top_k, 0);
    assert_true(s->top_p == 0.9);
    assert_int_equal(s->sample_count, 4);
    assert_int_equal(s->seed, 7);
    assert_false(req.items[0].seed_random);
    assert_int_equal(req.items[0].n_quantiles, 2);
    assert_true(req.items[0].quantiles[0] == 0.9);
    assert_true(req.items[0].quantiles[1] == 0.1);
    predict_request_free(&req);
    predict_error_clear(&err);
    free(body);

    body = mutated(BASE_SINGLE, "overrides", "null");
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_OK);
    assert_true(req.series[0].sampling.top_p == 0.9);
    predict_request_free(&req);
    free(body);

    body = mutated(BASE_SINGLE, "overrides", NULL);
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_OK);
    assert_true(req.items[0].seed_random);
    predict_request_free(&req);
    free(body);

    /* A custom defaults table is what absent keys take. */
    predict_limits lim = predict_limits_default();
    predict_defaults def = {.temperature = 0.7, .top_k = 5, .top_p = 0.5, .sample_count = 3};
    predict_error_init(&err);
    assert_int_equal(predict_parse(BASE_SINGLE, strlen(BASE_SINGLE), false, &lim, &def, &req, &err),
                     0);
    assert_true(req.series[0].sampling.temperature == 0.7);
    assert_int_equal(req.series[0].sampling.top_k, 5);
    assert_true(req.series[0].sampling.top_p == 0.5);
    assert_int_equal(req.series[0].sampling.sample_count, 3);
    predict_request_free(&req);
}

static void seeds_are_kept_or_drawn(void **state)
{
    (void)state;
    predict_request a, b;
    predict_error err;
    char *body = mutated(BASE_SINGLE, "overrides/seed", "9223372036854775807");
    assert_int_equal(parse_text(body, false, &a, &err), PREDICT_OK);
    assert_int_equal(a.series[0].sampling.seed, (uint64_t)INT64_MAX);
    predict_request_free(&a);
    free(body);
    /* Two random draws colliding has probability 2^-63. */
    assert_int_equal(parse_text(BASE_SINGLE, false, &a, &err), PREDICT_OK);
    assert_int_equal(parse_text(BASE_SINGLE, false, &b, &err), PREDICT_OK);
    assert_true(a.series[0].sampling.seed != b.series[0].sampling.seed);
    predict_request_free(&a);
    predict_request_free(&b);
}

static void fills_volume_and_amount(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    /* No volume anywhere: volume = amount = 0, even where amount was sent. */
    char *body = mutated(BASE_SINGLE, "candles",
                         "[{\"open\":10,\"high\":12,\"low\":9,\"close\":11,\"amount\":5},"
                         "{\"open\":11,\"high\":13,\"low\":10,\"close\":12,\"volume\":null},"
                         "{\"open\":12,\"high\":13,\"low\":11,\"close\":12}]");
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_OK);
    for (size_t i = 0; i < 3; i++) {
        assert_true(req.series[0].x[i * ENGINE_FEATURES + F_VOLUME] == 0.0f);
        assert_true(req.series[0].x[i * ENGINE_FEATURES + F_AMOUNT] == 0.0f);
    }
    assert_false(req.items[0].volume_given);
    predict_request_free(&req);
    free(body);

    /* Volume but no amount: amount = volume x mean(OHLC) in double, then float. */
    body = mutated(BASE_SINGLE, "candles",
                   "[{\"open\":10,\"high\":12,\"low\":9,\"close\":11,\"volume\":100},"
                   "{\"open\":11,\"high\":13,\"low\":10,\"close\":12,\"volume\":3},"
                   "{\"open\":0.144949106,\"high\":0.165159297,\"low\":0.109385959,"
                   "\"close\":0.109385959,\"volume\":1.2551273}]");
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_OK);
    const float *x = req.series[0].x;
    assert_true(x[F_AMOUNT] == 1050.0f);
    assert_true(x[ENGINE_FEATURES + F_AMOUNT] == 34.5f);
    assert_true(
        x[2 * ENGINE_FEATURES + F_AMOUNT] ==
        (float)(1.2551273 * ((0.144949106 + 0.165159297 + 0.109385959 + 0.109385959) / 4.0)));
    /* From the values as sent, not their float32 casts (which give 0.16595304). */
    assert_true(x[2 * ENGINE_FEATURES + F_AMOUNT] == 0.16595302522182465f);
    assert_true(req.items[0].volume_given);
    assert_false(req.items[0].amount_given);
    predict_request_free(&req);
    free(body);
}

static void partial_volume_is_rejected(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    char *body = mutated(BASE_SINGLE, "candles/1/volume", NULL);
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_INVALID);
    assert_int_equal(err.violations, 1);
    assert_string_equal(first_field(&err), "candles[1].volume");
    predict_error_clear(&err);
    free(body);

    body = mutated(BASE_SINGLE, "candles/2/amount", "null");
    assert_int_equal(parse_text(body, false, &req, &err), PREDICT_INVALID);
    assert_string_equal(first_field(&err), "candles[2].amount");
    predict_error_clear(&err);
    free(body);
}

/* One case per rule of SPEC §1: the change to the valid base and the field it must blame. */
typedef struct rule_case {
    const char *path;  /* NULL: the body is `value` itself */
    const char *value; /* NULL: delete */
    int status;
    const char *field;
    const char *constraint; /* NULL: not checked */
    const char *type;       /* pydantic's error type in FastAPI's detail; NULL: not checked */
} rule_case;

static const rule_case RULES[] = {
    {"series_id", "42", 422, "series_id", "type: string", "string_type"},
    {"series_id",
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     422, "series_id", "length <= 128", "string_too_long"},
    {"candles", NULL, 422, "candles", "required", "missing"},
    {"candles", "null", 422, "candles", "required", NULL},
    {"candles", "{}", 422, "candles", "type: array", NULL},
    {"candles", "[]", 422, "candles", "length >= 1", "too_short"},
    {"candles/1", "[1,2,3,4]", 422, "candles[1]", "type: object", "model_type"},
    {"candles/1/open", NULL, 422, "candles[1].open", "required", NULL},
    {"candles/1/open", "\"eleven\"", 422, "candles[1].open", "type: number", "float_parsing"},
    {"candles/1/open", "{}", 422, "candles[1].open", "type: number", "float_type"},
    {"candles/1/open", "\"nan\"", 422, "candles[1].open", "finite", "finite_number"},
    {"candles/1/open", "\"-inf\"", 422, "candles[1].open", "finite", "finite_number"},
    {"candles/1/open", "\"1_1\"", 0, NULL, NULL, NULL},
    {"candles/1/open", "\" 11 \"", 0, NULL, NULL, NULL},
    {"candles/1/open", "\"1.1e1\"", 0, NULL, NULL, NULL},
    {"candles/1/open", "\"1__1\"", 422, "candles[1].open", "type: number", "float_parsing"},
    {"candles/1/open", "\"0x10\"", 422, "candles[1].open", "type: number", "float_parsing"},
    {"candles/1/open", "0", 422, "candles[1].open", "> 0", "greater_than"},
    {"candles/1/close", "-1", 422, "candles[1].close", "> 0", NULL},
    /* Underflow is not a parse error for jansson: 1e-400 reads as 0. */
    {NULL,
     "{\"candles\":[{\"open\":1e-400,\"high\":1,\"low\":1,\"close\":1}],\"timestamps\":"
     "[\"2025-01-01T00:00\"],\"prediction_timestamps\":[\"2025-01-01T00:01\"]}",
     422, "candles[0].open", "> 0", NULL},
    {"candles/1/high", "1e39", 422, "candles[1].high", "within float32 range", NULL},
    {"candles/1/low", "1e-50", 422, "candles[1].low", "within float32 range", NULL},
    {"candles/1/low", "11.5", 422, "candles[1].low", "low <= min(open, close)", "value_error"},
    {"candles/1/high", "11.9", 422, "candles[1].high", "high >= max(open, close)", NULL},
    {"candles/1/volume", "-1", 422, "candles[1].volume", ">= 0", "greater_than_equal"},
    {"candles/1/volume", "\"x\"", 422, "candles[1].volume", "type: number", NULL},
    {"candles/1/amount", "-0.5", 422, "candles[1].amount", ">= 0", NULL},
    {"candles/1/amount", "[]", 422, "candles[1].amount", "type: number", NULL},
    {"timestamps", NULL, 422, "timestamps", "required", NULL},
    {"timestamps", "\"2025-10-14T10:00:00Z\"", 422, "timestamps", "type: array", NULL},
    {"timestamps/2", NULL, 422, "timestamps", "length == len(candles)", NULL},
    {"timestamps/1", "17", 422, "timestamps[1]", "strictly ascending", "value_error"},
    {"timestamps/1", "true", 422, "timestamps[1]", "ISO 8601 date-time or Unix time",
     "datetime_type"},
    {"timestamps/1", "\"2025-02-30T10:05:00Z\"", 422, "timestamps[1]", "ISO 8601 date-time",
     "datetime_from_date_parsing"},
    {"timestamps/1", "1e300", 422, "timestamps[1]", "ISO 8601 date-time", "datetime_parsing"},
    {"timestamps/1", "\"2025-10-14 10:05:00\"", 0, NULL, NULL, NULL},
    {"timestamps/1", "\"2025-10-14t10:05:00.123456789z\"", 0, NULL, NULL, NULL},
    {"timestamps/1", "\"2025-10-14T11:05:00+0100\"", 0, NULL, NULL, NULL},
    {"timestamps/1", "1760436300", 0, NULL, NULL, NULL},
    {"timestamps/1", "1760436300000", 0, NULL, NULL, NULL},
    {"timestamps/1", "1760436300.5", 0, NULL, NULL, NULL},
    {"timestamps/1", "\"1760436300\"", 0, NULL, NULL, NULL},
    {"timestamps/0", "\"2025-10-14\"", 0, NULL, NULL, NULL},
    {"timestamps/1", "\"2025-10-14T10:00:00Z\"", 422, "timestamps[1]", "strictly ascending", NULL},
    {"timestamps/1", "\"2025-10-14T09:05:00Z\"", 422, "timestamps[1]", "strictly ascending", NULL},
    /* Same wall clock minute later, but the zone puts the instant before timestamps[0]. */
    {"timestamps/1", "\"2025-10-14T10:05:00+01:00\"", 422, "timestamps[1]", "strictly ascending",
     NULL},
    {"prediction_timestamps", NULL, 422, "prediction_timestamps", "required", NULL},
    {"prediction_timestamps", "[]", 422, "prediction_timestamps", "length >= 1", NULL},
    {"prediction_timestamps", "{}", 422, "prediction_timestamps", "type: array", NULL},
    {"prediction_timestamps/1", "\"2025-10-14T10:15:00Z\"", 422, "prediction_timestamps[1]",
     "strictly ascending", NULL},
    {"prediction_timestamps/0", "\"2025-10-14T10:10:00Z\"", 422, "prediction_timestamps[0]",
     "after the last of timestamps", NULL},
    {"prediction_timestamps/1", "\"tomorrow\"", 422, "prediction_timestamps[1]",
     "ISO 8601 date-time", NULL},
    {"overrides", "[]", 422, "overrides", "type: object", "model_type"},
    {"overrides/pred_len", "3", 422, "overrides.pred_len", "== len(prediction_timestamps)", NULL},
    {"overrides/pred_len", "\"two\"", 422, "overrides.pred_len", "type: integer", "int_parsing"},
    {"overrides/pred_len", "\" 2 \"", 0, NULL, NULL, NULL},
    {"overrides/pred_len", "\"+0002.00\"", 0, NULL, NULL, NULL},
    {"overrides/pred_len", "2.0", 0, NULL, NULL, NULL},
    {"overrides/pred_len", "\"2.5\"", 422, "overrides.pred_len", "type: integer", "int_parsing"},
    {"overrides/temperature", "0", 422, "overrides.temperature", "> 0", NULL},
    {"overrides/temperature", "\"hot\"", 422, "overrides.temperature", "type: number", NULL},
    {"overrides/top_k", "-1", 422, "overrides.top_k", ">= 0", NULL},
    {"overrides/top_k", "1.5", 422, "overrides.top_k", "type: integer", "int_from_float"},
    {"overrides/top_k", "[]", 422, "overrides.top_k", "type: integer", "int_type"},
    {"overrides/top_k", "3000000000", 422, "overrides.top_k", "<= 2147483647", NULL},
    {"overrides/top_p", "0", 422, "overrides.top_p", "0 < top_p <= 1", "greater_than"},
    {"overrides/top_p", "1.01", 422, "overrides.top_p", "0 < top_p <= 1", "less_than_equal"},
    {"overrides/sample_count", "0", 422, "overrides.sample_count", "1 <= sample_count <= 16", NULL},
    {"overrides/sample_count", "17", 422, "overrides.sample_count", "1 <= sample_count <= 16",
     NULL},
    {"overrides/sample_count", "false", 422, "overrides.sample_count", "1 <= sample_count <= 16",
     "greater_than_equal"},
    {"overrides/sample_count", "true", 0, NULL, NULL, NULL},
    {"overrides/seed", "-1", 422, "overrides.seed", ">= 0", NULL},
    {"overrides/seed", "0.5", 422, "overrides.seed", "type: integer", "int_from_float"},
    {"overrides/seed", "\"42\"", 0, NULL, NULL, NULL},
    {"overrides/seed", "\"1_000\"", 0, NULL, NULL, NULL},
    {"overrides/seed", "\"99999999999999999999\"", 422, "overrides.seed", "type: integer",
     "int_parsing_size"},
    {"overrides/quantiles", "0.5", 422, "overrides.quantiles", "type: array", NULL},
    {"overrides/quantiles", "[0.5]", 422, "overrides.quantiles", "needs sample_count >= 2", NULL},
    {"overrides/quantiles", "[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95]", 422,
     "overrides.quantiles", "length <= 9", NULL},
    {"overrides", "{\"sample_count\":2,\"quantiles\":[0.5, 1]}", 422, "overrides.quantiles[1]",
     "0 < q < 1", NULL},
    {"overrides", "{\"sample_count\":2,\"quantiles\":[0, 0.5]}", 422, "overrides.quantiles[0]",
     "0 < q < 1", NULL},
    {"overrides", "{\"sample_count\":2,\"quantiles\":[0.5, \"high\"]}", 422,
     "overrides.quantiles[1]", "type: number", "float_parsing"},
    {"overrides", "{\"sample_count\":\"2\",\"quantiles\":[0.5, \"0.9\"]}", 0, NULL, NULL, NULL},
    {"overrides", "{\"sample_count\":2,\"quantiles\":[0.5, 0.5]}", 422, "overrides.quantiles[1]",
     "unique", NULL},
    /* Valid variations. */
    {"unknown_field", "{\"a\":[1,2,3]}", 0, NULL, NULL, NULL},
    {"candles/0/extra", "\"ignored\"", 0, NULL, NULL, NULL},
    {"overrides/extra", "1", 0, NULL, NULL, NULL},
    {"series_id", NULL, 0, NULL, NULL, NULL},
    {"series_id", "null", 0, NULL, NULL, NULL},
    {"candles/1/open", "11", 0, NULL, NULL, NULL},
    {"overrides/pred_len", "2", 0, NULL, NULL, NULL},
    {"overrides/pred_len", "null", 0, NULL, NULL, NULL},
    {"overrides/top_p", "1", 0, NULL, NULL, NULL},
    {"overrides/seed", "0", 0, NULL, NULL, NULL},
    {"overrides/quantiles", "[]", 0, NULL, NULL, NULL},
    {"overrides/quantiles", "null", 0, NULL, NULL, NULL},
    {"timestamps/1", "\"2025-10-14T11:05:00+01:00\"", 0, NULL, NULL, NULL},
    {"prediction_timestamps/0", "\"2025-10-14T10:10:00.001Z\"", 0, NULL, NULL, NULL},
    /* 400: not JSON / not an object / duplicate keys. */
    {NULL, "", 400, NULL, NULL, NULL},
    {NULL, "[]", 422, "", "type: object", "model_attributes_type"},
    {NULL, "\"text\"", 422, "", "type: object", "model_attributes_type"},
    {NULL, "{\"candles\":[{\"open\":NaN}]}", 400, NULL, NULL, NULL},
    {NULL, "{\"candles\":[{\"open\":Infinity}]}", 400, NULL, NULL, NULL},
    {NULL, "{\"candles\":[{\"open\":1e400}]}", 400, NULL, NULL, NULL},
    {NULL, "{\"overrides\":{\"seed\":18446744073709551616}}", 400, NULL, NULL, NULL},
    {NULL, "{\"a\":1,\"a\":2}", 400, NULL, NULL, NULL},
    {NULL, "{\"candles\":[", 400, NULL, NULL, NULL},
    {NULL, "{} {}", 400, NULL, NULL, NULL},
    {NULL, "{\"series_id\":\"\xff\"}", 400, NULL, NULL, NULL},
    {NULL, "{\"series_id\":\"a\\u0000b\"}", 400, NULL, NULL, NULL},
};

static void each_rule(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        const rule_case *rc = &RULES[i];
        char *body = rc->path ? mutated(BASE_SINGLE, rc->path, rc->value) : strdup(rc->value);
        assert_non_null(body);
        predict_request req;
        predict_error err;
        int st = parse_text(body, false, &req, &err);
        if (st != rc->status)
            fail_msg("case %zu (%s = %s): status %d, want %d: %s", i, rc->path, rc->value, st,
                     rc->status, err.message);
        assert_int_equal(err.status, rc->status);
        if (rc->status == 422) {
            if (err.violations != 1 || strcmp(first_field(&err), rc->field) != 0 ||
                strcmp(first_constraint(&err), rc->constraint) != 0)
                fail_msg("case %zu (%s = %s): %s", i, rc->path, rc->value, err.message);
            assert_string_equal(err.code, "validation_error");
            const json_t *d0 = json_array_get(err.detail, 0);
            if (rc->type && strcmp(json_string_value(json_object_get(d0, "type")), rc->type) != 0)
                fail_msg("case %zu (%s = %s): type %s, want %s", i, rc->path, rc->value,
                         json_string_value(json_object_get(d0, "type")), rc->type);
            assert_non_null(json_object_get(d0, "msg"));
            assert_true(json_is_array(json_object_get(d0, "loc")));
            assert_null(req.items);
        } else if (rc->status == 400) {
            assert_string_equal(err.code, "bad_request");
            assert_int_equal(json_array_size(err.details), 0);
            assert_null(strchr(err.message, '\n'));
        } else {
            assert_int_equal(req.n, 1);
        }
        predict_request_free(&req);
        predict_error_clear(&err);
        free(body);
    }
}

static void details_carry_offending_values(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    char *body = mutated(BASE_SINGLE, "candles/1/high", "11.5");
    assert_int_equal(parse_text(body, false, &req, &err), 422);
    json_t *d = json_array_get(err.details, 0);
    assert_true(json_real_value(json_object_get(d, "value")) == 11.5);
    assert_string_equal(err.message,
                        "1 validation error: candles[1].high: high >= max(open, close)");
    predict_error_clear(&err);
    free(body);

    /* Arrays and objects are not echoed back. */
    body = mutated(BASE_SINGLE, "candles", "{\"big\":[1,2,3]}");
    assert_int_equal(parse_text(body, false, &req, &err), 422);
    assert_null(json_object_get(json_array_get(err.details, 0), "value"));
    predict_error_clear(&err);
    free(body);
}

static void collects_several_and_caps_at_twenty(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    char *body = mutated(BASE_SINGLE, "overrides", "{\"temperature\":-1,\"top_p\":2,\"seed\":-3}");
    assert_int_equal(parse_text(body, false, &req, &err), 422);
    assert_int_equal(err.violations, 3);
    assert_int_equal(json_array_size(err.details), 3);
    assert_non_null(strstr(err.message, "3 validation errors: overrides.temperature: > 0; "
                                        "overrides.top_p: 0 < top_p <= 1; overrides.seed: >= 0"));
    predict_error_clear(&err);
    free(body);

    /* 30 candles whose high is below open: 30 violations, 20 listed. */
    json_t *root = json_object();
    json_t *candles = json_array(), *ts = json_array();
    char t[32];
    for (int i = 0; i < 30; i++) {
        json_array_append_new(candles, json_pack("{s:f,s:f,s:f,s:f}", "open", 2.0, "high", 1.5,
                                                 "low", 1.0, "close", 1.2));
        snprintf(t, sizeof t, "2025-01-01T00:%02d", i);
        json_array_append_new(ts, json_string(t));
    }
    json_object_set_new(root, "candles", candles);
    json_object_set_new(root, "timestamps", ts);
    json_object_set_new(root, "prediction_timestamps", json_pack("[s]", "2025-01-01T01:00"));
    body = json_dumps(root, 0);
    json_decref(root);
    assert_int_equal(parse_text(body, false, &req, &err), 422);
    assert_int_equal(err.violations, 30);
    assert_int_equal(json_array_size(err.details), PREDICT_MAX_VIOLATIONS);
    assert_string_equal(first_field(&err), "candles[0].high");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(err.details, 19), "field")),
        "candles[19].high");
    assert_non_null(strstr(err.message, "30 validation errors (first 20 listed): "));
    assert_null(strchr(err.message, '\n'));
    predict_error_clear(&err);
    free(body);
}

static void limits_are_configurable(void **state)
{
    (void)state;
    predict_limits lim = {
        .max_candles = 2, .max_pred_len = 1, .max_batch_items = 1, .max_sample_count = 3};
    predict_defaults def = predict_defaults_default();
    predict_request req;
    predict_error err;
    predict_error_init(&err);
    assert_int_equal(predict_parse(BASE_SINGLE, strlen(BASE_SINGLE), false, &lim, &def, &req, &err),
                     422);
    assert_int_equal(err.violations, 2);
    assert_string_equal(first_field(&err), "candles");
    assert_string_equal(first_constraint(&err), "length <= 2");
    const json_t *d1 = json_array_get(err.details, 1);
    assert_string_equal(json_string_value(json_object_get(d1, "field")), "prediction_timestamps");
    assert_string_equal(json_string_value(json_object_get(d1, "constraint")), "length <= 1");
    predict_error_clear(&err);

    char *body = mutated(BASE_SINGLE, "overrides/sample_count", "4");
    assert_int_equal(predict_parse(body, strlen(body), false, &lim, &def, &req, &err), 422);
    assert_string_equal(first_constraint(&err), "length <= 2");
    bool found = false;
    for (size_t i = 0; i < json_array_size(err.details); i++)
        found |=
            strcmp(json_string_value(json_object_get(json_array_get(err.details, i), "constraint")),
                   "1 <= sample_count <= 3") == 0;
    assert_true(found);
    predict_error_clear(&err);
    free(body);
}

/* The serving engine's value range (struct engine) refuses values it does not represent, naming
 * the field; the bounds are judged on the float32 the engine receives, so 1e30 itself passes. */
static void engine_value_range_is_enforced(void **state)
{
    (void)state;
    predict_limits lim = predict_limits_default();
    lim.price_min = 1e-30;
    lim.price_max = 1e30;
    lim.quantity_max = 1e20;
    predict_defaults def = predict_defaults_default();
    predict_request req;
    predict_error err;
    static const struct {
        const char *path, *value, *field, *constraint;
    } cases[] = {
        {"candles/0/low", "1e-38", "candles[0].low", ">= 1e-30 (the engine's range)"},
        {"candles/2/high", "1e31", "candles[2].high", "<= 1e+30 (the engine's range)"},
        {"candles/1/volume", "2e20", "candles[1].volume", "<= 1e+20 (the engine's range)"},
        {"candles/1/amount", "2e20", "candles[1].amount", "<= 1e+20 (the engine's range)"},
        {"candles/2/high", "1e30", NULL, NULL},
        {"candles/0/low", "1e-30", NULL, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *body = mutated(BASE_SINGLE, cases[k].path, cases[k].value);
        predict_error_init(&err);
        int rc = predict_parse(body, strlen(body), false, &lim, &def, &req, &err);
        if (!cases[k].field) {
            assert_int_equal(rc, PREDICT_OK);
            predict_request_free(&req);
        } else {
            assert_int_equal(rc, 422);
            assert_int_equal(err.violations, 1);
            assert_string_equal(first_field(&err), cases[k].field);
            assert_string_equal(first_constraint(&err), cases[k].constraint);
        }
        predict_error_clear(&err);
        free(body);
    }
    /* A derived amount (volume x mean(OHLC)) beyond the range names the volume. */
    char *body = mutated(BASE_SINGLE, "candles/0/amount", NULL);
    char *body2 = mutated(body, "candles/1/amount", NULL);
    char *body3 = mutated(body2, "candles/2/amount", NULL);
    char *body4 = mutated(body3, "candles/1/volume", "1e19");
    predict_error_init(&err);
    assert_int_equal(predict_parse(body4, strlen(body4), false, &lim, &def, &req, &err), 422);
    assert_string_equal(first_field(&err), "candles[1].volume");
    assert_string_equal(first_constraint(&err), "volume * mean(open, high, low, close) <= 1e+20");
    predict_error_clear(&err);
    free(body);
    free(body2);
    free(body3);
    free(body4);
}

static void nesting_depth_is_bounded(void **state)
{
    (void)state;
    char deep[200];
    predict_request req;
    predict_error err;
    /* {"x": [[...]]} with 31 brackets: depth 32, accepted by the pre-scan, then 422. */
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 31; i++)
        strcat(deep, "[");
    for (int i = 0; i < 31; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(predict_json_prescan(deep, strlen(deep), 32, SIZE_MAX), 0);
    assert_int_equal(parse_text(deep, false, &req, &err), 422);
    predict_error_clear(&err);

    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 32; i++)
        strcat(deep, "[");
    for (int i = 0; i < 32; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(predict_json_prescan(deep, strlen(deep), 32, SIZE_MAX), PREDICT_SCAN_TOO_DEEP);
    assert_int_equal(parse_text(deep, false, &req, &err), 400);
    assert_non_null(strstr(err.message, "nesting"));
    predict_error_clear(&err);

    /* Brackets inside strings, escaped quotes included, do not count. */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\\\\\",\"b\":[]}";
    assert_int_equal(predict_json_prescan(s, strlen(s), 2, SIZE_MAX), 0);
    assert_int_equal(predict_json_prescan(s, strlen(s), 1, SIZE_MAX), PREDICT_SCAN_TOO_DEEP);
}

static void value_count_is_bounded(void **state)
{
    (void)state;
    /* Commas and brackets in strings do not count. */
    const char *s = "{\"a\":\",,,,[[{{\",\"b\":[1,2]}";
    assert_int_equal(predict_json_prescan(s, strlen(s), 32, 4), 0);
    assert_int_equal(predict_json_prescan(s, strlen(s), 32, 3), PREDICT_SCAN_TOO_MANY);

    predict_limits lim = predict_limits_default();
    assert_int_equal(predict_max_json_values(&lim, false), 2048 * 16 + 512 * 2 + 256);
    assert_int_equal(predict_max_json_values(&lim, true), 64 * (2048 * 16 + 512 * 2 + 256) + 16);

    /* An ignored array of 40000 zeros on the single route: 400 before any allocation. */
    size_t n = 40000;
    char *body = malloc(2 * n + 16);
    char *o = body + sprintf(body, "{\"x\":[0");
    for (size_t i = 1; i < n; i++)
        o += sprintf(o, ",0");
    strcpy(o, "]}");
    predict_request req;
    predict_error err;
    assert_int_equal(parse_text(body, false, &req, &err), 400);
    assert_non_null(strstr(err.message, "JSON values"));
    predict_error_clear(&err);
    /* The batch route allows more. */
    assert_int_equal(parse_text(body, true, &req, &err), 422);
    predict_error_clear(&err);
    free(body);

    /* A request at the limits stays within the budget. */
    lim.max_candles = 3;
    lim.max_pred_len = 2;
    char *full = mutated(BASE_SINGLE, NULL, NULL);
    assert_int_equal(
        predict_json_prescan(full, strlen(full), 32, predict_max_json_values(&lim, false)), 0);
    free(full);
}

static const char BATCH[] =
    "{\"items\":["
    "{\"series_id\":\"A\",\"candles\":[{\"open\":1,\"high\":2,\"low\":0.5,\"close\":1.5}],"
    "\"timestamps\":[\"2025-01-01T00:00\"],\"prediction_timestamps\":[\"2025-01-01T00:01\"]},"
    "{\"series_id\":\"B\",\"candles\":[{\"open\":1,\"high\":2,\"low\":0.5,\"close\":1.5,"
    "\"volume\":3},{\"open\":1,\"high\":2,\"low\":0.5,\"close\":1.5,\"volume\":4}],"
    "\"timestamps\":[\"2025-01-01T00:00\",\"2025-01-01T00:01\"],"
    "\"prediction_timestamps\":[\"2025-01-01T00:02\",\"2025-01-01T00:03\",\"2025-01-01T00:04\"],"
    "\"overrides\":{\"sample_count\":2,\"quantiles\":[0.5],\"seed\":1}}]}";

static void batch_items_differ(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    assert_int_equal(parse_text(BATCH, true, &req, &err), PREDICT_OK);
    assert_true(req.batch);
    assert_int_equal(req.n, 2);
    assert_string_equal(req.items[0].series_id, "A");
    assert_int_equal(req.series[0].rows, 1);
    assert_int_equal(req.series[1].rows, 2);
    assert_int_equal(req.series[0].pred_len, 1);
    assert_int_equal(req.series[1].pred_len, 3);
    assert_int_equal(req.series[0].sampling.sample_count, 1);
    assert_int_equal(req.series[1].sampling.sample_count, 2);
    assert_int_equal(req.items[1].n_quantiles, 1);
    assert_int_equal(req.total_rows, 3);
    assert_int_equal(req.total_pred_len, 4);
    assert_true(req.series[1].x[ENGINE_FEATURES + F_AMOUNT] == 5.0f); /* 4 x mean 1.25 */
    predict_request_free(&req);

    /* The same body on the single route lacks candles etc. */
    assert_int_equal(parse_text(BATCH, false, &req, &err), 422);
    predict_error_clear(&err);
}

static const rule_case BATCH_RULES[] = {
    {"items", NULL, 422, "items", "required", NULL},
    {"items", "{}", 422, "items", "type: array", NULL},
    {"items", "[]", 422, "items", "length >= 1", NULL},
    {"items/1", "7", 422, "items[1]", "type: object", NULL},
    {"items/0/series_id", NULL, 422, "items[0].series_id", "required", NULL},
    {"items/1/series_id", "\"A\"", 422, "items[1].series_id", "unique", NULL},
    {"items/1/series_id", "5", 422, "items[1].series_id", "type: string", NULL},
    {"items/1/candles/1/high", "0.9", 422, "items[1].candles[1].high", "high >= max(open, close)",
     NULL},
    {"items/1/timestamps/1", "\"2025-01-01T00:00\"", 422, "items[1].timestamps[1]",
     "strictly ascending", NULL},
    {"items/0/prediction_timestamps", "[]", 422, "items[0].prediction_timestamps", "length >= 1",
     NULL},
    {"items/1/overrides/pred_len", "2", 422, "items[1].overrides.pred_len",
     "== len(prediction_timestamps)", NULL},
    {"items/1/overrides/quantiles/0", "1.5", 422, "items[1].overrides.quantiles[0]", "0 < q < 1",
     NULL},
    {"items/0/candles/0/volume", "1", 0, NULL, NULL, NULL},
};

static void batch_rules_name_the_item(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BATCH_RULES / sizeof BATCH_RULES[0]; i++) {
        const rule_case *rc = &BATCH_RULES[i];
        char *body = mutated(BATCH, rc->path, rc->value);
        assert_non_null(body);
        predict_request req;
        predict_error err;
        int st = parse_text(body, true, &req, &err);
        if (st != rc->status ||
            (st == 422 && (err.violations != 1 || strcmp(first_field(&err), rc->field) != 0 ||
                           strcmp(first_constraint(&err), rc->constraint) != 0)))
            fail_msg("batch case %zu (%s = %s): %d %s", i, rc->path, rc->value, st, err.message);
        predict_request_free(&req);
        predict_error_clear(&err);
        free(body);
    }
}

static void batch_item_count_is_bounded(void **state)
{
    (void)state;
    json_t *root = json_loads(BATCH, 0, NULL);
    json_t *items = json_object_get(root, "items");
    json_t *proto = json_array_get(items, 0);
    char id[16];
    while (json_array_size(items) < 65) {
        json_t *c = json_deep_copy(proto);
        snprintf(id, sizeof id, "S%zu", json_array_size(items));
        json_object_set_new(c, "series_id", json_string(id));
        json_array_append_new(items, c);
    }
    char *body = json_dumps(root, 0);
    predict_request req;
    predict_error err;
    assert_int_equal(parse_text(body, true, &req, &err), 422);
    assert_string_equal(first_field(&err), "items");
    assert_string_equal(first_constraint(&err), "length <= 64");
    predict_error_clear(&err);
    free(body);

    json_array_remove(items, 64);
    body = json_dumps(root, 0);
    assert_int_equal(parse_text(body, true, &req, &err), PREDICT_OK);
    assert_int_equal(req.n, 64);
    predict_request_free(&req);
    free(body);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_single_fills_engine_series),
        cmocka_unit_test(overrides_partial_and_null_take_defaults),
        cmocka_unit_test(seeds_are_kept_or_drawn),
        cmocka_unit_test(fills_volume_and_amount),
        cmocka_unit_test(partial_volume_is_rejected),
        cmocka_unit_test(each_rule),
        cmocka_unit_test(details_carry_offending_values),
        cmocka_unit_test(collects_several_and_caps_at_twenty),
        cmocka_unit_test(limits_are_configurable),
        cmocka_unit_test(engine_value_range_is_enforced),
        cmocka_unit_test(nesting_depth_is_bounded),
        cmocka_unit_test(value_count_is_bounded),
        cmocka_unit_test(batch_items_differ),
        cmocka_unit_test(batch_rules_name_the_item),
        cmocka_unit_test(batch_item_count_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
