#include "engine/kronos/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/bigalloc.h"
#include "util/file.h"

static const struct {
    const char *name;
    enum kst_dtype type;
    size_t size;
} dtypes[] = {
    {"F32", KST_F32, 4}, {"F64", KST_F64, 8},   {"F16", KST_F16, 2}, {"BF16", KST_BF16, 2},
    {"I64", KST_I64, 8}, {"I32", KST_I32, 4},   {"I16", KST_I16, 2}, {"I8", KST_I8, 1},
    {"U8", KST_U8, 1},   {"BOOL", KST_BOOL, 1},
};

const char *kst_dtype_name(enum kst_dtype t)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].type == t)
            return dtypes[i].name;
    return "?";
}

size_t kst_dtype_size(enum kst_dtype t)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (dtypes[i].type == t)
            return dtypes[i].size;
    return 0;
}

static int dtype_lookup(const char *s, enum kst_dtype *t, size_t *size)
{
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (strcmp(dtypes[i].name, s) == 0) {
            *t = dtypes[i].type;
            *size = dtypes[i].size;
            return 0;
        }
    return -1;
}

void kst_close(kst_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    free(f->alloc);
    memset(f, 0, sizeof(*f));
}

static int cmp_by_offset(const void *a, const void *b)
{
    const kst_tensor *x = a, *y = b;
    const char *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

static int parse_tensor(kst_tensor *t, const char *name, json_t *desc, const char *data,
                        size_t data_len, char *err, size_t errlen)
{
    if (!json_is_object(desc)) {
        snprintf(err, errlen, "tensor '%s': header entry is not an object", name);
        return -1;
    }
    json_t *dt = json_object_get(desc, "dtype"), *shape = json_object_get(desc, "shape");
    json_t *offs = json_object_get(desc, "data_offsets");
    size_t esize;
    if (!json_is_string(dt) || dtype_lookup(json_string_value(dt), &t->dtype, &esize) != 0) {
        snprintf(err, errlen, "tensor '%s': missing or unknown dtype", name);
        return -1;
    }
    if (!json_is_array(shape) || json_array_size(shape) > KST_MAX_DIMS) {
        snprintf(err, errlen, "tensor '%s': bad shape", name);
        return -1;
    }
    t->ndim = (int)json_array_size(shape);
    size_t nelem = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) > (json_int_t)1 << 40) {
            snprintf(err, errlen, "tensor '%s': bad dimension %d", name, i);
            return -1;
        }
        t->shape[i] = json_integer_value(d);
        if (t->shape[i] && nelem > ((size_t)1 << 48) / (size_t)t->shape[i]) {
            snprintf(err, errlen, "tensor '%s': shape too large", name);
            return -1;
        }
        nelem *= (size_t)t->shape[i];
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1))) {
        snprintf(err, errlen, "tensor '%s': bad data_offsets", name);
        return -1;
    }
    json_int_t b = json_integer_value(json_array_get(offs, 0));
    json_int_t e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b || (uint64_t)e > data_len) {
        snprintf(err, errlen,
                 "tensor '%s': data_offsets [%lld,%lld] outside the file (%zu data bytes)", name,
                 (long long)b, (long long)e, data_len);
        return -1;
    }
    if ((uint64_t)(e - b) != nelem * esize) {
        snprintf(err, errlen, "tensor '%s': %s x %zu elements needs %zu bytes, offsets give %lld",
                 name, json_string_value(dt), nelem, nelem * esize, (long long)(e - b));
        return -1;
    }
    t->nelem = nelem;
    t->nbytes = (size_t)(e - b);
    t->data = data + b;
    if (((uintptr_t)t->data) % esize != 0) {
        snprintf(err, errlen, "tensor '%s': data not aligned to its element size", name);
        return -1;
    }
    return 0;
}

static int parse_header(kst_file *f, const char *hdr, size_t hlen, const char *data,
                        size_t data_len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "header is not a JSON object (%s)", root ? "wrong type" : jerr.text);
        json_decref(root);
        return -1;
    }
    size_t n = json_object_size(root);
    f->tensors = calloc(n ? n : 1, sizeof(kst_tensor));
    if (!f->tensors) {
        json_decref(root);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        kst_tensor *t = &f->tensors[f->count];
        if (parse_tensor(t, key, val, data, data_len, err, errlen) != 0) {
            rc = -1;
            break;
        }
        if (!(t->name = strdup(key))) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        f->count++;
    }
    json_decref(root);
    if (rc)
        return rc;

    /* Overlap check on a sorted copy, so lookup order stays the header's. */
    kst_tensor *sorted = malloc((f->count ? f->count : 1) * sizeof(kst_tensor));
    if (!sorted) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(sorted, f->tensors, f->count * sizeof(kst_tensor));
    qsort(sorted, f->count, sizeof(kst_tensor), cmp_by_offset);
    for (size_t i = 1; i < f->count; i++) {
        const char *prev_end = (const char *)sorted[i - 1].data + sorted[i - 1].nbytes;
        if ((const char *)sorted[i].data < prev_end) {
            snprintf(err, errlen, "tensors '%s' and '%s' overlap", sorted[i - 1].name,
                     sorted[i].name);
            free(sorted);
            return -1;
        }
    }
    free(sorted);
    return 0;
}

/* The whole file into memory of our own: a mapping would follow later changes to the file (SIGBUS
 * once it is truncated, other weights once it is overwritten in place). */
static int read_whole(int fd, kst_file *f, const char *path, char *err, size_t errlen)
{
    unsigned char len[8];
    size_t pad = 0;
    if (pread(fd, len, sizeof(len), 0) == (ssize_t)sizeof(len)) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--)
            hlen = (hlen << 8) | len[i];
        pad = (KST_ALIGN - (size_t)((8 + hlen) % KST_ALIGN)) % KST_ALIGN;
    }
    void *buf = NULL;
    if (f->size > SIZE_MAX - pad || !(buf = big_alloc(f->size + pad))) {
        snprintf(err, errlen, "%s: cannot allocate %zu bytes for the weights", path, f->size);
        return -1;
    }
    char *dst = (char *)buf + pad;
    size_t got = 0;
    while (got < f->size) {
        ssize_t n = read(fd, dst + got, f->size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s after %zu of %zu bytes", path,
                     n < 0 ? strerror(errno) : "file shrank while being read", got, f->size);
            free(buf);
            return -1;
        }
        got += (size_t)n;
    }
    f->alloc = buf;
    f->data = dst;
    return 0;
}

int kst_open(kst_file *f, const char *path, char *err, size_t errlen)
{
    char why[400];
    memset(f, 0, sizeof(*f));
    struct stat st;
    int fd = file_open_regular(path, &st, err, errlen);
    if (fd < 0)
        return -1;
    if (st.st_size < 8) {
        snprintf(err, errlen, "%s: truncated (%lld bytes)", path, (long long)st.st_size);
        close(fd);
        return -1;
    }
    f->size = (size_t)st.st_size;
    int rc = read_whole(fd, f, path, err, errlen);
    close(fd);
    if (rc != 0)
        return -1;
    const unsigned char *p = f->data;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen == 0 || hlen > KST_MAX_HEADER || hlen > f->size - 8) {
        snprintf(err, errlen, "%s: header length %llu invalid for a %zu-byte file", path,
                 (unsigned long long)hlen, f->size);
        kst_close(f);
        return -1;
    }
    const char *hdr = (const char *)p + 8;
    if (parse_header(f, hdr, (size_t)hlen, hdr + hlen, f->size - 8 - (size_t)hlen, why,
                     sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        kst_close(f);
        return -1;
    }
    return 0;
}

const kst_tensor *kst_find(const kst_file *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}
