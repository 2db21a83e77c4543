#include "http/response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/conn.h"

/* HTTP-date (RFC 9110 §5.6.7) of now. */
static void format_date(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The envelope without jansson, for when building it failed: request ids are [A-Za-z0-9._:-]
 * only, so printf keeps it valid JSON. */
static http_result respond_internal_error(http_request *r)
{
    static const char fmt[] =
        "{\"detail\":\"internal error\",\"error\":{\"code\":\"internal_error\","
        "\"message\":\"internal error\",\"request_id\":\"%s\",\"details\":[]}}";
    r->error_code = "internal_error";
    snprintf(r->error_message, sizeof(r->error_message), "internal error");
    size_t cap = sizeof(fmt) + REQUEST_ID_MAX;
    char *body = malloc(cap);
    if (!body) {
        conn_set_fallback_answer(r->conn);
        return HTTP_RESULT_OK;
    }
    int n = snprintf(body, cap, fmt, r->request_id);
    return http_respond(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, CT_JSON, body, (size_t)n, true, NULL,
                        0);
}

http_result http_respond(http_request *r, int status, const char *content_type, char *body,
                         size_t len, bool owned, const http_header_kv *extra, size_t nextra)
{
    if (body && !owned) {
        char *copy = malloc(len ? len : 1);
        if (copy)
            memcpy(copy, body, len);
        body = copy;
        owned = true;
    }
    if (!body)
        len = 0;
    char date[32], traceparent[TRACEPARENT_LEN + 1];
    format_date(date);
    trace_format(&r->trace, traceparent);
    bool closes = conn_answer_closes(r->conn, status);
    strbuf h;
    sb_init(&h, 0);
    sb_printf(&h,
              "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "X-Request-ID: %s\r\ntraceparent: %s\r\nCache-Control: no-store\r\n",
              status, http_status_reason(status), date, content_type, len, r->request_id,
              traceparent);
    for (size_t i = 0; i < nextra; i++)
        sb_printf(&h, "%s: %s\r\n", extra[i].name, extra[i].value);
    sb_puts(&h, r->answer_headers);
    if (closes)
        sb_puts(&h, "Connection: close\r\n");
    else if (r->head && r->head->minor == 0)
        sb_puts(&h, "Connection: keep-alive\r\n");
    sb_puts(&h, "\r\n");
    if (!sb_ok(&h)) {
        sb_free(&h);
        free(body);
        conn_set_fallback_answer(r->conn);
        return HTTP_RESULT_OK;
    }
    r->status = status;
    r->response_bytes = len;
    size_t head_len = h.len;
    conn_set_answer(r->conn, status, sb_detach(&h, NULL), head_len, body, len, closes);
    return HTTP_RESULT_OK;
}

http_result http_respond_json(http_request *r, int status, json_t *obj, const char *content_type)
{
    char *body = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(obj);
    if (!body)
        return respond_internal_error(r);
    return http_respond(r, status, content_type, body, strlen(body), true, NULL, 0);
}

http_result http_respond_error(http_request *r, int status, const char *code, const char *message,
                               json_t *details, const http_header_kv *extra, size_t nextra)
{
    r->error_code = code;
    snprintf(r->error_message, sizeof(r->error_message), "%s", message);
    json_t *err = json_pack("{s:s, s:s, s:s, s:o}", "code", code, "message", message, "request_id",
                            r->request_id, "details", details ? details : json_array());
    json_t *env = err ? json_pack("{s:s, s:o}", "detail", message, "error", err) : NULL;
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!body)
        return respond_internal_error(r);
    return http_respond(r, status, CT_JSON, body, strlen(body), true, extra, nextra);
}
