#ifndef KRONOS_JSON_ESCAPE_H
#define KRONOS_JSON_ESCAPE_H

#include <stddef.h>

#include "util/strbuf.h"

/* Appends s as a JSON string literal (with quotes). Control characters are escaped, and any
 * byte sequence that is not valid UTF-8 (overlongs, surrogates, > U+10FFFF, truncations) is
 * replaced by U+FFFD, so the output is always valid JSON whatever the input. */
void json_escape_append(strbuf *sb, const char *s, size_t len);

#endif
