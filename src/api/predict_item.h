#ifndef KRONOS_PREDICT_ITEM_H
#define KRONOS_PREDICT_ITEM_H

/* Validation of one series (the single body, or one element of a batch's items). Internal to the
 * predict_*.c parsing files. */

#include <jansson.h>

#include "api/predict_request.h"
#include "util/iso8601.h"

typedef struct item_ctx {
    predict_error *err;
    const predict_limits *lim;
    const predict_defaults *def;
    const char *prefix;      /* "" or "items[3]." */
    bool series_id_required; /* batch items */
} item_ctx;

/* Validates obj, recording violations in c->err, and fills *it and *s when it is valid.
 * Returns 0, or -1 when memory ran out. Partially filled items are freed by the caller. */
int predict_item_parse(const item_ctx *c, const json_t *obj, predict_item *it, engine_series *s);

void predict_item_free(predict_item *it);

/* Records a violation at c->prefix + the printf-formatted field path. */
void predict_viol(const item_ctx *c, predict_issue is, const json_t *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Missing and JSON null are the same: absent. */
bool predict_absent(const json_t *v);

/* obj[name] when it is an array of min..max elements; otherwise records the violation
 * (missing, list_type, too_short/too_long) and returns NULL. */
const json_t *predict_array_field(const item_ctx *c, const json_t *obj, const char *name,
                                  size_t min, size_t max);

/* candles -> it->x (filled per SPEC); *rows_out = number of candles, 0 when unusable.
 * Returns 0, or -1 when memory ran out. */
int predict_parse_candles(const item_ctx *c, const json_t *obj, predict_item *it, size_t *rows_out);

/* timestamps -> it->x_time; *last gets the last timestamp and *last_ok whether it parsed. */
int predict_parse_timestamps(const item_ctx *c, const json_t *obj, size_t rows, predict_item *it,
                             iso_time *last, bool *last_ok);

/* prediction_timestamps -> it->y_time, it->pred_timestamps, it->pred_len; *pred_len = their
 * number when the array is usable (else 0). */
int predict_parse_prediction_timestamps(const item_ctx *c, const json_t *obj, predict_item *it,
                                        const iso_time *hist_last, bool hist_last_ok,
                                        size_t *pred_len);

/* overrides -> *s with the defaults for absent keys, it->quantiles, it->seed_random. */
void predict_parse_overrides(const item_ctx *c, const json_t *obj, size_t pred_len,
                             predict_item *it, engine_sampling *s);

#endif
