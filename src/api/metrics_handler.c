/* GET /v1/metrics: the exposition in the format the scraper prefers, gzipped when allowed. */
#include "api/handlers.h"
#include "http/response.h"
#include "obs/service_metrics.h"
#include "util/gzip.h"

http_result handle_metrics(http_request *r)
{
    const char *content_type = METRIC_CONTENT_TYPE_TEXT;
    enum metric_format fmt = metric_negotiate(http_header(r, "Accept"), &content_type);
    strbuf body;
    sb_init(&body, 0);
    if (service_metrics_render(fmt, &body) != 0) {
        sb_free(&body);
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "cannot render metrics", NULL, NULL, 0);
    }
    http_header_kv headers[] = {{"Vary", "Accept, Accept-Encoding"}, {"Content-Encoding", "gzip"}};
    size_t nheaders = 1;
    if (gzip_accepted(http_header(r, "Accept-Encoding"))) {
        strbuf z;
        sb_init(&z, 0);
        if (gzip_compress(body.data, body.len, &z) == 0) {
            sb_free(&body);
            body = z;
            nheaders = 2;
        } else {
            sb_free(&z);
        }
    }
    /* The response takes the buffer and frees it. */
    return http_respond(r, HTTP_STATUS_OK, content_type, body.data, body.len, true, headers,
                        nheaders);
}
