#include "util/memlimit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/cgroup.h"
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

typedef struct lowest_limit {
    uint64_t *bytes;
    char *source;
    size_t source_len;
} lowest_limit;

static void keep_lowest(const char *dir, const char *cgpath, bool v2, void *arg)
{
    lowest_limit *l = arg;
    const char *name = v2 ? "memory.max" : "memory.limit_in_bytes";
    char path[4200];
    uint64_t v;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (read_limit(path, &v) && v < *l->bytes) {
        *l->bytes = v;
        snprintf(l->source, l->source_len, "cgroup %s %s %s", v2 ? "v2" : "v1", name, cgpath);
    }
}

int memlimit_read(const char *root, uint64_t *bytes, char *source, size_t source_len)
{
    if (!read_mem_total(root, bytes))
        return -1;
    snprintf(source, source_len, "MemTotal");
    lowest_limit l = {bytes, source, source_len};
    cgroup_walk(root, "memory", keep_lowest, &l);
    return 0;
}
