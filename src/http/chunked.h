#ifndef KRONOS_HTTP_CHUNKED_H
#define KRONOS_HTTP_CHUNKED_H

/* Incremental decoder of a chunked request body (RFC 9112 §7.1). Chunk extensions and trailer
 * fields are read and dropped, each bounded; anything malformed is an error, never a guess. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CHUNK_LINE_MAX 4096 /* chunk-size line with its extensions */
#define HTTP_TRAILER_MAX 16384   /* the whole trailer section */

typedef void (*http_chunk_sink)(void *ctx, const char *data, size_t len);

typedef struct http_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    unsigned digits;
    size_t line;    /* bytes of the current chunk-size line */
    size_t trailer; /* bytes of the trailer section */
    const char *error;
} http_chunked;

void http_chunked_init(http_chunked *c);
/* Feeds in[0..len); data goes to sink. Returns the bytes consumed: fewer than len only once the
 * body is complete (the rest belongs to the next request) or on error. */
size_t http_chunked_feed(http_chunked *c, const char *in, size_t len, http_chunk_sink sink,
                         void *ctx);
bool http_chunked_done(const http_chunked *c);
/* NULL, or why the body is malformed. */
const char *http_chunked_error(const http_chunked *c);

#endif
