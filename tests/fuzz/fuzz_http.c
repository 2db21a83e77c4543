/* libFuzzer target: the HTTP request head parser and the chunked body decoder. The input is split
 * at its first byte into a head and a body so both see arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"
#include "http/head.h"

static void count_sink(void *ctx, const char *data, size_t len)
{
    (void)data;
    *(size_t *)ctx += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    static http_head h;
    http_head_error e;
    int rc = http_head_parse(buf, size, &h, &e);
    if (rc == HTTP_HEAD_COMPLETE) {
        if (h.length > size || h.nheaders > HTTP_HEADERS_MAX || (h.chunked && h.has_length))
            abort();
        for (size_t i = 0; i < h.nheaders; i++)
            if (!h.headers[i].name[0] || strchr(h.headers[i].value, '\r'))
                abort();
    } else if (rc == HTTP_HEAD_INVALID && (e.status < 400 || e.status > 505 || !e.message)) {
        abort();
    }
    http_chunked c;
    http_chunked_init(&c);
    size_t out = 0, used = 0;
    /* feed in two pieces so state carries across calls */
    size_t half = size / 2;
    used += http_chunked_feed(&c, buf, half, count_sink, &out);
    if (used == half)
        used += http_chunked_feed(&c, buf + half, size - half, count_sink, &out);
    if (used > size || out > size)
        abort();
    free(buf);
    return 0;
}
