#include "fake_root.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fake_root_create(char *root, size_t len, const char *name)
{
    int n = snprintf(root, len, "/tmp/kronos-%s-XXXXXX", name);
    return n > 0 && (size_t)n < len && mkdtemp(root) ? 0 : -1;
}

int fake_root_put(const char *root, const char *rel, const char *text)
{
    char path[512];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return -1;
    for (char *p = path + strlen(root) + 1; *p; p++) /* mkdir -p of the parent */
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int fake_root_remove(const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}
