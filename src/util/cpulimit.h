#ifndef KRONOS_CPULIMIT_H
#define KRONOS_CPULIMIT_H

/*
 * How much CPU this process can use: the CPUs it may run on (its affinity mask, which a cpuset
 * or taskset narrows), lowered by a cgroup CPU quota (v2 cpu.max, v1 cpu.cfs_quota_us /
 * cpu.cfs_period_us) on the process's own cgroup or any ancestor, as /proc/self/cgroup names it.
 * Where the path is not visible (a container without a cgroup namespace shows its host path),
 * the mount's root, the container's own cgroup, still counts (as util/memlimit).
 */

#include <stddef.h>

/* root: "/" in service; tests pass a directory holding proc/ and sys/fs/cgroup/ of their own.
 * Sets *cpus to the lowest quota / period found (1.5 for "150000 100000") and source to where
 * it came from ("cgroup v2 cpu.max /kubepods/..."); *cpus is 0 when no quota applies. */
void cpulimit_quota(const char *root, double *cpus, char *source, size_t source_len);

/* Threads worth running: `cores`, lowered to the quota rounded down (a thread beyond it would
 * only be throttled), at least 1. quota 0: no quota. */
int cpulimit_threads(long cores, double quota);

/* The CPUs this process may run on (sched_getaffinity), else the online ones; at least 1. */
long cpulimit_cores(void);

#endif
