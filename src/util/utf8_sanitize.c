#include "util/utf8_sanitize.h"

#include <string.h>

#include "util/utf8.h"

size_t utf8_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *s = (const unsigned char *)src;
    size_t out = 0;
    for (size_t i = 0; i < srclen && s[i];) {
        size_t n = utf8_valid_len(s + i, srclen - i);
        const char *piece = n ? src + i : replacement;
        size_t len = n ? n : 3;
        if (out + len >= dstlen)
            break;
        memcpy(dst + out, piece, len);
        out += len;
        i += n ? n : 1;
    }
    dst[out] = '\0';
    return out;
}
