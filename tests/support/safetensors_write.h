#ifndef KRONOS_TEST_SAFETENSORS_WRITE_H
#define KRONOS_TEST_SAFETENSORS_WRITE_H

/* Writes safetensors files for tests and benchmarks (random-weight models of real shapes);
 * kronosd itself only reads them. */

#include <stddef.h>
#include <stdint.h>

#include "engine/kronos/safetensors.h"

/* One tensor to write; data holds the product of shape elements of dtype. */
typedef struct kst_out {
    const char *name;
    enum kst_dtype dtype;
    int ndim;
    int64_t shape[KST_MAX_DIMS];
    const void *data;
} kst_out;

/* Writes a safetensors file (header padded to 8 bytes, tensors in the given order). */
int kst_write(const char *path, const kst_out *t, size_t n, char *err, size_t errlen);

#endif
