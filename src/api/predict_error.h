#ifndef KRONOS_PREDICT_ERROR_H
#define KRONOS_PREDICT_ERROR_H

/*
 * What predict_parse reports when a request is refused: the HTTP status, the SPEC §1 error
 * code, a one-line message and the `details` list of the error envelope. The HTTP layer wraps
 * these as {"detail": message, "error": {"code", "message", "request_id", "details"}}.
 */

#include <stddef.h>

#include <jansson.h>

#define PREDICT_MAX_VIOLATIONS 20
#define PREDICT_MESSAGE_MAX 2048

typedef struct predict_error {
    int status;       /* 0 while nothing is wrong; 400, 422 or 500 (out of memory) */
    const char *code; /* "bad_request", "validation_error" or "internal_error" */
    char message[PREDICT_MESSAGE_MAX]; /* one line of printable ASCII */
    json_t *details;                   /* array of {field, constraint[, value]}; owned */
    size_t violations;                 /* every violation found; details keeps the first 20 */
} predict_error;

void predict_error_init(predict_error *e);
/* Releases details and resets to the initial state. */
void predict_error_clear(predict_error *e);

/* 400 bad_request with a printf-style message (non-printable bytes are replaced by '?'). */
void predict_error_bad_request(predict_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 500 internal_error: the server ran out of memory handling the request. */
void predict_error_nomem(predict_error *e);

/* Records one schema violation. `value` is the offending JSON value: scalars are copied into
 * the details; arrays, objects and strings over 256 bytes are left out to keep errors small. */
void predict_error_add(predict_error *e, const char *field, const char *constraint,
                       const json_t *value);

/* After validation: when violations were recorded, sets status 422 and composes the
 * message ("2 validation errors: candles[7].high: high >= max(open, close); ..."). */
void predict_error_finish(predict_error *e);

#endif
