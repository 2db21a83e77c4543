#ifndef KRONOS_MEMLIMIT_H
#define KRONOS_MEMLIMIT_H

/*
 * How much memory this process can have: MemTotal, or less when a cgroup limits it (v2
 * memory.max, v1 memory.limit_in_bytes) on the process's own cgroup or any ancestor, as
 * /proc/self/cgroup names it. Where the path is not visible (a container without a cgroup
 * namespace shows its host path), the mount's root, the container's own cgroup, still counts.
 */

#include <stddef.h>
#include <stdint.h>

/* root: "/" in service; tests pass a directory holding proc/ and sys/fs/cgroup/ of their own.
 * Fills *bytes and a short name of where it came from ("MemTotal", "cgroup v2 memory.max
 * /kubepods/..."). Returns 0, or -1 when not even MemTotal can be read. */
int memlimit_read(const char *root, uint64_t *bytes, char *source, size_t source_len);

#endif
