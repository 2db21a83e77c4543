#ifndef KRONOS_FILE_H
#define KRONOS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Opens path read-only (close-on-exec) and checks that it is a regular file. Returns the fd and
 * fills st, or -1 with "<path>: <why>" in err. */
int file_open_regular(const char *path, struct stat *st, char *err, size_t errlen);

/* Reads the first line of a small file (a /proc or cgroup value) into buf; false when unreadable.
 */
bool file_read_line(const char *path, char *buf, size_t n);

#endif
