#include "api/predict_item.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void predict_viol(const item_ctx *c, predict_issue is, const json_t *value, const char *fmt, ...)
{
    char field[160];
    int off = snprintf(field, sizeof field, "%s", c->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field + off, sizeof field - off, fmt, ap);
    va_end(ap);
    predict_error_add(c->err, field, &is, value);
}

bool predict_absent(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

const json_t *predict_array_field(const item_ctx *c, const json_t *obj, const char *name,
                                  size_t min, size_t max)
{
    const json_t *arr = json_object_get(obj, name);
    if (predict_absent(arr)) {
        predict_viol(c, predict_issue_missing(), NULL, "%s", name);
        return NULL;
    }
    if (!json_is_array(arr)) {
        predict_viol(c, predict_issue_type("list_type"), arr, "%s", name);
        return NULL;
    }
    size_t n = json_array_size(arr);
    if (n < min || n > max) {
        predict_viol(c, predict_issue_length(n, min, max, false), arr, "%s", name);
        return NULL;
    }
    return arr;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int parse_series_id(const item_ctx *c, const json_t *obj, predict_item *it)
{
    const json_t *v = json_object_get(obj, "series_id");
    if (predict_absent(v)) {
        if (c->series_id_required)
            predict_viol(c, predict_issue_missing(), NULL, "series_id");
        return 0;
    }
    if (!json_is_string(v)) {
        predict_viol(c, predict_issue_type("string_type"), v, "series_id");
        return 0;
    }
    size_t chars = utf8_chars(json_string_value(v), json_string_length(v));
    if (chars > PREDICT_MAX_SERIES_ID) {
        predict_viol(c, predict_issue_length(chars, 0, PREDICT_MAX_SERIES_ID, true), v,
                     "series_id");
        return 0;
    }
    it->series_id = strdup(json_string_value(v));
    return it->series_id ? 0 : -1;
}

int predict_item_parse(const item_ctx *c, const json_t *obj, predict_item *it, engine_series *s)
{
    size_t rows = 0, pred_len = 0;
    iso_time hist_last;
    bool hist_last_ok = false;

    memset(it, 0, sizeof *it);
    memset(s, 0, sizeof *s);
    if (parse_series_id(c, obj, it) < 0 || predict_parse_candles(c, obj, it, &rows) < 0 ||
        predict_parse_timestamps(c, obj, rows, it, &hist_last, &hist_last_ok) < 0)
        return -1;
    if (predict_parse_prediction_timestamps(c, obj, it, &hist_last, hist_last_ok, &pred_len) < 0)
        return -1;
    predict_parse_overrides(c, obj, pred_len, it, &s->sampling);
    s->rows = rows;
    s->x = it->x;
    s->x_time = it->x_time;
    s->pred_len = pred_len;
    s->y_time = it->y_time;
    return 0;
}

void predict_item_free(predict_item *it)
{
    for (size_t i = 0; it->pred_timestamps && i < it->pred_len; i++)
        free(it->pred_timestamps[i]);
    free(it->pred_timestamps);
    free(it->series_id);
    free(it->x);
    free(it->x_time);
    free(it->y_time);
    json_decref(it->warnings);
    memset(it, 0, sizeof *it);
}
