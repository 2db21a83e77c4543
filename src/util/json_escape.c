#include "util/json_escape.h"

#include <stdint.h>

#include "util/utf8.h"

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
