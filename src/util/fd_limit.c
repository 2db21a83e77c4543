#include "util/fd_limit.h"

#include <sys/resource.h>

int fd_limit_ensure(unsigned long need, unsigned long *soft, unsigned long *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        *soft = *hard = 0;
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    *soft = rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
    *hard = rl.rlim_max == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_max;
    return *soft >= need ? 0 : -1;
}
