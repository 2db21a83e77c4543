#include "api/predict_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void predict_error_init(predict_error *e)
{
    memset(e, 0, sizeof *e);
}

void predict_error_clear(predict_error *e)
{
    json_decref(e->details);
    json_decref(e->detail);
    predict_error_init(e);
}

/* A 400 or 500 carries no violation lists. */
static void drop_lists(predict_error *e)
{
    json_decref(e->details);
    json_decref(e->detail);
    e->details = json_array();
    e->detail = NULL;
    e->violations = 0;
}

/* Keeps the message one printable ASCII line whatever bytes the client sent. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

void predict_error_bad_request(predict_error *e, const char *fmt, ...)
{
    va_list ap;
    drop_lists(e);
    e->status = 400;
    e->code = "bad_request";
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    sanitize(e->message);
}

void predict_error_nomem(predict_error *e)
{
    drop_lists(e);
    e->status = 500;
    e->code = "internal_error";
    snprintf(e->message, sizeof e->message, "out of memory");
}

static bool small_value(const json_t *v)
{
    if (json_is_array(v) || json_is_object(v))
        return false;
    return !json_is_string(v) || json_string_length(v) <= 256;
}

json_t *predict_error_loc(const char *field)
{
    json_t *loc = json_pack("[s]", "body");
    const char *p = field;
    while (loc && *p) {
        json_t *part;
        if (*p == '[') {
            char *end;
            part = json_integer((json_int_t)strtoll(p + 1, &end, 10));
            p = *end == ']' ? end + 1 : end;
        } else {
            size_t n = strcspn(p, ".[");
            part = json_stringn(p, n);
            p += n;
        }
        if (*p == '.')
            p++;
        if (json_array_append_new(loc, part) != 0) {
            json_decref(loc);
            return NULL;
        }
    }
    return loc;
}

/* FastAPI's entry: {type, loc, msg, input[, ctx]}; takes ctx. */
static json_t *detail_entry(const char *field, predict_issue *is, const json_t *value)
{
    json_t *input = value && small_value(value) ? json_deep_copy(value) : json_null();
    json_t *d = json_pack("{s:s, s:o*, s:s, s:o}", "type", is->type, "loc",
                          predict_error_loc(field), "msg", is->msg, "input", input);
    if (d && is->ctx)
        json_object_set(d, "ctx", is->ctx);
    json_decref(is->ctx);
    is->ctx = NULL;
    return d;
}

/* SPEC's entry: {field, constraint[, value]}. */
static json_t *details_entry(const char *field, const predict_issue *is, const json_t *value)
{
    json_t *d = json_pack("{s:s, s:s}", "field", field, "constraint", is->constraint);
    if (d && value && small_value(value))
        json_object_set_new(d, "value", json_deep_copy(value));
    return d;
}

void predict_error_add(predict_error *e, const char *field, predict_issue *is, const json_t *value)
{
    e->violations++;
    if (e->violations > PREDICT_MAX_VIOLATIONS) {
        json_decref(is->ctx);
        is->ctx = NULL;
        return;
    }
    if (!e->details)
        e->details = json_array();
    if (!e->detail)
        e->detail = json_array();
    /* Out of memory: the count stays right even if the lists come up short. */
    json_array_append_new(e->details, details_entry(field, is, value));
    json_array_append_new(e->detail, detail_entry(field, is, value));
}

void predict_error_finish(predict_error *e)
{
    if (e->violations == 0 || e->status == 400 || e->status == 500)
        return;
    e->status = 422;
    e->code = "validation_error";
    size_t n = json_array_size(e->details);
    int off = snprintf(e->message, sizeof e->message, "%zu validation error%s", e->violations,
                       e->violations == 1 ? "" : "s");
    if (e->violations > n)
        off += snprintf(e->message + off, sizeof e->message - off, " (first %zu listed)", n);
    for (size_t i = 0; i < n && off < (int)sizeof e->message; i++) {
        const json_t *d = json_array_get(e->details, i);
        const char *field = json_string_value(json_object_get(d, "field"));
        off += snprintf(e->message + off, sizeof e->message - off, "%s%s: %s", i ? "; " : ": ",
                        field && field[0] ? field : "body",
                        json_string_value(json_object_get(d, "constraint")));
    }
    sanitize(e->message);
}
