#ifndef KRONOS_FAKE_ROOT_H
#define KRONOS_FAKE_ROOT_H
/*
 * A directory that stands for "/" in tests of code reading proc/ and sys/ below a root
 * (util/cpulimit, util/memlimit): made under /tmp, filled file by file, removed whole.
 */
#include <stddef.h>

/* Makes /tmp/kronos-<name>-XXXXXX into root (len bytes). Returns 0, or -1. */
int fake_root_create(char *root, size_t len, const char *name);
/* Writes text to root/rel, making its parent directories. Returns 0, or -1. */
int fake_root_put(const char *root, const char *rel, const char *text);
/* Removes root and everything below it. Returns 0, or -1. */
int fake_root_remove(const char *root);

#endif
