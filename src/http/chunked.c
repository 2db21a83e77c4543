#include "http/chunked.h"

enum {
    CH_SIZE,
    CH_EXTENSION,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE,
    CH_ERROR
};

void http_chunked_init(http_chunked *c)
{
    *c = (http_chunked){.state = CH_SIZE};
}

bool http_chunked_done(const http_chunked *c)
{
    return c->state == CH_DONE;
}

const char *http_chunked_error(const http_chunked *c)
{
    return c->state == CH_ERROR ? c->error : NULL;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int fail(http_chunked *c, const char *why)
{
    c->error = why;
    return c->state = CH_ERROR;
}

/* One byte of framing (everything but chunk data). */
static int step(http_chunked *c, char ch)
{
    switch (c->state) {
    case CH_SIZE: {
        int v = hex_value(ch);
        if (++c->line > HTTP_CHUNK_LINE_MAX)
            return fail(c, "chunk-size line too long");
        if (v >= 0) {
            if (++c->digits > 16)
                return fail(c, "chunk size has more than 16 hex digits");
            c->remaining = c->remaining * 16 + (uint64_t)v;
            return c->state;
        }
        if (c->digits == 0)
            return fail(c, "chunk size is not a hex number");
        if (ch == '\r')
            return c->state = CH_SIZE_LF;
        if (ch == ';' || ch == ' ' || ch == '\t')
            return c->state = CH_EXTENSION;
        return fail(c, "malformed chunk-size line");
    }
    case CH_EXTENSION:
        if (++c->line > HTTP_CHUNK_LINE_MAX)
            return fail(c, "chunk extension too long");
        if (ch == '\r')
            return c->state = CH_SIZE_LF;
        if (ch == '\n' || ch == '\0')
            return fail(c, "malformed chunk extension");
        return c->state;
    case CH_SIZE_LF:
        if (ch != '\n')
            return fail(c, "chunk-size line not terminated by CRLF");
        c->line = 0;
        c->digits = 0;
        return c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
    case CH_DATA_CR:
        return ch == '\r' ? (c->state = CH_DATA_LF) : fail(c, "chunk data not followed by CRLF");
    case CH_DATA_LF:
        return ch == '\n' ? (c->state = CH_SIZE) : fail(c, "chunk data not followed by CRLF");
    case CH_TRAILER_START:
        if (ch == '\r')
            return c->state = CH_END_LF;
        c->state = CH_TRAILER_LINE;
        /* fall through */
    case CH_TRAILER_LINE:
        if (++c->trailer > HTTP_TRAILER_MAX)
            return fail(c, "trailer section too large");
        if (ch == '\r')
            return c->state = CH_TRAILER_LF;
        if (ch == '\n' || ch == '\0')
            return fail(c, "malformed trailer line");
        return c->state;
    case CH_TRAILER_LF:
        return ch == '\n' ? (c->state = CH_TRAILER_START) : fail(c, "malformed trailer line");
    case CH_END_LF:
        return ch == '\n' ? (c->state = CH_DONE) : fail(c, "chunked body not terminated by CRLF");
    default:
        return c->state;
    }
}

size_t http_chunked_feed(http_chunked *c, const char *in, size_t len, http_chunk_sink sink,
                         void *ctx)
{
    size_t i = 0;
    while (i < len && c->state != CH_DONE && c->state != CH_ERROR) {
        if (c->state == CH_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            sink(ctx, in + i, n);
            c->remaining -= n;
            i += n;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            continue;
        }
        step(c, in[i++]);
    }
    return i;
}
