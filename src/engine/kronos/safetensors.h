#ifndef KRONOS_SAFETENSORS_H
#define KRONOS_SAFETENSORS_H

/*
 * Safetensors files, read whole into memory of the process's own (not mapped: a mapped file that
 * is truncated or overwritten under a running server would crash it with SIGBUS or change its
 * weights). kst_open validates the whole header before
 * anything is exposed: bounded header size, well-formed JSON, known dtypes, shapes whose byte
 * size matches the data offsets, offsets inside the file, and no two tensors overlapping.
 */

#include <stddef.h>
#include <stdint.h>

#define KST_MAX_DIMS 8
#define KST_MAX_HEADER (64u << 20)
#define KST_ALIGN 64 /* of the buffer: a tensor at a multiple of its element size is aligned */

enum kst_dtype {
    KST_F32,
    KST_F64,
    KST_F16,
    KST_BF16,
    KST_I64,
    KST_I32,
    KST_I16,
    KST_I8,
    KST_U8,
    KST_BOOL
};

typedef struct kst_tensor {
    char *name;
    enum kst_dtype dtype;
    int ndim;
    int64_t shape[KST_MAX_DIMS];
    size_t nelem;
    size_t nbytes;
    const void *data; /* inside the file's buffer */
} kst_tensor;

typedef struct kst_file {
    /* The whole file, placed so that its data section (after the 8-byte length and the header)
     * starts KST_ALIGN-aligned: weight rows then never straddle cache lines needlessly. */
    void *data;
    void *alloc; /* what to free */
    size_t size;
    kst_tensor *tensors;
    size_t count;
} kst_file;

/* Returns 0 on success; on failure -1 with a one-line reason (naming the file) in err. */
int kst_open(kst_file *f, const char *path, char *err, size_t errlen);
void kst_close(kst_file *f);
const kst_tensor *kst_find(const kst_file *f, const char *name);
const char *kst_dtype_name(enum kst_dtype t);
size_t kst_dtype_size(enum kst_dtype t);

#endif
