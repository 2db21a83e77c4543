#include "util/memlimit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/file.h"

static bool read_mem_total(const char *root, uint64_t *bytes)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool found = false;
    uint64_t kb;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "MemTotal: %" SCNu64 " kB", &kb) == 1;
    fclose(f);
    if (found)
        *bytes = kb * 1024;
    return found;
}

/* "max", or a number at or above 2^62 (v1's "unlimited" is 2^63 rounded down to a page), is no
 * limit. */
static bool read_limit(const char *path, uint64_t *bytes)
{
    char line[64];
    uint64_t v;
    if (!file_read_line(path, line, sizeof line) || sscanf(line, "%" SCNu64, &v) != 1)
        return false;
    if (v >= (UINT64_C(1) << 62))
        return false;
    *bytes = v;
    return true;
}

/* The lowest limit in file `name` of cgroup directory mount + cgpath and each of its ancestors,
 * down to the mount's root. */
static void lowest_on_path(const char *mount, const char *cgpath, const char *name,
                           const char *what, uint64_t *bytes, char *source, size_t source_len)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", cgpath);
    for (;;) {
        size_t len = strlen(dir);
        while (len > 0 && dir[len - 1] == '/')
            dir[--len] = '\0';
        char path[4096];
        uint64_t v;
        snprintf(path, sizeof path, "%s%s/%s", mount, dir, name);
        if (read_limit(path, &v) && v < *bytes) {
            *bytes = v;
            snprintf(source, source_len, "%s %s", what, len ? dir : "/");
        }
        if (len == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
}

int memlimit_read(const char *root, uint64_t *bytes, char *source, size_t source_len)
{
    if (!read_mem_total(root, bytes))
        return -1;
    snprintf(source, source_len, "MemTotal");
    char path[4096], line[2048];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char v2[4096], v1[4096];
    snprintf(v2, sizeof v2, "%s/sys/fs/cgroup", root);
    snprintf(v1, sizeof v1, "%s/sys/fs/cgroup/memory", root);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* hierarchy-ID:controller-list:cgroup-path */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *controllers = c1 + 1, *cgpath = c2 + 1;
        if (strcmp(line, "0") == 0 && controllers[0] == '\0') {
            lowest_on_path(v2, cgpath, "memory.max", "cgroup v2 memory.max", bytes, source,
                           source_len);
            continue;
        }
        char list[256];
        snprintf(list, sizeof list, ",%s,", controllers);
        if (strstr(list, ",memory,"))
            lowest_on_path(v1, cgpath, "memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes",
                           bytes, source, source_len);
    }
    fclose(f);
    return 0;
}
