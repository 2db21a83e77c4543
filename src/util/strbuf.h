#ifndef KRONOS_STRBUF_H
#define KRONOS_STRBUF_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>

/* A growable byte buffer, always NUL-terminated. A failed allocation sets `oom` and later
 * appends do nothing, so callers check once at the end. `limit` (0 = none) caps the length:
 * appending past it sets `overflow` instead of growing. */
typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
    bool oom;
    bool overflow;
    bool fixed; /* data is caller memory of `cap` bytes: never reallocated or freed */
} strbuf;

void sb_init(strbuf *sb, size_t limit);
/* A strbuf over caller memory (e.g. a stack array); appends past cap-1 bytes set overflow. */
void sb_init_fixed(strbuf *sb, char *mem, size_t cap);
void sb_free(strbuf *sb);
void sb_reset(strbuf *sb);
bool sb_reserve(strbuf *sb, size_t extra);
void sb_append(strbuf *sb, const void *data, size_t len);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(strbuf *sb, const char *fmt, va_list ap);
bool sb_ok(const strbuf *sb);
/* Hands the buffer to the caller (free() it); the strbuf is left empty. */
char *sb_detach(strbuf *sb, size_t *len);

#endif
