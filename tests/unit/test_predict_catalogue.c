/* Runs every request of tests/integration/bad_requests/ through predict_parse and checks the
 * status, code and first field path that expected.tsv promises. Rows for other content types
 * are HTTP-level checks left to the integration test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <dirent.h>

#include "predict_test_util.h"

/* Built from this file's own path: KRONOS_TEST_DATA_DIR (tests/unit/data) need not exist, and
 * a path through a missing directory does not resolve. */
static char CATALOGUE_DIR[1024];

static void find_catalogue(void)
{
    snprintf(CATALOGUE_DIR, sizeof CATALOGUE_DIR, "%s", __FILE__);
    char *slash = strrchr(CATALOGUE_DIR, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(CATALOGUE_DIR, sizeof CATALOGUE_DIR, "%s/..", KRONOS_TEST_DATA_DIR);
    strncat(CATALOGUE_DIR, "/../integration/bad_requests",
            sizeof CATALOGUE_DIR - strlen(CATALOGUE_DIR) - 1);
}

static char *read_all(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)size;
    return buf;
}

typedef struct row {
    char file[128], route[16], ctype[64], code[32], field[128];
    int status;
} row;

static size_t load_manifest(row *rows, size_t max)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/expected.tsv", CATALOGUE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_true(n < max);
        row *r = &rows[n];
        int k = sscanf(line, "%127[^\t]\t%15[^\t]\t%63[^\t]\t%d\t%31[^\t]\t%127[^\t\n]", r->file,
                       r->route, r->ctype, &r->status, r->code, r->field);
        if (k != 6)
            fail_msg("malformed manifest line: %s", line);
        n++;
    }
    fclose(f);
    return n;
}

static void every_request_gets_its_answer(void **state)
{
    (void)state;
    static row rows[512];
    size_t n = load_manifest(rows, 512);
    assert_true(n >= 60);
    size_t checked = 0, failures = 0;
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        if (strcmp(r->ctype, "application/json") != 0)
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", CATALOGUE_DIR, r->file);
        size_t len;
        char *body = read_all(path, &len);
        if (!body)
            fail_msg("cannot read %s", path);
        predict_limits lim = predict_limits_default();
        predict_defaults def = predict_defaults_default();
        predict_request req;
        predict_error err;
        predict_error_init(&err);
        int st = predict_parse(body, len, strcmp(r->route, "batch") == 0, &lim, &def, &req, &err);
        int http = st == PREDICT_OK ? 200 : st;
        const char *code = st == PREDICT_OK ? "-" : err.code;
        const char *field =
            json_array_size(err.details) && first_field(&err)[0] ? first_field(&err) : "-";
        if (http != r->status || strcmp(code, r->code) != 0 || strcmp(field, r->field) != 0) {
            print_error("%s: got %d %s %s (%s), want %d %s %s\n", r->file, http, code, field,
                        err.message, r->status, r->code, r->field);
            failures++;
        }
        if (st != PREDICT_OK && (strchr(err.message, '\n') || err.message[0] == '\0')) {
            print_error("%s: message not one line: %s\n", r->file, err.message);
            failures++;
        }
        predict_request_free(&req);
        predict_error_clear(&err);
        free(body);
        checked++;
    }
    assert_int_equal(failures, 0);
    assert_true(checked >= 60);
}

/* Every file in the directory has a manifest row, and every row its file. */
static void manifest_and_files_agree(void **state)
{
    (void)state;
    static row rows[512];
    size_t n = load_manifest(rows, 512);
    DIR *d = opendir(CATALOGUE_DIR);
    assert_non_null(d);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        files++;
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
            listed = strcmp(rows[i].file, e->d_name) == 0;
        if (!listed)
            fail_msg("%s is not in expected.tsv", e->d_name);
    }
    closedir(d);
    assert_int_equal(files, n);
}

int main(void)
{
    find_catalogue();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_request_gets_its_answer),
        cmocka_unit_test(manifest_and_files_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
