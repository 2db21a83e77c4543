#ifndef KRONOS_OBS_METRICS_BUF_H
#define KRONOS_OBS_METRICS_BUF_H

/* A growable byte buffer for rendering expositions. Allocation failure is sticky (`oom`). */

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct mbuf {
    char *data;
    size_t len, cap;
    bool oom;
    bool borrowed; /* data is caller storage (e.g. a stack array): copied out, never freed */
};

/* A buffer that starts in caller storage and moves to the heap only if it outgrows it. */
#define MBUF_ON(array) ((struct mbuf){.data = (array), .cap = sizeof(array), .borrowed = true})

bool mbuf_reserve_slow(struct mbuf *b, size_t extra);
void mbuf_free(struct mbuf *b);
void mbuf_reset(struct mbuf *b); /* keeps the memory */

static inline bool mbuf_reserve(struct mbuf *b, size_t extra)
{
    return b->cap - b->len >= extra ? true : mbuf_reserve_slow(b, extra);
}

static inline void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
    if (!mbuf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static inline void mbuf_puts(struct mbuf *b, const char *s)
{
    mbuf_put(b, s, strlen(s));
}

static inline void mbuf_putc(struct mbuf *b, char c)
{
    if (!mbuf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

#endif
