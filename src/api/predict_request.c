#include "api/predict_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/predict_item.h"

int predict_json_prescan(const char *body, size_t len, int max_depth, size_t max_values)
{
    int depth = 0;
    size_t values = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = body[i];
        if (in_string) {
            if (ch == '\\')
                i++; /* the escaped character cannot end the string */
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max_depth)
                return PREDICT_SCAN_TOO_DEEP;
            values++;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        } else if (ch == ',') {
            values++;
        }
        if (values > max_values)
            return PREDICT_SCAN_TOO_MANY;
    }
    return 0;
}

/* Generous: a candle is 6 numbers and a timestamp; the rest leaves room for ignored fields. */
size_t predict_max_json_values(const predict_limits *lim, bool batch)
{
    size_t per_item = lim->max_candles * 16 + lim->max_pred_len * 2 + 256;
    return batch ? lim->max_batch_items * per_item + 16 : per_item;
}

static json_t *load_object(const char *body, size_t len, size_t max_values, predict_error *err)
{
    json_error_t jerr;
    if (!body || len == 0) {
        predict_error_bad_request(err, "request body is empty");
        return NULL;
    }
    int scan = predict_json_prescan(body, len, PREDICT_MAX_DEPTH, max_values);
    if (scan == PREDICT_SCAN_TOO_DEEP) {
        predict_error_bad_request(err, "JSON nesting deeper than %d", PREDICT_MAX_DEPTH);
        return NULL;
    }
    if (scan == PREDICT_SCAN_TOO_MANY) {
        predict_error_bad_request(err, "more than %zu JSON values for this route", max_values);
        return NULL;
    }
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            predict_error_nomem(err);
        else
            predict_error_bad_request(err, "invalid JSON: %s (line %d, column %d)", jerr.text,
                                      jerr.line, jerr.column);
        return NULL;
    }
    return root;
}

static int alloc_items(predict_request *out, size_t n)
{
    out->n = n;
    out->items = calloc(n, sizeof *out->items);
    out->series = calloc(n, sizeof *out->series);
    return out->items && out->series ? 0 : -1;
}

static int parse_single(const json_t *root, const item_ctx *c, predict_request *out)
{
    if (alloc_items(out, 1) < 0)
        return -1;
    return predict_item_parse(c, root, &out->items[0], &out->series[0]);
}

static int parse_batch(const json_t *root, item_ctx *c, predict_request *out)
{
    const json_t *items = predict_array_field(c, root, "items", 1, c->lim->max_batch_items);
    if (!items)
        return 0;
    size_t n = json_array_size(items);
    if (alloc_items(out, n) < 0)
        return -1;
    char prefix[32];
    c->prefix = prefix;
    c->series_id_required = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(items, i);
        snprintf(prefix, sizeof prefix, "items[%zu].", i);
        if (!json_is_object(item)) {
            char field[32];
            snprintf(field, sizeof field, "items[%zu]", i);
            predict_issue is = predict_issue_model("PredictBatchItem");
            predict_error_add(c->err, field, &is, item);
            continue;
        }
        if (predict_item_parse(c, item, &out->items[i], &out->series[i]) < 0)
            return -1;
        const char *id = out->items[i].series_id;
        for (size_t j = 0; id && j < i; j++)
            if (out->items[j].series_id && strcmp(out->items[j].series_id, id) == 0) {
                char field[48];
                snprintf(field, sizeof field, "items[%zu].series_id", i);
                predict_issue is = predict_issue_value("unique");
                predict_error_add(c->err, field, &is, json_object_get(item, "series_id"));
                break;
            }
    }
    return 0;
}

int predict_parse(const char *body, size_t len, bool batch, const predict_limits *lim,
                  const predict_defaults *def, predict_request *out, predict_error *err)
{
    memset(out, 0, sizeof *out);
    out->batch = batch;
    json_t *root = load_object(body, len, predict_max_json_values(lim, batch), err);
    if (!root)
        return err->status;

    item_ctx c = {.err = err, .lim = lim, .def = def, .prefix = "", .series_id_required = false};
    int rc = 0;
    if (!json_is_object(root)) {
        /* JSON, but not the object the schema wants: a 422 at loc ["body"], as FastAPI says. */
        predict_issue is = predict_issue_type("model_attributes_type");
        predict_error_add(err, "", &is, root);
    } else {
        rc = batch ? parse_batch(root, &c, out) : parse_single(root, &c, out);
    }
    json_decref(root);
    if (rc < 0) {
        predict_request_free(out);
        out->batch = batch;
        predict_error_nomem(err);
        return err->status;
    }
    predict_error_finish(err);
    if (err->status != 0) {
        predict_request_free(out);
        out->batch = batch;
        return err->status;
    }
    for (size_t i = 0; i < out->n; i++) {
        out->total_rows += out->series[i].rows;
        out->total_pred_len += out->series[i].pred_len;
    }
    return PREDICT_OK;
}

void predict_request_free(predict_request *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->items && i < r->n; i++)
        predict_item_free(&r->items[i]);
    free(r->items);
    free(r->series);
    memset(r, 0, sizeof *r);
}
