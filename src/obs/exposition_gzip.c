#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "obs/exposition.h"

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

bool metric_accepts_gzip(const char *accept_encoding)
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

int metric_gzip(const char *data, size_t len, strbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: gzip wrapper; level 1: a scrape is latency-bound, exposition text compresses well */
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    sb_reset(out);
    size_t bound = deflateBound(&zs, (uLong)len);
    if (len > UINT32_MAX || !sb_reserve(out, bound)) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    out->len = zs.total_out;
    out->data[out->len] = '\0';
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}
