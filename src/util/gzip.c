#include "util/gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* q of one Accept-Encoding clause [s, e): 1 unless a parsable q parameter says otherwise. */
static double clause_q(const char *s, const char *e)
{
    const char *p = memchr(s, ';', (size_t)(e - s));
    while (p && p < e) {
        p++;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (e - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char num[16];
            size_t n = 0;
            for (p += 2; p < e && *p != ';' && n < sizeof num - 1; p++)
                if (*p != ' ')
                    num[n++] = *p;
            num[n] = '\0';
            char *end;
            double q = strtod(num, &end);
            return (end == num || *end || q != q) ? 0 : q;
        }
        p = memchr(p, ';', (size_t)(e - p));
    }
    return 1;
}

bool gzip_accepted(const char *accept_encoding)
{
    double gzip_q = -1, any_q = -1;
    for (const char *s = accept_encoding; s && *s;) {
        const char *comma = strchr(s, ',');
        const char *e = comma ? comma : s + strlen(s);
        const char *t = s;
        while (t < e && (*t == ' ' || *t == '\t'))
            t++;
        const char *te = t;
        while (te < e && *te != ';' && *te != ' ' && *te != '\t')
            te++;
        size_t n = (size_t)(te - t);
        if ((n == 4 && strncasecmp(t, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(t, "x-gzip", 6) == 0))
            gzip_q = clause_q(s, e);
        else if (n == 1 && *t == '*')
            any_q = clause_q(s, e);
        s = comma ? comma + 1 : e;
    }
    return gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
}

int gzip_compress(const void *data, size_t len, strbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (len > UINT32_MAX ||
        deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&zs, (uLong)len);
    if (!sb_reserve(out, bound)) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    out->len += zs.total_out;
    out->data[out->len] = '\0';
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

int gunzip_init(gunzip *g, size_t limit)
{
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    if (inflateInit2(&g->zs, 15 + 16) != Z_OK)
        return -1;
    g->ready = true;
    return 0;
}

int gunzip_feed(gunzip *g, const void *in, size_t len, strbuf *out)
{
    if (len && g->done)
        return GUNZIP_CORRUPT; /* bytes after the end of the gzip stream */
    g->zs.next_in = (Bytef *)in;
    g->zs.avail_in = (uInt)len;
    /* Until the input is used up and zlib has no more output pending (a full chunk may hide more).
     */
    bool chunk_full = false;
    while ((g->zs.avail_in > 0 || chunk_full) && !g->done) {
        unsigned char chunk[16384];
        g->zs.next_out = chunk;
        g->zs.avail_out = sizeof(chunk);
        int rc = inflate(&g->zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return GUNZIP_CORRUPT;
        size_t produced = sizeof(chunk) - g->zs.avail_out;
        if (out->len + produced > g->limit)
            return GUNZIP_TOO_LARGE;
        sb_append(out, chunk, produced);
        chunk_full = g->zs.avail_out == 0;
        if (rc == Z_STREAM_END)
            g->done = true;
        else if (rc == Z_BUF_ERROR && produced == 0)
            break;
    }
    if (g->done && g->zs.avail_in > 0)
        return GUNZIP_CORRUPT;
    return GUNZIP_OK;
}

bool gunzip_done(const gunzip *g)
{
    return g->done;
}

void gunzip_free(gunzip *g)
{
    if (g->ready)
        inflateEnd(&g->zs);
    g->ready = false;
}
