/* GET /v1/metrics: the exposition in the format the scraper prefers, gzipped when allowed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "api/handlers.h"
#include "http/response.h"
#include "obs/service_metrics.h"

/* True when Accept-Encoding lists gzip with a non-zero q-value (or "*"). */
static bool accepts_gzip(const char *ae)
{
    if (!ae)
        return false;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ')
            p++;
        size_t n = (size_t)(p - tok);
        double q = 1.0;
        while (*p && *p != ',') {
            if (*p == ';') {
                const char *qs = strstr(p, "q=");
                const char *comma = strchr(p, ',');
                if (qs && (!comma || qs < comma))
                    q = strtod(qs + 2, NULL);
            }
            p++;
        }
        if (q > 0 && ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && *tok == '*')))
            return true;
    }
    return false;
}

static char *gzip_body(const char *in, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    uLong bound = deflateBound(&zs, (uLong)len);
    char *out = malloc(bound);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

enum MHD_Result handle_metrics(http_request *r)
{
    const char *content_type = METRIC_CONTENT_TYPE_TEXT;
    enum metric_format fmt =
        metric_negotiate(http_header(r, MHD_HTTP_HEADER_ACCEPT), &content_type);
    struct mbuf body = {0};
    if (service_metrics_render(fmt, &body) != 0) {
        mbuf_free(&body);
        return http_respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                  "cannot render metrics", NULL, NULL, 0);
    }
    http_header_kv vary = {MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding"};
    if (accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        size_t zlen = 0;
        char *z = gzip_body(body.data, body.len, &zlen);
        if (z) {
            mbuf_free(&body);
            http_header_kv headers[] = {vary, {MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip"}};
            return http_respond(r, MHD_HTTP_OK, content_type, z, zlen, true, headers, 2);
        }
    }
    enum MHD_Result ret =
        http_respond(r, MHD_HTTP_OK, content_type, body.data, body.len, true, &vary, 1);
    body.data = NULL;
    return ret;
}
