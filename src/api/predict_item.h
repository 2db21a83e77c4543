#ifndef KRONOS_PREDICT_ITEM_H
#define KRONOS_PREDICT_ITEM_H

/* Validation of one series (the single body, or one element of a batch's items). Internal to
 * predict_request.c. */

#include <jansson.h>

#include "api/predict_request.h"

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

#endif
