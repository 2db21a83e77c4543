#ifndef KRONOS_HTTP_RESPONSE_H
#define KRONOS_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http/request.h"

typedef struct http_header_kv {
    const char *name;
    const char *value;
} http_header_kv;

#define CT_JSON "application/json"
#define CT_HEALTH_JSON "application/health+json"

/* Queues a response carrying the request's X-Request-ID and traceparent. `body` is copied
 * unless `owned` (then it is freed with free() when sent). Records status and size. */
enum MHD_Result http_respond(http_request *r, unsigned status, const char *content_type, char *body,
                             size_t len, bool owned, const http_header_kv *extra, size_t nextra);
/* Serialises `obj` (reference stolen) compactly. */
enum MHD_Result http_respond_json(http_request *r, unsigned status, json_t *obj,
                                  const char *content_type);
/* The SPEC §1 error envelope. `details` (stolen, may be NULL) is a JSON array of
 * {field, constraint, value}. */
enum MHD_Result http_respond_error(http_request *r, unsigned status, const char *code,
                                   const char *message, json_t *details,
                                   const http_header_kv *extra, size_t nextra);

#endif
