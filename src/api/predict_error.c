#include "api/predict_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void predict_error_init(predict_error *e)
{
    memset(e, 0, sizeof *e);
}

void predict_error_clear(predict_error *e)
{
    json_decref(e->details);
    predict_error_init(e);
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
    json_decref(e->details);
    e->details = json_array();
    e->violations = 0;
    e->status = 400;
    e->code = "bad_request";
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    sanitize(e->message);
}

void predict_error_nomem(predict_error *e)
{
    json_decref(e->details);
    e->details = json_array();
    e->violations = 0;
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

void predict_error_add(predict_error *e, const char *field, const char *constraint,
                       const json_t *value)
{
    e->violations++;
    if (e->violations > PREDICT_MAX_VIOLATIONS)
        return;
    if (!e->details)
        e->details = json_array();
    json_t *d = json_object();
    if (!e->details || !d)
        goto fail;
    if (json_object_set_new(d, "field", json_string(field)) ||
        json_object_set_new(d, "constraint", json_string(constraint)))
        goto fail;
    if (value && small_value(value) && json_object_set_new(d, "value", json_deep_copy(value)))
        goto fail;
    if (json_array_append_new(e->details, d) == 0)
        return;
    d = NULL;
fail:
    json_decref(d);
    /* Out of memory: the count stays right even if the details list comes up short. */
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
        off += snprintf(e->message + off, sizeof e->message - off, "%s%s: %s", i ? "; " : ": ",
                        json_string_value(json_object_get(d, "field")),
                        json_string_value(json_object_get(d, "constraint")));
    }
    sanitize(e->message);
}
