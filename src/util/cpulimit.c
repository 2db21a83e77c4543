#include "util/cpulimit.h"

#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

/* v2 cpu.max: "<quota> <period>" or "max <period>". */
static bool read_v2(const char *dir, double *cpus)
{
    char path[4200], line[128];
    int64_t quota, period;
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (!file_read_line(path, line, sizeof line) ||
        sscanf(line, "%" SCNd64 " %" SCNd64, &quota, &period) != 2 || quota <= 0 || period <= 0)
        return false;
    *cpus = (double)quota / (double)period;
    return true;
}

/* v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us. */
static bool read_v1(const char *dir, double *cpus)
{
    char path[4200], line[64];
    int64_t quota, period;
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (!file_read_line(path, line, sizeof line) || sscanf(line, "%" SCNd64, &quota) != 1 ||
        quota <= 0)
        return false;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (!file_read_line(path, line, sizeof line) || sscanf(line, "%" SCNd64, &period) != 1 ||
        period <= 0)
        return false;
    *cpus = (double)quota / (double)period;
    return true;
}

/* The lowest quota of cgroup directory mount + cgpath and each of its ancestors, down to the
 * mount's root. */
static void lowest_on_path(const char *mount, const char *cgpath, bool v2, double *cpus,
                           char *source, size_t source_len)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", cgpath);
    for (;;) {
        size_t len = strlen(dir);
        while (len > 0 && dir[len - 1] == '/')
            dir[--len] = '\0';
        char path[4096];
        double v;
        snprintf(path, sizeof path, "%s%s", mount, dir);
        if ((v2 ? read_v2(path, &v) : read_v1(path, &v)) && (*cpus == 0 || v < *cpus)) {
            *cpus = v;
            snprintf(source, source_len, "%s %s",
                     v2 ? "cgroup v2 cpu.max" : "cgroup v1 cpu.cfs_quota_us", len ? dir : "/");
        }
        if (len == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
}

void cpulimit_quota(const char *root, double *cpus, char *source, size_t source_len)
{
    *cpus = 0;
    snprintf(source, source_len, "none");
    char path[4096], line[2048];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char v2[4096], v1[4096];
    snprintf(v2, sizeof v2, "%s/sys/fs/cgroup", root);
    snprintf(v1, sizeof v1, "%s/sys/fs/cgroup/cpu", root); /* "cpu,cpuacct" links it there */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* hierarchy-ID:controller-list:cgroup-path */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *controllers = c1 + 1, *cgpath = c2 + 1;
        if (strcmp(line, "0") == 0 && controllers[0] == '\0') {
            lowest_on_path(v2, cgpath, true, cpus, source, source_len);
            continue;
        }
        char list[256];
        snprintf(list, sizeof list, ",%s,", controllers);
        if (strstr(list, ",cpu,"))
            lowest_on_path(v1, cgpath, false, cpus, source, source_len);
    }
    fclose(f);
}

int cpulimit_threads(long cores, double quota)
{
    long n = cores > 0 ? cores : 1;
    if (quota > 0 && quota < (double)n)
        n = (long)quota; /* rounded down */
    return n > 0 ? (int)n : 1;
}

long cpulimit_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? online : 1;
}
