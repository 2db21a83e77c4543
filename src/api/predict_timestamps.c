#include "api/predict_item.h"

#include <stdlib.h>
#include <string.h>

/* timestamps and prediction_timestamps: ISO 8601, strictly ascending by UTC instant. */

static engine_time engine_time_of(const iso_wall *w)
{
    return (engine_time){w->minute, w->hour, w->weekday, w->day, w->month};
}

/* Parses an array of timestamps, checking each and their strict UTC order. times and raw (each
 * may be NULL) receive the parsed values and copies of the strings. Returns -1 on OOM, else
 * the number of elements that parsed; *last gets the last element when it parsed. */
static long parse_times(const item_ctx *c, const json_t *arr, const char *name, iso_time *times,
                        char **raw, iso_time *last, bool *last_ok)
{
    iso_time prev;
    bool have_prev = false;
    long good = 0;
    size_t n = json_array_size(arr);
    *last_ok = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        iso_time t;
        if (!json_is_string(v)) {
            predict_viol(c, "type: string", v, "%s[%zu]", name, i);
            continue;
        }
        if (iso8601_parse(json_string_value(v), json_string_length(v), &t) != 0) {
            predict_viol(c, "ISO 8601 date-time", v, "%s[%zu]", name, i);
            continue;
        }
        /* Compared with the last valid one, so one bad element hides no disorder. */
        if (have_prev && iso_time_cmp(&prev, &t) >= 0)
            predict_viol(c, "strictly ascending", v, "%s[%zu]", name, i);
        prev = t;
        have_prev = true;
        good++;
        if (times)
            times[i] = t;
        if (raw && !(raw[i] = strdup(json_string_value(v))))
            return -1;
        if (i == n - 1) {
            *last = t;
            *last_ok = true;
        }
    }
    return good;
}

int predict_parse_timestamps(const item_ctx *c, const json_t *obj, size_t rows, predict_item *it,
                             iso_time *last, bool *last_ok)
{
    *last_ok = false;
    const json_t *arr = predict_array_field(c, obj, "timestamps", 0, SIZE_MAX);
    if (!arr)
        return 0;
    size_t n = json_array_size(arr);
    iso_time *times = NULL;
    if (rows > 0 && n != rows) {
        predict_viol(c, "length == len(candles)", NULL, "timestamps");
    } else if (rows > 0) {
        if (!(times = malloc(rows * sizeof *times)) ||
            !(it->x_time = malloc(rows * sizeof *it->x_time))) {
            free(times);
            return -1;
        }
    } else if (n == 0) {
        predict_viol(c, "length >= 1", arr, "timestamps");
        return 0;
    }
    long good = parse_times(c, arr, "timestamps", times, NULL, last, last_ok);
    if (times && good == (long)rows)
        for (size_t i = 0; i < rows; i++)
            it->x_time[i] = engine_time_of(&times[i].wall);
    free(times);
    return 0;
}

int predict_parse_prediction_timestamps(const item_ctx *c, const json_t *obj, predict_item *it,
                                        const iso_time *hist_last, bool hist_last_ok,
                                        size_t *pred_len)
{
    *pred_len = 0;
    const json_t *arr =
        predict_array_field(c, obj, "prediction_timestamps", 1, c->lim->max_pred_len);
    if (!arr)
        return 0;
    size_t n = json_array_size(arr);
    iso_time *times = malloc(n * sizeof *times);
    it->y_time = malloc(n * sizeof *it->y_time);
    it->pred_timestamps = calloc(n, sizeof *it->pred_timestamps);
    if (!times || !it->y_time || !it->pred_timestamps) {
        free(times);
        return -1;
    }
    it->pred_len = n;
    iso_time last;
    bool last_ok;
    long good =
        parse_times(c, arr, "prediction_timestamps", times, it->pred_timestamps, &last, &last_ok);
    if (good < 0) {
        free(times);
        return -1;
    }
    *pred_len = n;
    const json_t *first = json_array_get(arr, 0);
    if (hist_last_ok && json_is_string(first) &&
        iso8601_parse(json_string_value(first), json_string_length(first), &times[0]) == 0 &&
        iso_time_cmp(&times[0], hist_last) <= 0)
        predict_viol(c, "after the last of timestamps", first, "prediction_timestamps[0]");
    if (good == (long)n)
        for (size_t i = 0; i < n; i++)
            it->y_time[i] = engine_time_of(&times[i].wall);
    free(times);
    return 0;
}
