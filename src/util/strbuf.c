#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(strbuf *sb, size_t limit)
{
    memset(sb, 0, sizeof(*sb));
    sb->limit = limit;
}

void sb_init_fixed(strbuf *sb, char *mem, size_t cap)
{
    memset(sb, 0, sizeof(*sb));
    sb->data = mem;
    sb->cap = cap;
    sb->fixed = true;
    if (cap)
        mem[0] = '\0';
}

void sb_free(strbuf *sb)
{
    if (sb->fixed) {
        sb_reset(sb);
        return;
    }
    free(sb->data);
    size_t limit = sb->limit;
    sb_init(sb, limit);
}

void sb_reset(strbuf *sb)
{
    sb->len = 0;
    sb->oom = sb->overflow = false;
    if (sb->data)
        sb->data[0] = '\0';
}

bool sb_ok(const strbuf *sb)
{
    return !sb->oom && !sb->overflow;
}

bool sb_reserve(strbuf *sb, size_t extra)
{
    if (sb->oom || sb->overflow)
        return false;
    if (sb->limit && sb->len + extra > sb->limit) {
        sb->overflow = true;
        return false;
    }
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    if (sb->fixed) {
        sb->overflow = true;
        return false;
    }
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->oom = true;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void sb_append(strbuf *sb, const void *data, size_t len)
{
    if (!sb_reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

void sb_putc(strbuf *sb, char c)
{
    sb_append(sb, &c, 1);
}

void sb_vprintf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !sb_reserve(sb, (size_t)n))
        return;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

char *sb_detach(strbuf *sb, size_t *len)
{
    if (!sb->data && !sb->oom)
        sb_reserve(sb, 0);
    char *p = sb->data;
    if (len)
        *len = sb->len;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}
