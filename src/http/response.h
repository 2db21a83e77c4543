#ifndef KRONOS_HTTP_RESPONSE_H
#define KRONOS_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "http/request.h"
#include "http/status.h"

typedef struct http_header_kv {
    const char *name;
    const char *value;
} http_header_kv;

#define CT_JSON "application/json"
#define CT_HEALTH_JSON "application/health+json"

/* Queues the answer, carrying the request's X-Request-ID and traceparent. `body` is copied unless
 * `owned` (then freed with free() once sent). Records status and size. Never fails: when memory
 * runs out the client gets a fixed 500 envelope instead. */
http_result http_respond(http_request *r, int status, const char *content_type, char *body,
                         size_t len, bool owned, const http_header_kv *extra, size_t nextra);
/* Serialises `obj` (reference stolen, may be NULL) compactly; an object that cannot be serialised
 * (invalid UTF-8 inside) becomes a 500 envelope. */
http_result http_respond_json(http_request *r, int status, json_t *obj, const char *content_type);
/* The SPEC §1 error envelope. `details` (stolen, may be NULL) is a JSON array of
 * {field, constraint, value}. */
http_result http_respond_error(http_request *r, int status, const char *code, const char *message,
                               json_t *details, const http_header_kv *extra, size_t nextra);

#endif
