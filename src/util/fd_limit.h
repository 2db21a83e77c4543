#ifndef KRONOS_FD_LIMIT_H
#define KRONOS_FD_LIMIT_H

/* Makes sure the process may hold `need` open files: when the soft RLIMIT_NOFILE is lower, it is
 * raised as far as needed, up to the hard limit. Returns 0 when the (possibly raised) soft limit
 * is at least need, else -1. *soft and *hard receive the limits in force afterwards. */
int fd_limit_ensure(unsigned long need, unsigned long *soft, unsigned long *hard);

#endif
