#include "util/cgroup.h"

#include <stdio.h>
#include <string.h>

/* mount + cgpath and each of its ancestors, down to the mount's root. */
static void visit_path(const char *mount, const char *cgpath, bool v2, cgroup_visit visit,
                       void *arg)
{
    char rel[2048];
    snprintf(rel, sizeof rel, "%s", cgpath);
    for (;;) {
        size_t len = strlen(rel);
        while (len > 0 && rel[len - 1] == '/')
            rel[--len] = '\0';
        char dir[4096];
        snprintf(dir, sizeof dir, "%s%s", mount, rel);
        visit(dir, len ? rel : "/", v2, arg);
        if (len == 0)
            break;
        char *slash = strrchr(rel, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
}

bool cgroup_walk(const char *root, const char *controller, cgroup_visit visit, void *arg)
{
    char path[4096], line[2048];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char v2[4096], v1[4096], wanted[128];
    snprintf(v2, sizeof v2, "%s/sys/fs/cgroup", root);
    snprintf(v1, sizeof v1, "%s/sys/fs/cgroup/%s", root, controller);
    snprintf(wanted, sizeof wanted, ",%s,", controller);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* hierarchy-ID:controller-list:cgroup-path */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *controllers = c1 + 1, *cgpath = c2 + 1;
        if (strcmp(line, "0") == 0 && controllers[0] == '\0') {
            visit_path(v2, cgpath, true, visit, arg);
            continue;
        }
        char list[256];
        snprintf(list, sizeof list, ",%s,", controllers);
        if (strstr(list, wanted))
            visit_path(v1, cgpath, false, visit, arg);
    }
    fclose(f);
    return true;
}
