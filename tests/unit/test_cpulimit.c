/*
 * The CPU a container gives: a cgroup v2 cpu.max or v1 cpu.cfs_quota_us / cpu.cfs_period_us on the
 * process's cgroup or an ancestor, read from fake /proc and /sys trees; and the default thread
 * count it makes.
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
#include "util/cpulimit.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    assert_int_equal(fake_root_put(root, rel, text), 0);
}

static int setup(void **state)
{
    (void)state;
    return fake_root_create(root, sizeof root, "cpulimit");
}

static int teardown(void **state)
{
    (void)state;
    return fake_root_remove(root);
}

static double quota(char *source, size_t n)
{
    double cpus = -1;
    cpulimit_quota(root, &cpus, source, n);
    return cpus;
}

static void no_cgroup_file_no_quota(void **state)
{
    (void)state;
    char src[128];
    assert_true(quota(src, sizeof src) == 0);
    assert_string_equal(src, "none");
    put("proc/self/cgroup", "0::/user.slice\n");
    put("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    assert_true(quota(src, sizeof src) == 0);
}

static void cgroup_v2_lowest_on_the_path(void **state)
{
    (void)state;
    char src[128];
    put("proc/self/cgroup", "0::/kubepods/pod1/c1\n");
    put("sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
    put("sys/fs/cgroup/kubepods/cpu.max", "400000 100000\n");
    assert_true(quota(src, sizeof src) == 1.5);
    assert_string_equal(src, "cgroup v2 cpu.max /kubepods/pod1");
    put("sys/fs/cgroup/kubepods/cpu.max", "50000 100000\n");
    assert_true(quota(src, sizeof src) == 0.5);
    assert_string_equal(src, "cgroup v2 cpu.max /kubepods");
    /* garbage is no quota */
    put("sys/fs/cgroup/kubepods/cpu.max", "lots\n");
    put("sys/fs/cgroup/kubepods/pod1/cpu.max", "0 100000\n");
    assert_true(quota(src, sizeof src) == 0);
}

static void cgroup_v1_and_a_path_not_visible(void **state)
{
    (void)state;
    char src[128];
    /* hybrid: the v2 line has no cpu controller; v1 cpu is named with cpuacct */
    put("proc/self/cgroup", "9:pids:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    assert_true(quota(src, sizeof src) == 0);
    /* /docker/abc is the host's name for it; inside, the mount root is the container's cgroup */
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "200000\n");
    assert_true(quota(src, sizeof src) == 2.0);
    assert_string_equal(src, "cgroup v1 cpu.cfs_quota_us /");
    put("sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us", "25000\n");
    put("sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us", "50000\n");
    assert_true(quota(src, sizeof src) == 0.5);
    assert_string_equal(src, "cgroup v1 cpu.cfs_quota_us /docker/abc");
    /* cpuacct alone is not cpu */
    put("proc/self/cgroup", "3:cpuacct:/docker/abc\n");
    assert_true(quota(src, sizeof src) == 0);
}

static void threads_from_cores_and_quota(void **state)
{
    (void)state;
    assert_int_equal(cpulimit_threads(8, 0), 8);    /* no quota */
    assert_int_equal(cpulimit_threads(8, 2.0), 2);  /* quota below the cores */
    assert_int_equal(cpulimit_threads(8, 2.9), 2);  /* rounded down: a third would be throttled */
    assert_int_equal(cpulimit_threads(8, 0.5), 1);  /* at least one */
    assert_int_equal(cpulimit_threads(4, 16.0), 4); /* a quota above the cores changes nothing */
    assert_int_equal(cpulimit_threads(0, 0), 1);
    assert_true(cpulimit_cores() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_cgroup_file_no_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(cgroup_v2_lowest_on_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(cgroup_v1_and_a_path_not_visible, setup, teardown),
        cmocka_unit_test(threads_from_cores_and_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
