#ifndef KRONOS_CGROUP_H
#define KRONOS_CGROUP_H
/*
 * The cgroup directories that limit this process for one controller, as /proc/self/cgroup names
 * them: its own cgroup and each ancestor down to the mount's root, in the v2 (unified) hierarchy
 * and in the v1 hierarchy of that controller. Shared by util/cpulimit and util/memlimit.
 */
#include <stdbool.h>

/* dir: the directory to read limits from; cgpath: its cgroup path ("/" for the root), for
 * messages; v2: unified hierarchy, else v1. */
typedef void (*cgroup_visit)(const char *dir, const char *cgpath, bool v2, void *arg);

/* root: "/" in service; tests pass a directory holding proc/ and sys/fs/cgroup/ of their own.
 * controller: the v1 controller whose hierarchy counts ("cpu", "memory"), mounted at
 * sys/fs/cgroup/<controller>. Returns false when /proc/self/cgroup cannot be read. */
bool cgroup_walk(const char *root, const char *controller, cgroup_visit visit, void *arg);

#endif
