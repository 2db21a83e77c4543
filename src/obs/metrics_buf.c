#include "obs/metrics_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool mbuf_reserve_slow(struct mbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX / 2 - b->len)
        goto fail;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *p = b->borrowed ? malloc(cap) : realloc(b->data, cap);
    if (!p)
        goto fail;
    if (b->borrowed && b->len)
        memcpy(p, b->data, b->len);
    b->borrowed = false;
    b->data = p;
    b->cap = cap;
    return true;
fail:
    b->oom = true;
    return false;
}

void mbuf_free(struct mbuf *b)
{
    if (!b->borrowed)
        free(b->data);
    *b = (struct mbuf){0};
}

void mbuf_reset(struct mbuf *b)
{
    b->len = 0;
    b->oom = false;
}
