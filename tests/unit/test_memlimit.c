/*
 * What the machine has: MemTotal, lowered by a cgroup v2 memory.max or v1 memory.limit_in_bytes
 * on the process's cgroup or an ancestor, read from fake /proc and /sys trees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_root.h"
#include "util/memlimit.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    assert_int_equal(fake_root_put(root, rel, text), 0);
}

static int setup(void **state)
{
    (void)state;
    if (fake_root_create(root, sizeof root, "memlimit") != 0)
        return -1;
    put("proc/meminfo", "MemFree:   100 kB\nMemTotal:       16384 kB\nSwapTotal: 0 kB\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fake_root_remove(root);
}

static uint64_t limit(char *source, size_t n)
{
    uint64_t bytes = 0;
    assert_int_equal(memlimit_read(root, &bytes, source, n), 0);
    return bytes;
}

static void mem_total_alone(void **state)
{
    (void)state;
    char src[128];
    assert_true(limit(src, sizeof src) == 16384 * 1024);
    assert_string_equal(src, "MemTotal");
}

static void cgroup_v2_lowest_on_the_path(void **state)
{
    (void)state;
    char src[128];
    put("proc/self/cgroup", "0::/kubepods/pod1/c1\n");
    put("sys/fs/cgroup/kubepods/pod1/c1/memory.max", "max\n");
    put("sys/fs/cgroup/kubepods/pod1/memory.max", "8388608\n");
    put("sys/fs/cgroup/kubepods/memory.max", "9000000\n");
    assert_true(limit(src, sizeof src) == 8388608);
    assert_string_equal(src, "cgroup v2 memory.max /kubepods/pod1");
    /* a limit above MemTotal changes nothing */
    put("sys/fs/cgroup/kubepods/pod1/memory.max", "99999999999\n");
    assert_true(limit(src, sizeof src) == 9000000);
    put("sys/fs/cgroup/kubepods/memory.max", "max\n");
    assert_true(limit(src, sizeof src) == 16384 * 1024);
    assert_string_equal(src, "MemTotal");
}

static void cgroup_v1_and_a_path_not_visible(void **state)
{
    (void)state;
    char src[128];
    /* hybrid: the v2 line has no memory controller; v1 memory is named among others */
    put("proc/self/cgroup", "9:pids:/x\n4:memory:/docker/abc\n0::/\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    assert_true(limit(src, sizeof src) == 16384 * 1024);
    /* /docker/abc is the host's name for it; inside, the mount root is the container's cgroup */
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "4194304\n");
    assert_true(limit(src, sizeof src) == 4194304);
    assert_string_equal(src, "cgroup v1 memory.limit_in_bytes /");
    put("proc/self/cgroup", "4:cpu,memory:/docker/abc\n");
    put("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "2097152\n");
    assert_true(limit(src, sizeof src) == 2097152);
}

static void no_meminfo_is_an_error(void **state)
{
    (void)state;
    uint64_t bytes;
    char src[64];
    assert_int_equal(memlimit_read("/nonexistent-root", &bytes, src, sizeof src), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mem_total_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(cgroup_v2_lowest_on_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(cgroup_v1_and_a_path_not_visible, setup, teardown),
        cmocka_unit_test(no_meminfo_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
