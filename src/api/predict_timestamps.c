#include "api/predict_item.h"
#include "api/predict_lax.h"

#include <stdlib.h>
#include <string.h>

/* timestamps and prediction_timestamps: ISO 8601 text or Unix times (util/iso8601.h), strictly
 * ascending by UTC instant. */

static engine_time engine_time_of(const iso_wall *w)
{
    return (engine_time){w->minute, w->hour, w->weekday, w->day, w->month};
}

/* One timestamp; records the violation when it is none. */
static bool read_time(const item_ctx *c, const json_t *v, const char *name, size_t i, iso_time *t,
                      bool *numeric)
{
    const char *why, *reason;
    if (predict_lax_time(v, t, numeric, &why, &reason))
        return true;
    predict_issue is = strcmp(why, "datetime_type") == 0 ? predict_issue_type(why)
                                                         : predict_issue_datetime(why, reason);
    predict_viol(c, is, v, "%s[%zu]", name, i);
    return false;
}

/* The echo of a timestamp in forecast points: the client's text, or RFC 3339 UTC for a number. */
static char *echo_of(const json_t *v, const iso_time *t, bool numeric)
{
    if (!numeric)
        return strdup(json_string_value(v));
    char buf[ISO8601_UTC_MAX];
    iso8601_format_utc(t, buf);
    return strdup(buf);
}

/* Parses an array of timestamps, checking each and their strict UTC order. times and raw (each
 * may be NULL) receive the parsed values and their echoes. Returns -1 on OOM, else the number
 * of elements that parsed; *last gets the last element when it parsed. */
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
        bool numeric;
        if (!read_time(c, v, name, i, &t, &numeric))
            continue;
        /* Compared with the last valid one, so one bad element hides no disorder. */
        if (have_prev && iso_time_cmp(&prev, &t) >= 0)
            predict_viol(c, predict_issue_value("strictly ascending"), v, "%s[%zu]", name, i);
        prev = t;
        have_prev = true;
        good++;
        if (times)
            times[i] = t;
        if (raw && !(raw[i] = echo_of(v, &t, numeric)))
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
        predict_viol(c, predict_issue_value("length == len(candles)"), NULL, "timestamps");
    } else if (rows > 0) {
        if (!(times = malloc(rows * sizeof *times)) ||
            !(it->x_time = malloc(rows * sizeof *it->x_time))) {
            free(times);
            return -1;
        }
    } else if (n == 0) {
        predict_viol(c, predict_issue_length(0, 1, SIZE_MAX, false), arr, "timestamps");
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
    const char *why, *reason;
    bool numeric;
    if (hist_last_ok && predict_lax_time(first, &times[0], &numeric, &why, &reason) &&
        iso_time_cmp(&times[0], hist_last) <= 0)
        predict_viol(c, predict_issue_value("after the last of timestamps"), first,
                     "prediction_timestamps[0]");
    if (good == (long)n)
        for (size_t i = 0; i < n; i++)
            it->y_time[i] = engine_time_of(&times[i].wall);
    free(times);
    return 0;
}
