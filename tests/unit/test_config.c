#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "engine/kronos/kernels.h"
#include "security/ratelimit.h"

/* A fake environment: pairs of name, value. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *p = fake_env; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static int load(config *c, const char *const *env, int argc, char **argv, char *err, size_t n)
{
    static char *noargs[] = {"kronosd", NULL};
    fake_env = env;
    strbuf out;
    sb_init(&out, 0);
    int rc = config_load(c, argc ? argc : 1, argc ? argv : noargs, fake_getenv, &out, err, n);
    sb_free(&out);
    return rc;
}

static void defaults_match_spec(void **state)
{
    (void)state;
    config c;
    char err[512];
    assert_int_equal(load(&c, NULL, 0, NULL, err, sizeof(err)), CONFIG_OK);
    assert_string_equal(c.host, "0.0.0.0");
    assert_int_equal(c.port, 8000);
    assert_int_equal(c.simd, CONFIG_SIMD_AUTO);
    assert_null(c.model_path);
    assert_null(c.tokenizer_path);
    assert_int_equal(c.max_context, 512);
    assert_true(c.default_temperature == 1.0);
    assert_int_equal(c.default_top_k, 0);
    assert_true(c.default_top_p == 0.9);
    assert_int_equal(c.default_sample_count, 1);
    assert_true(c.clip_value == 5.0);
    assert_int_equal(c.inference_threads, (int)sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(c.queue_size, 64);
    assert_true(c.inference_timeout == 240);
    assert_true(c.startup_timeout == 300);
    assert_true(c.shutdown_grace == 30);
    assert_int_equal(c.max_candles, 2048);
    assert_int_equal(c.max_pred_len, 512);
    assert_int_equal(c.max_batch_items, 64);
    assert_int_equal(c.max_sample_count, 16);
    assert_int_equal(config_max_request_bytes(&c), 10 * 1024 * 1024);
    assert_true(c.security_enabled);
    assert_string_equal(c.container_whitelist, "localhost");
    assert_string_equal(c.trusted_proxies, "127.0.0.1/32,::1/128");
    assert_null(c.api_keys_file);
    assert_true(c.rate_limit_enabled);
    assert_int_equal(c.rate_limit_per_minute, 100);
    assert_int_equal(c.rate_limit_burst, 20);
    assert_int_equal(c.connection_timeout, 30);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.max_connections_per_ip, 128);
    assert_non_null(c.instance);
    config_free(&c);
}

/* One variable, one value: expect accepted or refused with the variable named. */
static void expect(const char *var, const char *value, bool ok)
{
    const char *env[] = {var, value, NULL};
    config c;
    char err[512] = "";
    int rc = load(&c, env, 0, NULL, err, sizeof(err));
    if (ok) {
        if (rc != CONFIG_OK)
            fail_msg("%s=%s refused: %s", var, value, err);
        config_free(&c);
    } else {
        if (rc != CONFIG_INVALID)
            fail_msg("%s=%s accepted", var, value);
        assert_non_null(strstr(err, var));
        assert_non_null(strstr(err, "expected"));
    }
}

static void every_kind_good_and_bad(void **state)
{
    (void)state;
    /* host */
    expect("KRONOS_HOST", "127.0.0.1", true);
    expect("KRONOS_HOST", "::", true);
    expect("KRONOS_HOST", "::1", true);
    expect("KRONOS_HOST", "256.1.1.1", false);
    expect("KRONOS_HOST", "example.com", false);
    expect("KRONOS_HOST", "", false);
    /* port */
    expect("KRONOS_PORT", "1", true);
    expect("KRONOS_PORT", "65535", true);
    expect("KRONOS_PORT", "0", false);
    expect("KRONOS_PORT", "65536", false);
    expect("KRONOS_PORT", "80a", false);
    expect("KRONOS_PORT", " 80", false);
    expect("KRONOS_PORT", "", false);
    expect("KRONOS_PORT", "99999999999999999999", false);
    /* level */
    expect("KRONOS_LOG_LEVEL", "debug", true);
    expect("KRONOS_LOG_LEVEL", "WARNING", true);
    expect("KRONOS_LOG_LEVEL", "CRITICAL", true);
    expect("KRONOS_LOG_LEVEL", "verbose", false);
    /* ints with ranges */
    expect("KRONOS_QUEUE_SIZE", "1", true);
    expect("KRONOS_QUEUE_SIZE", "0", false);
    expect("KRONOS_QUEUE_SIZE", "-5", false);
    expect("KRONOS_DEFAULT_TOP_K", "0", true);
    expect("KRONOS_DEFAULT_TOP_K", "-1", false);
    expect("KRONOS_MAX_CONTEXT", "2048", true);
    expect("KRONOS_MAX_CONTEXT", "1.5", false);
    expect("KRONOS_INFERENCE_THREADS", "0", false);
    /* doubles, open and closed bounds */
    expect("KRONOS_DEFAULT_TOP_P", "1", true);
    expect("KRONOS_DEFAULT_TOP_P", "0", false);
    expect("KRONOS_DEFAULT_TOP_P", "1.01", false);
    expect("KRONOS_DEFAULT_TEMPERATURE", "0.5", true);
    expect("KRONOS_DEFAULT_TEMPERATURE", "0", false);
    expect("KRONOS_DEFAULT_TEMPERATURE", "nan", false);
    expect("KRONOS_DEFAULT_TEMPERATURE", "inf", false);
    expect("KRONOS_INFERENCE_TIMEOUT", "0.05", true);
    expect("KRONOS_INFERENCE_TIMEOUT", "-1", false);
    expect("KRONOS_SHUTDOWN_GRACE", "0", true);
    expect("KRONOS_DRAIN_DELAY", "0", true);
    expect("KRONOS_DRAIN_DELAY", "2.5", true);
    expect("KRONOS_DRAIN_DELAY", "-1", false);
    expect("KRONOS_DRAIN_DELAY", "3601", false);
    expect("KRONOS_MAX_REQUEST_SIZE_MB", "0.001", true);
    expect("KRONOS_MAX_REQUEST_SIZE_MB", "ten", false);
    /* booleans */
    expect("KRONOS_SECURITY_ENABLED", "false", true);
    expect("KRONOS_SECURITY_ENABLED", "OFF", true);
    expect("KRONOS_SECURITY_ENABLED", "1", true);
    expect("KRONOS_SECURITY_ENABLED", "maybe", false);
    expect("KRONOS_RATE_LIMIT_ENABLED", "", false);
    /* directories and files */
    expect("KRONOS_MODEL_PATH", "/tmp", true);
    expect("KRONOS_MODEL_PATH", "/does/not/exist", false);
    expect("KRONOS_MODEL_PATH", "/etc/hostname", false);
    expect("KRONOS_API_KEYS_FILE", "/etc/hostname", true);
    expect("KRONOS_API_KEYS_FILE", "/tmp", false);
    expect("KRONOS_API_KEYS_FILE", "/does/not/exist", false);
    /* CIDR lists */
    expect("KRONOS_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1,fd00::/8", true);
    expect("KRONOS_TRUSTED_PROXIES", "", true);
    expect("KRONOS_TRUSTED_PROXIES", "10.0.0.0/33", false);
    expect("KRONOS_TRUSTED_PROXIES", "::1/129", false);
    expect("KRONOS_TRUSTED_PROXIES", "10.0.0/8", false);
    expect("KRONOS_TRUSTED_PROXIES", "10.0.0.0/", false);
    expect("KRONOS_TRUSTED_PROXIES", "10.0.0.0/8x", false);
    /* identity lists and names */
    expect("KRONOS_CONTAINER_WHITELIST", "localhost, svc-a,svc_b.prod", true);
    expect("KRONOS_CONTAINER_WHITELIST", "bad name!", false);
    expect("KRONOS_INSTANCE", "pod-1", true);
    expect("KRONOS_INSTANCE", "", false);
}

/* KRONOS_SIMD: avx2 and avx512 are refused, naming the variable and why, where this build or CPU
 * lacks them. */
static void simd_choice(void **state)
{
    (void)state;
    static const char *const names[] = {"auto", "portable", "avx2", "avx512"};
    static const int values[] = {CONFIG_SIMD_AUTO, CONFIG_SIMD_PORTABLE, CONFIG_SIMD_AVX2,
                                 CONFIG_SIMD_AVX512};
    const bool runs[] = {true, true, kr_simd_supported(KR_SIMD_AVX2),
                         kr_simd_supported(KR_SIMD_AVX512)};
    static const char *const quoted[] = {NULL, NULL, "KRONOS_SIMD=\"avx2\"",
                                         "KRONOS_SIMD=\"avx512\""};
    static const char *const lacks[] = {NULL, NULL, "AVX2", "AVX-512F"};
    for (int i = 0; i < 4; i++) {
        const char *env[] = {"KRONOS_SIMD", names[i], NULL};
        config c;
        char err[512] = "";
        assert_int_equal(load(&c, env, 0, NULL, err, sizeof(err)),
                         runs[i] ? CONFIG_OK : CONFIG_INVALID);
        if (runs[i]) {
            assert_int_equal(c.simd, values[i]);
            config_free(&c);
        } else {
            assert_non_null(strstr(err, quoted[i]));
            assert_non_null(strstr(err, kr_simd_built(i == 2 ? KR_SIMD_AVX2 : KR_SIMD_AVX512)
                                            ? lacks[i]
                                            : "this build has no"));
        }
    }
    expect("KRONOS_SIMD", "AVX2", false);
    expect("KRONOS_SIMD", "AVX512", false);
    expect("KRONOS_SIMD", "avx-512", false);
    expect("KRONOS_SIMD", "sse", false);
    expect("KRONOS_SIMD", "", false);
}

static void flags_override_environment(void **state)
{
    (void)state;
    const char *env[] = {"KRONOS_PORT", "9000", "KRONOS_SECURITY_ENABLED", "true", NULL};
    char *argv[] = {"kronosd",
                    "--port",
                    "9100",
                    "--security-enabled=false",
                    "--log-level=debug",
                    "--rate-limit-enabled",
                    NULL};
    config c;
    char err[512];
    assert_int_equal(load(&c, env, 6, argv, err, sizeof(err)), CONFIG_OK);
    assert_int_equal(c.port, 9100);
    assert_false(c.security_enabled);
    assert_true(c.rate_limit_enabled);
    config_free(&c);
}

static void bad_flag_names_variable(void **state)
{
    (void)state;
    char *argv[] = {"kronosd", "--max-candles=0", NULL};
    config c;
    char err[512];
    assert_int_equal(load(&c, NULL, 2, argv, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "KRONOS_MAX_CANDLES"));
    assert_non_null(strstr(err, "\"0\""));
    assert_non_null(strstr(err, "1..1000000"));

    char *unknown[] = {"kronosd", "--no-such-flag", NULL};
    assert_int_equal(load(&c, NULL, 2, unknown, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "--no-such-flag"));

    char *missing[] = {"kronosd", "--port", NULL};
    assert_int_equal(load(&c, NULL, 2, missing, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "KRONOS_PORT"));
}

static void cross_checks(void **state)
{
    (void)state;
    config c;
    char err[512];
    const char *samples[] = {"KRONOS_DEFAULT_SAMPLE_COUNT", "20", NULL};
    assert_int_equal(load(&c, samples, 0, NULL, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "KRONOS_DEFAULT_SAMPLE_COUNT"));
    const char *conns[] = {"KRONOS_MAX_CONNECTIONS", "10", NULL};
    assert_int_equal(load(&c, conns, 0, NULL, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "KRONOS_MAX_CONNECTIONS_PER_IP"));
    const char *tok[] = {"KRONOS_TOKENIZER_PATH", "/tmp", NULL};
    assert_int_equal(load(&c, tok, 0, NULL, err, sizeof(err)), CONFIG_INVALID);
    assert_non_null(strstr(err, "KRONOS_TOKENIZER_PATH"));
    const char *model[] = {"KRONOS_MODEL_PATH", "/tmp", NULL};
    assert_int_equal(load(&c, model, 0, NULL, err, sizeof(err)), CONFIG_OK);
    assert_string_equal(c.tokenizer_path, "/tmp/tokenizer");
    config_free(&c);
}

static void help_and_version(void **state)
{
    (void)state;
    config c;
    char err[512];
    strbuf out;
    sb_init(&out, 0);
    char *help[] = {"kronosd", "--help", NULL};
    fake_env = NULL;
    assert_int_equal(config_load(&c, 2, help, fake_getenv, &out, err, sizeof(err)), CONFIG_EXIT_OK);
    assert_non_null(strstr(out.data, "KRONOS_RATE_LIMIT_BURST"));
    assert_non_null(strstr(out.data, "--max-connections-per-ip"));
    assert_non_null(strstr(out.data, "default: 2048"));
    sb_reset(&out);
    char *version[] = {"kronosd", "--version", NULL};
    assert_int_equal(config_load(&c, 2, version, fake_getenv, &out, err, sizeof(err)),
                     CONFIG_EXIT_OK);
    assert_non_null(strstr(out.data, "revision"));
    assert_non_null(strstr(out.data, "compiler"));
    sb_free(&out);
}

/* Every rate-limit setting the configuration accepts is one the limiter accepts: a value above
 * the limiter's bounds is refused at start naming the variable, not by ratelimit_create(). */
static void rate_limit_settings_within_the_limiter(void **state)
{
    (void)state;
    char top_rate[32], over_rate[32], top_burst[32], over_burst[32];
    snprintf(top_rate, sizeof top_rate, "%u", RATELIMIT_MAX_PER_MINUTE);
    snprintf(over_rate, sizeof over_rate, "%u", RATELIMIT_MAX_PER_MINUTE + 1);
    snprintf(top_burst, sizeof top_burst, "%u", RATELIMIT_MAX_BURST);
    snprintf(over_burst, sizeof over_burst, "%u", RATELIMIT_MAX_BURST + 1);
    expect("KRONOS_RATE_LIMIT_PER_MINUTE", top_rate, true);
    expect("KRONOS_RATE_LIMIT_PER_MINUTE", over_rate, false);
    expect("KRONOS_RATE_LIMIT_PER_MINUTE", "10000000", false);
    expect("KRONOS_RATE_LIMIT_PER_MINUTE", "0", false);
    expect("KRONOS_RATE_LIMIT_BURST", top_burst, true);
    expect("KRONOS_RATE_LIMIT_BURST", over_burst, false);
    expect("KRONOS_RATE_LIMIT_BURST", "10000000", false);
    expect("KRONOS_RATE_LIMIT_BURST", "0", false);

    /* the extremes of what is accepted, together, build a limiter */
    const char *pairs[][2] = {{top_rate, top_burst}, {"1", top_burst}, {top_rate, "1"}, {"1", "1"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const char *env[] = {"KRONOS_RATE_LIMIT_PER_MINUTE", pairs[i][0], "KRONOS_RATE_LIMIT_BURST",
                             pairs[i][1], NULL};
        config c;
        char err[512];
        assert_int_equal(load(&c, env, 0, NULL, err, sizeof(err)), CONFIG_OK);
        ratelimit *rl = ratelimit_create((uint32_t)c.rate_limit_per_minute,
                                         (uint32_t)c.rate_limit_burst, 16, err, sizeof(err));
        if (!rl)
            fail_msg("per minute %s, burst %s: accepted by config, refused by the limiter: %s",
                     pairs[i][0], pairs[i][1], err);
        ratelimit_free(rl);
        config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_limit_settings_within_the_limiter),
        cmocka_unit_test(defaults_match_spec),
        cmocka_unit_test(every_kind_good_and_bad),
        cmocka_unit_test(simd_choice),
        cmocka_unit_test(flags_override_environment),
        cmocka_unit_test(bad_flag_names_variable),
        cmocka_unit_test(cross_checks),
        cmocka_unit_test(help_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
