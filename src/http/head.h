#ifndef KRONOS_HTTP_HEAD_H
#define KRONOS_HTTP_HEAD_H

/* The request head (request line and header section) of HTTP/1.x, parsed strictly after RFC 9112:
 * anything that could frame a message two ways is refused, never guessed (request smuggling). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX 16384  /* request line + headers, bytes */
#define HTTP_TARGET_MAX 8192 /* request target, bytes */
#define HTTP_HEADERS_MAX 100 /* header lines */
#define HTTP_METHOD_MAX 31   /* method token, bytes */

typedef struct http_header_field {
    const char *name;  /* NUL-terminated inside the parsed buffer */
    const char *value; /* NUL-terminated, surrounding whitespace removed */
} http_header_field;

typedef struct http_head {
    char method[HTTP_METHOD_MAX + 1];
    const char *target; /* NUL-terminated inside the buffer */
    char path[256];     /* target up to '?' (absolute-form reduced to its path), truncated */
    bool path_truncated;
    const char *query; /* after '?', or "" */
    int minor;         /* HTTP/1.<minor>, 0 or 1 */
    http_header_field headers[HTTP_HEADERS_MAX];
    size_t nheaders;
    size_t length; /* bytes of the head, final empty line included */

    /* Message framing and connection semantics derived from the headers. */
    bool chunked;
    bool has_length;
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
} http_head;

/* Why a head was refused: the status to answer and a one-line message. */
typedef struct http_head_error {
    int status;       /* 400, 414, 431, 501, 505 */
    const char *code; /* the SPEC §1 error code */
    const char *message;
} http_head_error;

enum { HTTP_HEAD_INCOMPLETE = 0, HTTP_HEAD_COMPLETE = 1, HTTP_HEAD_INVALID = -1 };

/* Parses buf[0..len) in place (names, values and the target are NUL-terminated inside it).
 * Leading empty lines are skipped. Returns HTTP_HEAD_COMPLETE with h filled,
 * HTTP_HEAD_INCOMPLETE when more bytes are needed (and the head can still fit), or
 * HTTP_HEAD_INVALID with e filled. */
int http_head_parse(char *buf, size_t len, http_head *h, http_head_error *e);

/* Where a complete head may end, searching buf[from..len): the offset just past the first
 * "\n\n" or "\n\r\n", or 0. Cheap, so a head trickled byte by byte is not re-parsed each time. */
size_t http_head_end(const char *buf, size_t len, size_t from);

/* First value of a header (case-insensitive name), NULL when absent; and how many lines carry it.
 */
const char *http_head_get(const http_head *h, const char *name);
size_t http_head_count(const http_head *h, const char *name);

#endif
