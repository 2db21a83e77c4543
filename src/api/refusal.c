#include "api/refusal.h"

#include <stdio.h>
#include <string.h>

#include "http/response.h"

http_result api_respond_refused(http_request *r, predict_error *err)
{
    json_t *details = err->details ? err->details : json_array();
    err->details = NULL;
    if (err->status != 422 || !err->detail) {
        http_result ret =
            http_respond_error(r, err->status, err->code, err->message, details, NULL, 0);
        predict_error_clear(err);
        return ret;
    }
    r->error_code = err->code;
    size_t n = strnlen(err->message, sizeof(r->error_message) - 1);
    memcpy(r->error_message, err->message, n);
    r->error_message[n] = '\0';
    json_t *env = json_pack("{s:O, s:{s:s, s:s, s:s, s:o}}", "detail", err->detail, "error", "code",
                            err->code, "message", err->message, "request_id", r->request_id,
                            "details", details);
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    int status = err->status;
    predict_error_clear(err);
    if (!body)
        return http_respond_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                                  "out of memory", NULL, NULL, 0);
    return http_respond(r, status, CT_JSON, body, strlen(body), true, NULL, 0);
}
