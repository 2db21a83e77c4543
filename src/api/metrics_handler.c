/* GET /v1/metrics: the exposition in the format the scraper prefers, gzipped when allowed. */
#include "api/handlers.h"
#include "http/response.h"
#include "obs/service_metrics.h"

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
    http_header_kv headers[] = {{MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding"},
                                {MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip"}};
    size_t nheaders = 1;
    if (metric_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        struct mbuf z = {0};
        if (metric_gzip(body.data, body.len, &z) == 0) {
            mbuf_free(&body);
            body = z;
            nheaders = 2;
        } else {
            mbuf_free(&z);
        }
    }
    /* The response takes the buffer and frees it. */
    return http_respond(r, MHD_HTTP_OK, content_type, body.data, body.len, true, headers, nheaders);
}
