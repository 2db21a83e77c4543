#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "api/predict_number.h"
#include "api/predict_response.h"
#include "predict_test_util.h"

/* Reference: the fewest %g digits that read back, by linear search. */
static int fewest_digits(float f)
{
    char buf[32];
    for (int p = 1; p < 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f)
            return p;
    }
    return 9;
}

static int significant_digits(const char *s)
{
    char d[32];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
            d[n++] = *s;
    while (n > 1 && d[n - 1] == '0')
        n--;
    return n ? n : 1;
}

static void floats_print_shortest_and_round_trip(void **state)
{
    (void)state;
    char buf[32];
    predict_format_float(buf, 1.1f);
    assert_string_equal(buf, "1.1");
    predict_format_float(buf, 100.0f);
    assert_string_equal(buf, "100.0");
    predict_format_float(buf, 0.0f);
    assert_string_equal(buf, "0.0");
    predict_format_float(buf, -2.5f);
    assert_string_equal(buf, "-2.5");
    predict_format_float(buf, 1e-5f);
    assert_string_equal(buf, "1e-05");
    predict_format_float(buf, 3.4028235e38f);
    assert_string_equal(buf, "3.4028235e+38");
    predict_format_float(buf, 16777216.0f);
    assert_string_equal(buf, "16777216.0");
    predict_format_float(buf, 123456789.0f); /* 123456792 as a float */
    assert_string_equal(buf, "123456790.0");
    predict_format_float(buf, 0.001f);
    assert_string_equal(buf, "0.001");
    predict_format_float(buf, 1.5e-45f); /* smallest subnormal */
    assert_string_equal(buf, "1e-45");
    predict_format_float(buf, 9.999999e15f);
    assert_true(strtof(buf, NULL) == 9.999999e15f);
    predict_format_float(buf, -0.0f);
    assert_string_equal(buf, "-0.0");
    predict_format_float(buf, 1e20f);
    assert_string_equal(buf, "1e+20");

    /* Every finite bit pattern of a pseudo-random walk reads back exactly. */
    uint32_t bits = 12345;
    for (int i = 0; i < 100000; i++) {
        bits = bits * 1664525u + 1013904223u;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            continue;
        int n = predict_format_float(buf, f);
        assert_int_equal(n, (int)strlen(buf));
        if (strtof(buf, NULL) != f)
            fail_msg("%s does not read back as %.9g", buf, (double)f);
        if (significant_digits(buf) != fewest_digits(f))
            fail_msg("%s is not the shortest form of %.9g", buf, (double)f);
    }

    predict_format_double(buf, 0.1);
    assert_string_equal(buf, "0.1");
    predict_format_double(buf, 0.25);
    assert_string_equal(buf, "0.25");
    predict_format_double(buf, 0.975);
    assert_string_equal(buf, "0.975");
    predict_format_double(buf, 1.0 / 3.0);
    assert_true(strtod(buf, NULL) == 1.0 / 3.0);
}

static void quantiles_interpolate_like_numpy(void **state)
{
    (void)state;
    /* numpy.quantile([1, 2, 3, 4], [0.1, 0.5, 0.9]) == [1.3, 2.5, 3.7] */
    const double v[] = {1, 2, 3, 4};
    assert_true(fabs(predict_quantile_sorted(v, 4, 0.1) - 1.3) < 1e-12);
    assert_true(fabs(predict_quantile_sorted(v, 4, 0.5) - 2.5) < 1e-12);
    assert_true(fabs(predict_quantile_sorted(v, 4, 0.9) - 3.7) < 1e-12);
    /* numpy.quantile([10, 20], 0.25) == 12.5 */
    const double w[] = {10, 20};
    assert_true(fabs(predict_quantile_sorted(w, 2, 0.25) - 12.5) < 1e-12);
    const double one[] = {7};
    assert_true(predict_quantile_sorted(one, 1, 0.3) == 7);
    assert_true(predict_quantile_sorted(v, 4, 0.999999) <= 4);
}

static void bars_are_made_consistent(void **state)
{
    (void)state;
    predict_output_stats st = {0};
    float bar[ENGINE_FEATURES] = {10, 9, 11, 12, -1, 5};
    predict_bar_make_consistent(bar, &st);
    assert_true(bar[F_HIGH] == 12);
    assert_true(bar[F_LOW] == 10);
    assert_true(bar[F_OPEN] == 10 && bar[F_CLOSE] == 12);
    assert_true(bar[F_VOLUME] == 0);
    assert_true(bar[F_AMOUNT] == 5);
    assert_int_equal(st.ohlc_adjusted, 2);
    assert_int_equal(st.volume_clamped, 1);

    float ok[ENGINE_FEATURES] = {10, 13, 9, 12, 0, 0};
    predict_bar_make_consistent(ok, &st);
    assert_true(ok[F_HIGH] == 13 && ok[F_LOW] == 9);
    assert_int_equal(st.ohlc_adjusted, 2);
    assert_int_equal(st.volume_clamped, 1);
}

/* Parses BASE_SINGLE with the given overrides. */
static void parse_with(const char *overrides, predict_request *req)
{
    char *body = mutated(BASE_SINGLE, "overrides", overrides);
    predict_error err;
    assert_int_equal(parse_text(body, false, req, &err), PREDICT_OK);
    free(body);
}

static void fill_bar(float *b, float o, float h, float l, float c, float v, float a)
{
    b[F_OPEN] = o;
    b[F_HIGH] = h;
    b[F_LOW] = l;
    b[F_CLOSE] = c;
    b[F_VOLUME] = v;
    b[F_AMOUNT] = a;
}

static void single_response_has_every_field(void **state)
{
    (void)state;
    predict_request req;
    parse_with("{\"sample_count\":3,\"quantiles\":[0.5,0.1],\"seed\":1}", &req);
    /* 3 samples x 2 steps; the mean is inconsistent at step 1 on purpose. */
    float samples[3 * 2 * ENGINE_FEATURES];
    fill_bar(samples + 0, 10, 11, 9, 10.5f, 1, 10);
    fill_bar(samples + 6, 10.5f, 12, 10, 11, 2, 20);
    fill_bar(samples + 12, 12, 13, 11, 12.5f, 3, 30);
    fill_bar(samples + 18, 12.5f, 12, 12, 12, -4, 40); /* high below open: fixed to 12.5 */
    fill_bar(samples + 24, 8, 9, 7, 8.5f, 5, 50);
    fill_bar(samples + 30, 8.5f, 9, 8, 8.75f, 6, 60);
    float mean[2 * ENGINE_FEATURES];
    fill_bar(mean, 10, 11, 9, 10.5f, 3, 30);
    fill_bar(mean + 6, 10.5f, 10, 11, 11, -1, 40);
    engine_forecast fc = {.pred_len = 2, .sample_count = 3, .mean = mean, .samples = samples};

    predict_output_stats st;
    size_t len = 0;
    char *body = predict_response_json(&req, &fc, "req-1", "Kronos-small", "Kronos-Tokenizer-base",
                                       "baseline", &len, &st);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    assert_int_equal(st.points, 2);
    assert_int_equal(st.ohlc_adjusted, 2);
    assert_int_equal(st.volume_clamped, 1);

    json_error_t e;
    json_t *r = json_loads(body, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(r);
    assert_true(json_is_object(r));
    assert_string_equal(json_string_value(json_object_get(r, "series_id")), "BTC-USDT");
    assert_string_equal(json_string_value(json_object_get(r, "request_id")), "req-1");
    assert_string_equal(json_string_value(json_object_get(r, "model_version")), "Kronos-small");
    assert_string_equal(json_string_value(json_object_get(r, "tokenizer_version")),
                        "Kronos-Tokenizer-base");
    assert_string_equal(json_string_value(json_object_get(r, "engine")), "baseline");
    json_t *pred = json_object_get(r, "prediction");
    assert_int_equal(json_array_size(pred), 2);
    json_t *p1 = json_array_get(pred, 1);
    assert_string_equal(json_string_value(json_object_get(p1, "timestamp")),
                        "2025-10-14T10:20:00Z");
    assert_true(json_real_value(json_object_get(p1, "open")) == 10.5);
    assert_true(json_real_value(json_object_get(p1, "high")) == 11);
    assert_true(json_real_value(json_object_get(p1, "low")) == 10.5);
    assert_true(json_real_value(json_object_get(p1, "close")) == 11);
    assert_true(json_real_value(json_object_get(p1, "volume")) == 0);
    assert_true(json_real_value(json_object_get(p1, "amount")) == 40);
    assert_int_equal(json_object_size(p1), 7);

    json_t *q = json_object_get(r, "quantiles");
    assert_int_equal(json_object_size(q), 2);
    json_t *q5 = json_object_get(q, "0.5"), *q1 = json_object_get(q, "0.1");
    assert_int_equal(json_array_size(q5), 2);
    /* Median of opens at step 0: {10, 12, 8} -> 10; 0.1-quantile: 8 + 0.2 x 2 = 8.4. */
    assert_true(json_real_value(json_object_get(json_array_get(q5, 0), "open")) == 10);
    assert_true((float)json_real_value(json_object_get(json_array_get(q1, 0), "open")) == 8.4f);
    /* Step 1 highs after the per-sample fix are {12, 12.5, 9}: median 12. */
    assert_true(json_real_value(json_object_get(json_array_get(q5, 1), "high")) == 12);
    /* Volumes at step 1 after clamping: {2, 0, 6}; 0.1-quantile 0 + 0.2 x 2 = 0.4. */
    assert_true((float)json_real_value(json_object_get(json_array_get(q1, 1), "volume")) == 0.4f);
    assert_string_equal(json_string_value(json_object_get(json_array_get(q1, 1), "timestamp")),
                        "2025-10-14T10:20:00Z");
    /* Quantile bars stay consistent. */
    for (size_t t = 0; t < 2; t++) {
        json_t *b = json_array_get(q1, t);
        double o = json_real_value(json_object_get(b, "open"));
        double c = json_real_value(json_object_get(b, "close"));
        assert_true(json_real_value(json_object_get(b, "high")) >= fmax(o, c));
        assert_true(json_real_value(json_object_get(b, "low")) <= fmin(o, c));
    }
    /* Floats are printed shortest: 10.5, not 10.5000000. */
    assert_non_null(strstr(body, "\"open\":10.5,"));
    json_decref(r);
    free(body);

    /* No quantiles asked: no "quantiles" key; absent series_id is null. */
    predict_request_free(&req);
    char *b2 = mutated(BASE_SINGLE, "series_id", NULL);
    predict_error err;
    assert_int_equal(parse_text(b2, false, &req, &err), PREDICT_OK);
    free(b2);
    fc.samples = NULL;
    body = predict_response_json(&req, &fc, "r\"\x01", "m", "t", "kronos", NULL, NULL);
    assert_non_null(body);
    r = json_loads(body, 0, &e);
    assert_non_null(r);
    assert_true(json_is_null(json_object_get(r, "series_id")));
    assert_null(json_object_get(r, "quantiles"));
    assert_string_equal(json_string_value(json_object_get(r, "request_id")), "r\"\x01");
    json_decref(r);
    free(body);

    /* Names that are not UTF-8 (a folder name, cut mid-character) still give valid JSON. */
    body =
        predict_response_json(&req, &fc, "id", "Kronos-\xff\xfe", "tok-\xc3", "kronos", NULL, NULL);
    assert_non_null(body);
    r = json_loads(body, 0, &e);
    if (!r)
        fail_msg("invalid JSON: %s", e.text);
    assert_string_equal(json_string_value(json_object_get(r, "model_version")),
                        "Kronos-\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(r, "tokenizer_version")),
                        "tok-\xef\xbf\xbd");
    json_decref(r);
    free(body);
    predict_request_free(&req);
}

static void batch_response_is_an_array_in_order(void **state)
{
    (void)state;
    static const char batch[] =
        "{\"items\":[{\"series_id\":\"X\",\"candles\":[{\"open\":1,\"high\":2,\"low\":0.5,"
        "\"close\":1.5}],\"timestamps\":[\"2025-01-01T00:00\"],\"prediction_timestamps\":"
        "[\"2025-01-01T00:01+00:00\"]},{\"series_id\":\"Y\",\"candles\":[{\"open\":1,\"high\":2,"
        "\"low\":0.5,\"close\":1.5}],\"timestamps\":[\"2025-01-01T00:00\"],"
        "\"prediction_timestamps\":[\"2025-01-01T00:01\",\"2025-01-01T00:02\"]}]}";
    predict_request req;
    predict_error err;
    assert_int_equal(parse_text(batch, true, &req, &err), PREDICT_OK);
    float m0[6] = {1, 2, 0.5f, 1.5f, 0, 0}, m1[12] = {1, 2, 0.5f, 1.5f, 0, 0, 2, 3, 1, 2, 0, 0};
    engine_forecast fc[2] = {{.pred_len = 1, .sample_count = 1, .mean = m0},
                             {.pred_len = 2, .sample_count = 1, .mean = m1}};
    predict_output_stats st;
    char *body = predict_response_json(&req, fc, "id", "m", "t", "baseline", NULL, &st);
    assert_non_null(body);
    assert_int_equal(st.points, 3);
    json_t *r = json_loads(body, 0, NULL);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "series_id")), "X");
    json_t *y = json_array_get(r, 1);
    assert_string_equal(json_string_value(json_object_get(y, "series_id")), "Y");
    assert_int_equal(json_array_size(json_object_get(y, "prediction")), 2);
    /* Timestamps echo what the client wrote, zone spelling included. */
    assert_non_null(strstr(body, "\"2025-01-01T00:01+00:00\""));
    json_decref(r);
    free(body);

    /* A forecast that does not fit its request is a server fault: NULL. */
    fc[1].pred_len = 1;
    assert_null(predict_response_json(&req, fc, "id", "m", "t", "b", NULL, NULL));
    fc[1].pred_len = 2;
    m1[3] = NAN;
    assert_null(predict_response_json(&req, fc, "id", "m", "t", "b", NULL, NULL));
    predict_request_free(&req);
}

static void quantiles_need_samples(void **state)
{
    (void)state;
    predict_request req;
    parse_with("{\"sample_count\":2,\"quantiles\":[0.9]}", &req);
    float mean[12] = {10, 11, 9, 10, 1, 1, 10, 11, 9, 10, 1, 1};
    engine_forecast fc = {.pred_len = 2, .sample_count = 2, .mean = mean, .samples = NULL};
    assert_null(predict_response_json(&req, &fc, "id", "m", "t", "b", NULL, NULL));
    predict_request_free(&req);
}

static const char *detail_field(const predict_error *err, size_t i)
{
    return json_string_value(json_object_get(json_array_get(err->details, i), "field"));
}

/* inf in a forecast (beyond float32 at the series' scale) is a 422 naming the candle field with
 * the column's largest value; NaN stays a server fault (predict_response_json refuses it). */
static void unrepresentable_forecast_names_the_field(void **state)
{
    (void)state;
    predict_request req;
    predict_error err;
    parse_with("{\"sample_count\":2,\"quantiles\":[0.9]}", &req);
    float mean[12] = {10, 11, 9, 10, 1, 1, 10, 11, 9, 10, 1, 1};
    float samples[24];
    memcpy(samples, mean, sizeof mean);
    memcpy(samples + 12, mean, sizeof mean);
    engine_forecast fc = {.pred_len = 2, .sample_count = 2, .mean = mean, .samples = samples};
    predict_error_init(&err);
    assert_false(predict_forecast_unrepresentable(&req, &fc, &err));
    assert_int_equal(err.status, 0);

    mean[6 + F_HIGH] = INFINITY;       /* candles[1].high (13) is the largest high */
    samples[12 + F_VOLUME] = INFINITY; /* only in a sample: matters because quantiles were asked */
    mean[F_CLOSE] = NAN;               /* not this check's business */
    assert_true(predict_forecast_unrepresentable(&req, &fc, &err));
    assert_int_equal(err.status, 422);
    assert_string_equal(err.code, "validation_error");
    assert_int_equal(err.violations, 2);
    assert_string_equal(detail_field(&err, 0), "candles[1].high");
    assert_string_equal(detail_field(&err, 1), "candles[1].volume");
    const json_t *v = json_object_get(json_array_get(err.details, 0), "value");
    assert_true(json_is_real(v) && json_real_value(v) == 13.0);
    predict_error_clear(&err);
    predict_request_free(&req);

    /* Batch fields carry the item; a derived amount names the volume the client sent. */
    static const char batch[] =
        "{\"items\":[{\"series_id\":\"X\",\"candles\":[{\"open\":1,\"high\":2,\"low\":0.5,"
        "\"close\":1.5,\"volume\":3}],\"timestamps\":[\"2025-01-01T00:00\"],"
        "\"prediction_timestamps\":[\"2025-01-01T00:01\"]}]}";
    assert_int_equal(parse_text(batch, true, &req, &err), PREDICT_OK);
    float m0[6] = {1, 2, 0.5f, 1.5f, 3, INFINITY};
    engine_forecast f0 = {.pred_len = 1, .sample_count = 1, .mean = m0};
    predict_error_init(&err);
    assert_true(predict_forecast_unrepresentable(&req, &f0, &err));
    assert_string_equal(detail_field(&err, 0), "items[0].candles[0].volume");
    predict_error_clear(&err);
    predict_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(floats_print_shortest_and_round_trip),
        cmocka_unit_test(quantiles_interpolate_like_numpy),
        cmocka_unit_test(bars_are_made_consistent),
        cmocka_unit_test(single_response_has_every_field),
        cmocka_unit_test(batch_response_is_an_array_in_order),
        cmocka_unit_test(quantiles_need_samples),
        cmocka_unit_test(unrepresentable_forecast_names_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
