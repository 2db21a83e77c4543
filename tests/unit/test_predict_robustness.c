/* Whatever bytes arrive, predict_parse answers 0, 400 or 422 (never crashes, never 500), and an
 * accepted request always yields a well-formed response. Seeded mutations of valid bodies:
 * byte flips, insertions of JSON punctuation, truncations. Run under SANITIZE=ON as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "api/predict_response.h"
#include "predict_test_util.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const char PUNCT[] = "{}[],:\"\\-+.0123456789eEtrufalsn \x80\xff";

static void mutate_bytes(char *buf, size_t *len)
{
    int edits = 1 + (int)(next_rand() % 4);
    for (int k = 0; k<edits && * len> 0; k++) {
        size_t at = next_rand() % *len;
        switch (next_rand() % 4) {
        case 0:
            buf[at] = (char)(next_rand() & 0xff);
            break;
        case 1:
            buf[at] = PUNCT[next_rand() % (sizeof PUNCT - 1)];
            break;
        case 2:
            *len = at;
            break;
        default:
            memmove(buf + at, buf + at + 1, *len - at - 1);
            (*len)--;
        }
    }
}

static void check_response(const predict_request *req)
{
    engine_forecast *fc = calloc(req->n, sizeof *fc);
    assert_non_null(fc);
    for (size_t i = 0; i < req->n; i++) {
        size_t n = req->series[i].pred_len * ENGINE_FEATURES;
        int s = req->series[i].sampling.sample_count;
        fc[i].pred_len = req->series[i].pred_len;
        fc[i].sample_count = s;
        fc[i].mean = calloc(n, sizeof(float));
        fc[i].samples = calloc(n * (size_t)s, sizeof(float));
    }
    size_t len;
    char *body = predict_response_json(req, fc, "id", "m", "t", "baseline", &len, NULL);
    assert_non_null(body);
    json_error_t e;
    json_t *r = json_loadb(body, len, 0, &e);
    assert_non_null(r);
    json_decref(r);
    free(body);
    for (size_t i = 0; i < req->n; i++)
        engine_forecast_free(&fc[i]);
    free(fc);
}

static void run_mutations(const char *base, bool batch, int rounds)
{
    size_t base_len = strlen(base);
    char *buf = malloc(base_len + 1);
    int counts[3] = {0};
    for (int r = 0; r < rounds; r++) {
        memcpy(buf, base, base_len);
        size_t len = base_len;
        mutate_bytes(buf, &len);
        predict_limits lim = predict_limits_default();
        predict_defaults def = predict_defaults_default();
        predict_request req;
        predict_error err;
        predict_error_init(&err);
        int st = predict_parse(buf, len, batch, &lim, &def, &req, &err);
        if (st != PREDICT_OK && st != PREDICT_BAD_REQUEST && st != PREDICT_INVALID)
            fail_msg("status %d for a mutated body", st);
        if (st == PREDICT_OK)
            check_response(&req);
        else
            assert_null(strchr(err.message, '\n'));
        counts[st == PREDICT_OK ? 0 : st == 400 ? 1 : 2]++;
        predict_request_free(&req);
        predict_error_clear(&err);
    }
    free(buf);
    /* The mutations must exercise all three outcomes, else the test proves little. */
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
}

static void mutated_single_bodies(void **state)
{
    (void)state;
    char *base = mutated(BASE_SINGLE, "overrides", "{\"sample_count\":2,\"quantiles\":[0.5]}");
    run_mutations(base, false, 20000);
    free(base);
}

static void mutated_batch_bodies(void **state)
{
    (void)state;
    char *item = mutated(BASE_SINGLE, NULL, NULL);
    size_t n = strlen(item) * 2 + 64;
    char *base = malloc(n);
    snprintf(base, n, "{\"items\":[%s,%s]}", item, item);
    /* Give the second item its own id so the unmutated batch is valid. */
    char *second = strstr(strstr(base, "BTC-USDT") + 1, "BTC-USDT");
    second[0] = 'E';
    run_mutations(base, true, 20000);
    free(base);
    free(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mutated_single_bodies),
        cmocka_unit_test(mutated_batch_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
