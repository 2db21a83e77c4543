#ifndef KRONOS_UTF8_H
#define KRONOS_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s, reading at most avail bytes; 0 when the
 * bytes there are not one (overlong forms, surrogates, > U+10FFFF, truncated sequences). */
size_t utf8_valid_len(const unsigned char *s, size_t avail);

#endif
