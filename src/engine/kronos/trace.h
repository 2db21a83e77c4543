#ifndef KRONOS_TRACE_H
#define KRONOS_TRACE_H

/* Optional observation of intermediate tensors (used by the exactness tests; NULL in service). */

#include <stddef.h>

typedef struct kr_trace {
    void (*fn)(void *ctx, const char *name, int index, const float *data, size_t rows, size_t cols);
    void *ctx;
} kr_trace;

#define KR_TRACE(tr, name, index, data, rows, cols)                                                \
    do {                                                                                           \
        if ((tr) && (tr)->fn)                                                                      \
            (tr)->fn((tr)->ctx, (name), (index), (data), (rows), (cols));                          \
    } while (0)

#endif
