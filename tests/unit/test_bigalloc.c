/*
 * big_alloc: 2 MiB-aligned memory, advised for transparent huge pages (VmFlags "hg" in
 * /proc/self/smaps), writable to the last byte. The advice is checked wherever a control mapping
 * advised by the test itself shows it: not where the kernel has no THP, nor under qemu user mode
 * (which runs the arm64 suites and does not pass madvise on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "util/bigalloc.h"

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

/* Whether this process can see MADV_HUGEPAGE advice at all: a mapping advised here. */
static int advice_visible(void)
{
#ifdef MADV_HUGEPAGE
    size_t n = (size_t)4 << 20;
    void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    char flags[512];
    int seen = 0;
    if (madvise(m, n, MADV_HUGEPAGE) == 0) {
        vm_flags_of(m, flags, sizeof flags);
        seen = strstr(flags, " hg") != NULL;
    }
    munmap(m, n);
    return seen;
#else
    return 0;
#endif
}

static void aligned_advised_writable(void **state)
{
    (void)state;
    int check_advice = advice_visible();
    if (!check_advice)
        print_message("huge-page advice not visible here: alignment and writes checked only\n");
    size_t sizes[] = {1, 4096, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = big_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ((uintptr_t)2 << 20), 0);
        memset(p, 0xab, sizes[i]);
        assert_int_equal(p[sizes[i] - 1], 0xab);
        if (check_advice) {
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
