#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_write.h"

static size_t out_bytes(const kst_out *t)
{
    size_t n = kst_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

int kst_write(const char *path, const kst_out *t, size_t n, char *err, size_t errlen)
{
    json_t *root = json_object();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int k = 0; k < t[i].ndim; k++)
            json_array_append_new(shape, json_integer(t[i].shape[k]));
        size_t nb = out_bytes(&t[i]);
        json_object_set_new(root, t[i].name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", kst_dtype_name(t[i].dtype),
                                      "shape", shape, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + nb)));
        off += nb;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) {
        snprintf(err, errlen, "cannot build header");
        return -1;
    }
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(hdr);
        return -1;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', fp) != EOF;
    for (size_t i = 0; ok && i < n; i++) {
        size_t nb = out_bytes(&t[i]);
        ok = fwrite(t[i].data, 1, nb, fp) == nb;
    }
    free(hdr);
    if (fclose(fp) != 0 || !ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}
