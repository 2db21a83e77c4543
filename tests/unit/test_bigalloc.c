/*
 * big_alloc: 2 MiB-aligned memory, advised for transparent huge pages (VmFlags "hg" in
 * /proc/self/smaps) where the kernel offers them, writable to the last byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/bigalloc.h"

/* Whether the kernel offers huge pages to advised memory ("[always]" or "[madvise]"). */
static int thp_offered(void)
{
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return 0;
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    return strstr(line, "[never]") == NULL && line[0] != '\0';
}

/* The VmFlags of the mapping holding p, from /proc/self/smaps ("" when not found). */
static void vm_flags_of(const void *p, char *flags, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int inside = 0;
    flags[0] = '\0';
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = a >= lo && a < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, n, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static void aligned_advised_writable(void **state)
{
    (void)state;
    size_t sizes[] = {1, 4096, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = big_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ((uintptr_t)2 << 20), 0);
        memset(p, 0xab, sizes[i]);
        assert_int_equal(p[sizes[i] - 1], 0xab);
        if (thp_offered()) {
            char flags[512];
            vm_flags_of(p, flags, sizeof flags);
            if (!strstr(flags, " hg"))
                fail_msg("%zu bytes at %p: VmFlags%s without hg", sizes[i], (void *)p, flags);
        }
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(aligned_advised_writable)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
