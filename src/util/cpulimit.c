#include "util/cpulimit.h"

#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cgroup.h"
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

typedef struct lowest_quota {
    double *cpus;
    char *source;
    size_t source_len;
} lowest_quota;

static void keep_lowest(const char *dir, const char *cgpath, bool v2, void *arg)
{
    lowest_quota *q = arg;
    double v;
    if ((v2 ? read_v2(dir, &v) : read_v1(dir, &v)) && (*q->cpus == 0 || v < *q->cpus)) {
        *q->cpus = v;
        snprintf(q->source, q->source_len, "%s %s",
                 v2 ? "cgroup v2 cpu.max" : "cgroup v1 cpu.cfs_quota_us", cgpath);
    }
}

void cpulimit_quota(const char *root, double *cpus, char *source, size_t source_len)
{
    *cpus = 0;
    snprintf(source, source_len, "none");
    lowest_quota q = {cpus, source, source_len};
    cgroup_walk(root, "cpu", keep_lowest, &q); /* "cpu,cpuacct" links v1's to sys/fs/cgroup/cpu */
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
