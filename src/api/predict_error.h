#ifndef KRONOS_PREDICT_ERROR_H
#define KRONOS_PREDICT_ERROR_H

/*
 * What predict_parse reports when a request is refused: the HTTP status, the SPEC §1 error
 * code, a one-line message and the two lists of a 422 answer:
 *
 *   detail           FastAPI's list: {"type","loc","msg","input"[,"ctx"]} with pydantic v2's
 *                    error types and messages, loc ["body","items",3,"candles",7,"high"]
 *   error.details    SPEC §1's list: {"field","constraint"[,"value"]}, field
 * "items[3].candles[7].high"
 *
 * api_respond_refused (api/refusal.h) wraps them into the answer.
 */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define PREDICT_MAX_VIOLATIONS 20
#define PREDICT_MESSAGE_MAX 2048

typedef struct predict_error {
    int status;       /* 0 while nothing is wrong; 400, 422 or 500 (out of memory) */
    const char *code; /* "bad_request", "validation_error" or "internal_error" */
    char message[PREDICT_MESSAGE_MAX]; /* one line of printable ASCII */
    json_t *details;                   /* SPEC list: array of {field, constraint[, value]}; owned */
    json_t *detail;                    /* FastAPI list: array of {type, loc, msg, input[, ctx]} */
    size_t violations;                 /* every violation found; the lists keep the first 20 */
} predict_error;

/* One violation, as both lists word it. Made by the predict_issue_* constructors. */
typedef struct predict_issue {
    const char *type;     /* pydantic's error type: "missing", "greater_than", "value_error", ... */
    char msg[192];        /* pydantic's message: "Input should be greater than 0" */
    json_t *ctx;          /* pydantic's ctx ({"gt": 0}), owned; NULL when the type has none */
    char constraint[128]; /* the SPEC details' rule in words: "> 0" */
} predict_issue;

/* A required field is absent (or null). */
predict_issue predict_issue_missing(void);
/* A type or parsing error without context: float_type, float_parsing, finite_number, int_type,
 * int_parsing, int_from_float, string_type, list_type, dict_type, datetime_type. */
predict_issue predict_issue_type(const char *type);
/* A nested model given something else than an object (model_type, with its class name). */
predict_issue predict_issue_model(const char *class_name);
/* greater_than, greater_than_equal, less_than or less_than_equal `bound`; constraint NULL words
 * it as "> 0", ">= 1", ... */
predict_issue predict_issue_bound(const char *type, double bound, const char *constraint);
/* A list (or, with is_string, a string) shorter than min or longer than max. */
predict_issue predict_issue_length(size_t actual, size_t min, size_t max, bool is_string);
/* A timestamp that is no datetime: type datetime_from_date_parsing (text) or datetime_parsing
 * (number), with the parser's reason. */
predict_issue predict_issue_datetime(const char *type, const char *reason);
/* Any other rule (cross-field checks, ordering, uniqueness): pydantic's value_error. */
predict_issue predict_issue_value(const char *constraint);

void predict_error_init(predict_error *e);
/* Releases the lists and resets to the initial state. */
void predict_error_clear(predict_error *e);

/* 400 bad_request with a printf-style message (non-printable bytes are replaced by '?'). */
void predict_error_bad_request(predict_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 500 internal_error: the server ran out of memory handling the request. */
void predict_error_nomem(predict_error *e);

/* Records one schema violation at `field` ("items[3].candles[7].high"); takes is->ctx. `value`
 * is the offending JSON value: scalars are copied into both lists; arrays, objects and strings
 * over 256 bytes are left out (null in detail's input) to keep errors small. */
void predict_error_add(predict_error *e, const char *field, predict_issue *is, const json_t *value);

/* After validation: when violations were recorded, sets status 422 and composes the
 * message ("2 validation errors: candles[7].high: high >= max(open, close); ..."). */
void predict_error_finish(predict_error *e);

/* FastAPI's loc of a field path: "items[3].candles[7].high" -> ["body","items",3,"candles",7,
 * "high"]. NULL when out of memory. */
json_t *predict_error_loc(const char *field);

#endif
