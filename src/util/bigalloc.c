#include "util/bigalloc.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *big_alloc(size_t bytes)
{
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (rounded < bytes)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, rounded ? rounded : HUGE_PAGE) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it the pages are 4 KiB */
#endif
    return p;
}
