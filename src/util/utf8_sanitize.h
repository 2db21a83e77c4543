#ifndef KRONOS_UTF8_SANITIZE_H
#define KRONOS_UTF8_SANITIZE_H

#include <stddef.h>

/* Copies the first srclen bytes of src into dst (dstlen >= 1, always NUL-terminated) as valid
 * UTF-8: every byte that does not start a well-formed sequence becomes U+FFFD, as JSON and
 * Prometheus label values need. A character that does not fit whole is left out, so the copy
 * is never cut inside one. Returns the number of bytes written, NUL excluded. dst and src must
 * not overlap. For names read from the file system (folder names, the working directory). */
size_t utf8_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
