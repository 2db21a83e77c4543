#ifndef KRONOS_BIGALLOC_H
#define KRONOS_BIGALLOC_H

#include <stddef.h>

/*
 * Memory for big buffers that live as long as the process and are streamed over and over (the
 * model's weights): aligned to 2 MiB and advised for transparent huge pages, so a pass over them
 * does not miss the TLB every 4 KiB. Where the kernel has them off, it is ordinary memory.
 * Release with free(). NULL when out of memory.
 */
void *big_alloc(size_t bytes);

#endif
