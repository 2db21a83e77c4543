#ifndef KRONOS_HTTP_REQUEST_H
#define KRONOS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "app.h"
#include "http/router.h"
#include "obs/trace.h"
#include "util/strbuf.h"

/* Everything known about one request, from its first byte to the completion callback. */
typedef struct http_request {
    struct MHD_Connection *conn;
    app *app;
    const route *route; /* NULL for unknown paths */
    route_label label;  /* bounded metric label */
    char method[16];
    char path[256];
    uint64_t start_ns; /* monotonic */
    char request_id[REQUEST_ID_MAX + 1];
    trace_ctx trace;
    char client_ip[64];
    uint8_t client_addr[16];

    strbuf body;
    size_t body_limit;
    bool body_too_large;

    int status;
    size_t request_bytes;
    size_t response_bytes;
    const char *error_code;
    char error_message[256];
    char identity[129];
    const char *container; /* bounded metric label of the identity */

    /* Prediction figures for the log lines (SPEC §4); zero when not a prediction. */
    struct {
        char series_id[129];
        size_t rows;
        size_t pred_len;
        size_t series_count;
        double queue_time_ms;
        double model_inference_ms;
        const char *status; /* success, timeout, failed, cancelled */
    } predict;

    /* Handler-owned state for requests answered asynchronously; cleanup runs on completion. */
    void *handler_state;
    void (*handler_cleanup)(void *state);
} http_request;

/* Header lookup on the request (NULL when absent). */
const char *http_header(http_request *r, const char *name);

#endif
