#include "http/response.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result http_respond(http_request *r, unsigned status, const char *content_type, char *body,
                             size_t len, bool owned, const http_header_kv *extra, size_t nextra)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    char traceparent[TRACEPARENT_LEN + 1];
    trace_format(&r->trace, traceparent);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-ID", r->request_id);
    MHD_add_response_header(resp, "traceparent", traceparent);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (size_t i = 0; i < nextra; i++)
        MHD_add_response_header(resp, extra[i].name, extra[i].value);
    if (atomic_load(&r->app->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->status = (int)status;
    r->response_bytes = len;
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_respond_json(http_request *r, unsigned status, json_t *obj,
                                  const char *content_type)
{
    char *body = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(obj);
    if (!body)
        return MHD_NO;
    return http_respond(r, status, content_type, body, strlen(body), true, NULL, 0);
}

enum MHD_Result http_respond_error(http_request *r, unsigned status, const char *code,
                                   const char *message, json_t *details,
                                   const http_header_kv *extra, size_t nextra)
{
    r->error_code = code;
    snprintf(r->error_message, sizeof(r->error_message), "%s", message);
    json_t *err = json_pack("{s:s, s:s, s:s, s:o}", "code", code, "message", message, "request_id",
                            r->request_id, "details", details ? details : json_array());
    json_t *env = json_pack("{s:s, s:o}", "detail", message, "error", err);
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!body)
        return MHD_NO;
    return http_respond(r, status, CT_JSON, body, strlen(body), true, extra, nextra);
}
