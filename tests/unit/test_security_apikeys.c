#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "security/apikeys.h"

#define KEY_A "aaaaaaaaaaaaaaaa-alpha"
#define KEY_B "bbbbbbbbbbbbbbbb:beta:with:colons"

static apikeys *parse_ok(const char *text)
{
    apikeys *k = NULL;
    char err[256] = "";
    if (apikeys_parse(text, strlen(text), &k, err, sizeof(err)) != 0)
        fail_msg("rejected: %s", err);
    return k;
}

/* Parses text that must fail; returns the message. */
static const char *parse_err(const char *text, size_t len)
{
    static char err[256];
    apikeys *k = (apikeys *)1;
    err[0] = '\0';
    assert_int_equal(apikeys_parse(text, len, &k, err, sizeof(err)), -1);
    assert_null(k);
    return err;
}

static void parses_names_keys_comments_and_blanks(void **state)
{
    (void)state;
    apikeys *k = parse_ok("# team keys\n"
                          "\n"
                          "   \t\n"
                          "alice:" KEY_A "\r\n"
                          "  # indented comment\n"
                          "  bob.svc-1_x:" KEY_B "   \n");
    assert_int_equal(apikeys_count(k), 2);
    assert_string_equal(apikeys_name_at(k, 0), "alice");
    assert_string_equal(apikeys_name_at(k, 1), "bob.svc-1_x");
    assert_null(apikeys_name_at(k, 2));
    apikeys_free(k);
}

static void looks_up_keys_exactly(void **state)
{
    (void)state;
    apikeys *k = parse_ok("alice:" KEY_A "\nbob:" KEY_B);
    assert_string_equal(apikeys_lookup(k, KEY_A, strlen(KEY_A)), "alice");
    assert_string_equal(apikeys_lookup(k, KEY_B, strlen(KEY_B)), "bob");
    /* a prefix, an extension, one byte off, another case: all wrong */
    assert_null(apikeys_lookup(k, KEY_A, strlen(KEY_A) - 1));
    assert_null(apikeys_lookup(k, KEY_A "x", strlen(KEY_A) + 1));
    assert_null(apikeys_lookup(k, "aaaaaaaaaaaaaaaa-alphA", strlen(KEY_A)));
    assert_null(apikeys_lookup(k, "AAAAAAAAAAAAAAAA-ALPHA", strlen(KEY_A)));
    /* padding must not make a shorter key plus NULs equal */
    char padded[64] = KEY_A;
    assert_null(apikeys_lookup(k, padded, strlen(KEY_A) + 3));
    assert_null(apikeys_lookup(k, "", 0));
    assert_null(apikeys_lookup(k, NULL, 5));
    assert_null(apikeys_lookup(NULL, KEY_A, strlen(KEY_A)));
    char huge[APIKEYS_KEY_MAX + 2];
    memset(huge, 'a', sizeof(huge));
    assert_null(apikeys_lookup(k, huge, sizeof(huge)));
    /* the last key of many is found as well as the first */
    apikeys_free(k);
}

static void finds_any_of_many_keys(void **state)
{
    (void)state;
    char text[64 * 80] = "";
    for (int i = 0; i < 50; i++) {
        char line[80];
        snprintf(line, sizeof(line), "svc%02d:key-%02d-0123456789abcdef\n", i, i);
        strcat(text, line);
    }
    apikeys *k = parse_ok(text);
    assert_int_equal(apikeys_count(k), 50);
    for (int i = 0; i < 50; i++) {
        char key[40], name[8];
        snprintf(key, sizeof(key), "key-%02d-0123456789abcdef", i);
        snprintf(name, sizeof(name), "svc%02d", i);
        assert_string_equal(apikeys_lookup(k, key, strlen(key)), name);
    }
    apikeys_free(k);
}

static void accepts_length_bounds(void **state)
{
    (void)state;
    char text[400];
    char key[APIKEYS_KEY_MAX + 1];
    memset(key, 'k', APIKEYS_KEY_MAX);
    key[APIKEYS_KEY_MAX] = '\0';
    snprintf(text, sizeof(text),
             "a:0123456789abcdef\n"
             "n123456789n123456789n123456789n123456789n123456789n123456789abcd:%s\n",
             key);
    apikeys *k = parse_ok(text);
    assert_string_equal(apikeys_lookup(k, "0123456789abcdef", 16), "a");
    assert_int_equal(strlen(apikeys_name_at(k, 1)), 64);
    assert_string_equal(apikeys_lookup(k, key, APIKEYS_KEY_MAX), apikeys_name_at(k, 1));
    apikeys_free(k);
}

static void assert_line_error(const char *text, const char *expect)
{
    const char *err = parse_err(text, strlen(text));
    if (!strstr(err, expect))
        fail_msg("for %s: expected '%s' in '%s'", text, expect, err);
}

static void rejects_bad_lines_naming_the_line(void **state)
{
    (void)state;
    assert_line_error("# c\nalice " KEY_A "\n", "line 2: expected name:key");
    assert_line_error(":" KEY_A, "line 1: name must be");
    assert_line_error("al ice:" KEY_A, "line 1: name must be");
    assert_line_error("al/ice:" KEY_A, "line 1: name must be");
    assert_line_error("n123456789n123456789n123456789n123456789n123456789n123456789abcde:" KEY_A,
                      "line 1: name must be");
    assert_line_error("\n\nalice:short-key-15ch", "line 3: key must be 16-256");
    assert_line_error("alice:", "line 1: key must be 16-256");
    assert_line_error("alice:aaaaaaaa aaaaaaaaa", "line 1: key must be printable");
    assert_line_error("alice:aaaaaaaaaaaaaaaa\taaa", "line 1: key must be printable");
    assert_line_error("alice:aaaaaaaaaaaaaaaa\x7f", "line 1: key must be printable");
    assert_line_error("alice:aaaaaaaaaaaaaaaa\xc3\xa9", "line 1: key must be printable");
    char longkey[APIKEYS_KEY_MAX + 16] = "alice:";
    memset(longkey + 6, 'k', APIKEYS_KEY_MAX + 1);
    longkey[6 + APIKEYS_KEY_MAX + 1] = '\0';
    assert_line_error(longkey, "line 1: key must be 16-256");
}

static void rejects_duplicates(void **state)
{
    (void)state;
    assert_line_error("alice:" KEY_A "\nbob:" KEY_B "\nalice:cccccccccccccccccccc",
                      "line 3: duplicate name 'alice' (first on line 1)");
    assert_line_error("alice:" KEY_A "\n\nbob:" KEY_A, "line 3: key of 'bob' is the same as");
}

static void rejects_empty_and_nul(void **state)
{
    (void)state;
    assert_line_error("", "no keys");
    assert_line_error("# only comments\n\n", "no keys");
    const char text[] = "alice:" KEY_A "\0\n";
    parse_err(text, sizeof(text) - 1);
}

static void errors_never_contain_key_material(void **state)
{
    (void)state;
    const char *secret = "s3cr3t-v4lue-zz";
    const char *cases[] = {
        "alice:s3cr3t-v4lue-zz",                              /* too short */
        "alice:s3cr3t-v4lue-zz s3cr3t",                       /* space */
        "s3cr3t-v4lue-zz-s3cr3t-v4lue-zz",                    /* no colon */
        "alice:s3cr3t-v4lue-zzzzzz\nbob:s3cr3t-v4lue-zzzzzz", /* duplicate key */
        "s3cr3t-v4lue-zz/x:s3cr3t-v4lue-zzzzzz",              /* bad name */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = parse_err(cases[i], strlen(cases[i]));
        if (strstr(err, secret) || strstr(err, "s3cr3t"))
            fail_msg("message leaks key material: %s", err);
    }
}

static void limits_number_of_keys(void **state)
{
    (void)state;
    size_t cap = (APIKEYS_MAX_KEYS + 1) * 48;
    char *text = malloc(cap);
    size_t len = 0;
    for (int i = 0; i <= APIKEYS_MAX_KEYS; i++)
        len += (size_t)snprintf(text + len, cap - len, "k%d:key-0123456789-%d\n", i, i);
    const char *err = parse_err(text, len);
    assert_non_null(strstr(err, "line 1025: too many keys"));
    free(text);
}

static void loads_files(void **state)
{
    (void)state;
    char path[] = "/tmp/kronos-apikeys-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# keys\nalice:" KEY_A "\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);

    apikeys *k = NULL;
    char err[512] = "";
    assert_int_equal(apikeys_load_file(path, &k, err, sizeof(err)), 0);
    assert_string_equal(apikeys_lookup(k, KEY_A, strlen(KEY_A)), "alice");
    apikeys_free(k);

    FILE *f = fopen(path, "a");
    fputs("broken line\n", f);
    fclose(f);
    assert_int_equal(apikeys_load_file(path, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 3: expected name:key"));
    unlink(path);

    assert_int_equal(apikeys_load_file(path, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(apikeys_load_file("/tmp", &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(k);
    apikeys_free(NULL);
}

/* Other users may neither read nor change the keys, the group may not change them: refused,
 * naming the mode and the fix. Group read is accepted and reported through apikeys_file_mode. */
static void refuses_files_others_can_read_or_change(void **state)
{
    (void)state;
    char path[] = "/tmp/kronos-apikeys-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "alice:" KEY_A "\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);

    static const struct {
        unsigned mode;
        bool ok;
    } cases[] = {{0600, true},  {0400, true},  {0640, true},  {0440, true},
                 {0700, true},  {0644, false}, {0604, false}, {0602, false},
                 {0620, false}, {0660, false}, {0666, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chmod(path, cases[i].mode), 0);
        apikeys *k = NULL;
        char err[512] = "", mode[16];
        int rc = apikeys_load_file(path, &k, err, sizeof(err));
        snprintf(mode, sizeof mode, "mode %04o", cases[i].mode);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("%s refused: %s", mode, err);
            assert_int_equal(apikeys_file_mode(k), cases[i].mode);
            apikeys_free(k);
        } else {
            if (rc == 0)
                fail_msg("%s accepted", mode);
            assert_null(k);
            assert_non_null(strstr(err, path));
            assert_non_null(strstr(err, mode));
            assert_non_null(strstr(err, "chmod 600"));
            assert_null(strstr(err, KEY_A));
        }
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_names_keys_comments_and_blanks),
        cmocka_unit_test(looks_up_keys_exactly),
        cmocka_unit_test(finds_any_of_many_keys),
        cmocka_unit_test(accepts_length_bounds),
        cmocka_unit_test(rejects_bad_lines_naming_the_line),
        cmocka_unit_test(rejects_duplicates),
        cmocka_unit_test(rejects_empty_and_nul),
        cmocka_unit_test(errors_never_contain_key_material),
        cmocka_unit_test(limits_number_of_keys),
        cmocka_unit_test(loads_files),
        cmocka_unit_test(refuses_files_others_can_read_or_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
