#include "util/json_escape.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

void json_escape_append(strbuf *sb, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    sb_putc(sb, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_append(sb, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n':
                sb_append(sb, "\\n", 2);
                break;
            case '\r':
                sb_append(sb, "\\r", 2);
                break;
            case '\t':
                sb_append(sb, "\\t", 2);
                break;
            case '\b':
                sb_append(sb, "\\b", 2);
                break;
            case '\f':
                sb_append(sb, "\\f", 2);
                break;
            default: {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                sb_append(sb, esc, 6);
            }
            }
            i++;
        } else {
            size_t n = utf8_valid_len(s + i, len - i);
            if (n == 0) {
                sb_append(sb, "\xef\xbf\xbd", 3); /* U+FFFD for one bad byte */
                i++;
            } else {
                sb_append(sb, s + i, n);
                i += n;
            }
        }
    }
    sb_putc(sb, '"');
}
