/*
 * Broken model folders fail to load with a message naming the problem, never crash or leak:
 * copies of the golden tiny weights that are truncated, have a corrupted header, lack a
 * tensor, have a wrong shape or a NaN, or lack config.json; plus hand-made malformed files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors_write.h"
#include "engine/kronos/kronos_engine.h"
#include "kronos_test_util.h"

#define TINY KRONOS_GOLDEN_DIR "/tiny"

typedef struct fixture {
    char root[256], model[300], tok[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/kronos-loader-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->model, sizeof(f->model), "%s/model", f->root);
    snprintf(f->tok, sizeof(f->tok), "%s/tokenizer", f->root);
    mkdir(f->model, 0700);
    mkdir(f->tok, 0700);
    const char *files[] = {"config.json", "model.safetensors"};
    char a[512], b[512];
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof(a), TINY "/model/%s", files[i]);
        snprintf(b, sizeof(b), "%s/%s", f->model, files[i]);
        if (kt_copy_file(a, b))
            return -1;
        snprintf(a, sizeof(a), TINY "/tokenizer/%s", files[i]);
        snprintf(b, sizeof(b), "%s/%s", f->tok, files[i]);
        if (kt_copy_file(a, b))
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[600];
    const char *sub[] = {"model", "tokenizer"};
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            snprintf(p, sizeof(p), "%s/%s/%s", f->root, sub[i], files[j]);
            unlink(p);
        }
    rmdir(f->model);
    rmdir(f->tok);
    rmdir(f->root);
    free(f);
    return 0;
}

/* Loads the fixture's folders; returns the status and the message in err. */
static int load(fixture *f, char *err, size_t errlen)
{
    engine *e = kronos_engine_create(f->model, f->tok, 16, 5.0, 1);
    assert_non_null(e);
    err[0] = 0;
    int rc = e->ops->load(e, err, errlen);
    e->ops->destroy(e);
    return rc;
}

static void expect_failure(fixture *f, const char *needle)
{
    char err[512];
    assert_int_equal(load(f, err, sizeof(err)), ENGINE_ERROR);
    fprintf(stderr, "load failed as expected: %s\n", err);
    if (!strstr(err, needle))
        fail_msg("message '%s' does not mention '%s'", err, needle);
}

/* Rewrites dir/model.safetensors from the golden copy, applying edit to each tensor. */
typedef int (*edit_fn)(kst_out *o, void **owned, const char *target);

static void rewrite(const char *src, const char *dst, edit_fn edit, const char *target)
{
    kst_file in;
    char err[512];
    assert_int_equal(kst_open(&in, src, err, sizeof(err)), 0);
    kst_out *out = calloc(in.count, sizeof(kst_out));
    void **owned = calloc(in.count, sizeof(void *));
    size_t n = 0;
    for (size_t i = 0; i < in.count; i++) {
        const kst_tensor *t = &in.tensors[i];
        kst_out o = {t->name, t->dtype, t->ndim, {0}, t->data};
        memcpy(o.shape, t->shape, sizeof(o.shape));
        if (strcmp(t->name, target) != 0 || edit(&o, &owned[i], target))
            out[n++] = o;
    }
    assert_int_equal(kst_write(dst, out, n, err, sizeof(err)), 0);
    for (size_t i = 0; i < in.count; i++)
        free(owned[i]);
    free(owned);
    free(out);
    kst_close(&in);
}

static int drop(kst_out *o, void **owned, const char *target)
{
    (void)o, (void)owned, (void)target;
    return 0;
}

static int reshape(kst_out *o, void **owned, const char *target)
{
    (void)target;
    o->shape[0] += 1;
    size_t n = 1;
    for (int i = 0; i < o->ndim; i++)
        n *= (size_t)o->shape[i];
    *owned = calloc(n, sizeof(float));
    o->data = *owned;
    return 1;
}

static int poison(kst_out *o, void **owned, const char *target)
{
    (void)target;
    size_t n = 1;
    for (int i = 0; i < o->ndim; i++)
        n *= (size_t)o->shape[i];
    float *v = malloc(n * sizeof(float));
    memcpy(v, o->data, n * sizeof(float));
    v[n / 2] = NAN;
    *owned = v;
    o->data = v;
    return 1;
}

static void model_file(fixture *f, char *p, size_t n)
{
    snprintf(p, n, "%s/model.safetensors", f->model);
}

static void intact_copy_loads(void **state)
{
    char err[512];
    assert_int_equal(load(*state, err, sizeof(err)), ENGINE_OK);
}

static void truncated_file(void **state)
{
    char p[600];
    model_file(*state, p, sizeof(p));
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size / 2), 0);
    expect_failure(*state, "outside the file");
    assert_int_equal(truncate(p, 5), 0);
    expect_failure(*state, "truncated");
}

/* One greedy forecast of a fixed series (tiny set: max_context 16). */
static void forecast_into(engine *e, float *mean)
{
    float x[12 * 6];
    engine_time tm[12];
    for (int r = 0; r < 12; r++) {
        for (int c = 0; c < 6; c++)
            x[r * 6 + c] = 100.0f + (float)((r * 7 + c * 3) % 11);
        tm[r] = (engine_time){(r * 5) % 60, 10, 2, 14, 10};
    }
    engine_series se = {12, x, tm, 4, tm, {1.0, 1, 1.0, 1, 0}, NULL};
    engine_forecast out;
    char err[256];
    assert_int_equal(e->ops->predict(e, &se, 1, &out, NULL, err, sizeof(err)), ENGINE_OK);
    memcpy(mean, out.mean, sizeof(float) * 4 * 6);
    engine_forecast_free(&out);
}

/* Once loaded, the weights are the process's own: truncating the files (which kills a process
 * that maps them, SIGBUS) or writing other bytes into them changes nothing. */
static void files_changed_after_load(void **state)
{
    fixture *f = *state;
    engine *e = kronos_engine_create(f->model, f->tok, 16, 5.0, 1);
    char err[512], paths[2][600];
    assert_int_equal(e->ops->load(e, err, sizeof(err)), ENGINE_OK);
    float before[24], after[24];
    forecast_into(e, before);
    snprintf(paths[0], sizeof(paths[0]), "%s/model.safetensors", f->model);
    snprintf(paths[1], sizeof(paths[1]), "%s/model.safetensors", f->tok);
    for (int i = 0; i < 2; i++)
        assert_int_equal(truncate(paths[i], 0), 0);
    forecast_into(e, after);
    assert_memory_equal(before, after, sizeof(before));
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(paths[i], "wb");
        assert_non_null(fp);
        for (int k = 0; k < 1 << 16; k++)
            fputc(0x5a, fp);
        fclose(fp);
    }
    forecast_into(e, after);
    assert_memory_equal(before, after, sizeof(before));
    e->ops->destroy(e);
}

static void corrupted_header(void **state)
{
    char p[600];
    model_file(*state, p, sizeof(p));
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    fseek(fp, 20, SEEK_SET);
    fwrite("#!garbage{{", 1, 11, fp);
    fclose(fp);
    expect_failure(*state, "header");
}

static void absurd_header_length(void **state)
{
    char p[600];
    model_file(*state, p, sizeof(p));
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    unsigned char big[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    fwrite(big, 1, 8, fp);
    fclose(fp);
    expect_failure(*state, "header length");
}

static void missing_tensor(void **state)
{
    char p[600];
    model_file(*state, p, sizeof(p));
    rewrite(TINY "/model/model.safetensors", p, drop, "transformer.1.ffn.w3.weight");
    expect_failure(*state, "transformer.1.ffn.w3.weight");
}

static void wrong_shape(void **state)
{
    char p[600];
    model_file(*state, p, sizeof(p));
    rewrite(TINY "/model/model.safetensors", p, reshape, "head.proj_s2.weight");
    expect_failure(*state, "head.proj_s2.weight");
}

static void nan_value(void **state)
{
    fixture *f = *state;
    char p[600];
    snprintf(p, sizeof(p), "%s/model.safetensors", f->tok);
    rewrite(TINY "/tokenizer/model.safetensors", p, poison, "decoder.1.ffn.w2.weight");
    expect_failure(f, "decoder.1.ffn.w2.weight");
    expect_failure(f, "non-finite");
}

static void missing_config(void **state)
{
    fixture *f = *state;
    char p[600];
    snprintf(p, sizeof(p), "%s/config.json", f->tok);
    assert_int_equal(unlink(p), 0);
    expect_failure(f, "config.json");
}

static void bad_config_value(void **state)
{
    fixture *f = *state;
    char p[600];
    snprintf(p, sizeof(p), "%s/config.json", f->model);
    FILE *fp = fopen(p, "w");
    fputs("{\"d_model\": 32, \"ff_dim\": 64, \"n_heads\": 3, \"n_layers\": 2, \"s1_bits\": 4, "
          "\"s2_bits\": 4, \"learn_te\": true}",
          fp);
    fclose(fp);
    expect_failure(f, "heads");
}

/* Hand-made files: overlapping tensors, size mismatch, unknown dtype. */
static void write_raw(const char *path, const char *hdr, size_t data_bytes)
{
    FILE *fp = fopen(path, "wb");
    uint64_t len = strlen(hdr), n = (len + 7) / 8 * 8; /* writers pad to 8 for alignment */
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(n >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(hdr, 1, len, fp);
    for (uint64_t i = len; i < n; i++)
        fputc(' ', fp);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(0, fp);
    fclose(fp);
}

static void malformed_files(void **state)
{
    fixture *f = *state;
    char p[600], err[512];
    kst_file st;
    snprintf(p, sizeof(p), "%s/raw.safetensors", f->root);
    write_raw(p,
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
              16);
    assert_int_equal(kst_open(&st, p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "overlap"));
    write_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    assert_int_equal(kst_open(&st, p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs 12 bytes"));
    write_raw(p, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    assert_int_equal(kst_open(&st, p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "dtype"));
    write_raw(p, "[1,2,3]", 0);
    assert_int_equal(kst_open(&st, p, err, sizeof(err)), -1);
    write_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    assert_int_equal(kst_open(&st, p, err, sizeof(err)), 0);
    assert_non_null(kst_find(&st, "a"));
    assert_null(kst_find(&st, "b"));
    kst_close(&st);
    unlink(p);
}

/* Random byte flips in the header and random truncations: every load either succeeds or fails
 * with a message; none may crash (the ASan build checks for overreads and leaks). */
static void mutated_headers(void **state)
{
    fixture *f = *state;
    char p[600], err[512];
    model_file(f, p, sizeof(p));
    FILE *fp = fopen(TINY "/model/model.safetensors", "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    rewind(fp);
    unsigned char *orig = malloc((size_t)size), *buf = malloc((size_t)size);
    assert_int_equal(fread(orig, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | orig[i];
    uint64_t rng = 12345;
    int ok = 0, failed = 0;
    for (int trial = 0; trial < 300; trial++) {
        memcpy(buf, orig, (size_t)size);
        long len = size;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        if (trial % 3 == 2)
            len = (long)((rng >> 33) % (uint64_t)size);
        else
            for (int k = 0; k < 1 + trial % 4; k++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                buf[(rng >> 33) % (hlen + 8)] = (unsigned char)(rng >> 13);
            }
        FILE *out = fopen(p, "wb");
        fwrite(buf, 1, (size_t)len, out);
        fclose(out);
        if (load(f, err, sizeof(err)) == ENGINE_OK)
            ok++;
        else {
            assert_true(strlen(err) > 0);
            failed++;
        }
    }
    fprintf(stderr, "mutations: %d loaded, %d rejected\n", ok, failed);
    assert_true(failed > 100);
    free(orig);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(intact_copy_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_file, setup, teardown),
        cmocka_unit_test_setup_teardown(files_changed_after_load, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupted_header, setup, teardown),
        cmocka_unit_test_setup_teardown(absurd_header_length, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_tensor, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(nan_value, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_config, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_config_value, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_files, setup, teardown),
        cmocka_unit_test_setup_teardown(mutated_headers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
