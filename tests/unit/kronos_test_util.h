#ifndef KRONOS_TEST_UTIL_H
#define KRONOS_TEST_UTIL_H

/* Helpers shared by the Kronos engine tests (header-only: each test is its own executable). */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kronos/kernels.h"
#include "engine/kronos/safetensors.h"

/* The kernel set a suite checks: KRONOS_SIMD=portable|avx2|avx512 in its environment, as kronosd
 * reads it (tests/CMakeLists.txt registers *_portable and *_avx2 copies of the numeric suites).
 * A forced set is never silently replaced by another: exits 1 when the name is unknown or the
 * build lacks the set, KT_SKIP (CTest's SKIP_RETURN_CODE, reported as skipped) when only this CPU
 * does. Prints the set in use. */
#define KT_SKIP 77
static inline void kt_use_requested_kernels(void)
{
    const char *want = getenv("KRONOS_SIMD");
    if (want && *want && strcmp(want, "auto") != 0) {
        static const kr_simd sets[] = {KR_SIMD_PORTABLE, KR_SIMD_AVX2, KR_SIMD_AVX512};
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(want, kr_simd_name(sets[i])) == 0)
                found = i;
        if (found < 0 || !kr_simd_built(sets[found])) {
            fprintf(stderr, "KRONOS_SIMD=%s: no such kernel set in this build\n", want);
            exit(1);
        }
        if (kr_simd_use(sets[found]) != 0) {
            fprintf(stderr, "KRONOS_SIMD=%s: this CPU cannot run it; skipped\n", want);
            exit(KT_SKIP);
        }
        if (kr_simd_active() != sets[found])
            exit(1);
    }
    fprintf(stderr, "kernels: %s\n", kr_simd_name(kr_simd_active()));
}

static inline json_t *kt_load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fprintf(stderr, "%s: %s\n", path, e.text);
    return j;
}

/* Reads a CSV of a header line then rows "timestamp,v1,...,vk" into vals[rows][k]. */
static inline int kt_read_csv(const char *path, float *vals, int rows, int k)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char line[4096];
    int r = 0;
    if (!fgets(line, sizeof(line), fp)) {
        fclose(fp);
        return -1;
    }
    while (r < rows && fgets(line, sizeof(line), fp)) {
        char *p = strchr(line, ',');
        for (int c = 0; c < k && p; c++) {
            vals[(size_t)r * k + c] = strtof(p + 1, NULL);
            p = strchr(p + 1, ',');
        }
        r++;
    }
    fclose(fp);
    return r;
}

static inline int kt_copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int rc = a && b ? 0 : -1;
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof(buf), a)) > 0)
        rc = fwrite(buf, 1, n, b) == n ? 0 : -1;
    if (a)
        fclose(a);
    if (b && fclose(b) != 0)
        rc = -1;
    return rc;
}

#endif
