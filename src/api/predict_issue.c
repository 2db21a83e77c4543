#include "api/predict_error.h"

#include <stdio.h>
#include <string.h>

/* The violations of a predict request worded as pydantic v2 words them (pydantic-core's
 * errors/types.rs), so a FastAPI client reads the same `type` and `msg` it read before. */

static predict_issue issue(const char *type, const char *constraint)
{
    predict_issue is = {.type = type, .ctx = NULL};
    snprintf(is.constraint, sizeof is.constraint, "%s", constraint);
    return is;
}

predict_issue predict_issue_missing(void)
{
    predict_issue is = issue("missing", "required");
    snprintf(is.msg, sizeof is.msg, "Field required");
    return is;
}

predict_issue predict_issue_type(const char *type)
{
    static const struct {
        const char *type, *constraint, *msg;
    } table[] = {
        {"float_type", "type: number", "Input should be a valid number"},
        {"float_parsing", "type: number",
         "Input should be a valid number, unable to parse string as a number"},
        {"finite_number", "finite", "Input should be a finite number"},
        {"int_type", "type: integer", "Input should be a valid integer"},
        {"int_parsing", "type: integer",
         "Input should be a valid integer, unable to parse string as an integer"},
        {"int_from_float", "type: integer",
         "Input should be a valid integer, got a number with a fractional part"},
        {"int_parsing_size", "type: integer",
         "Unable to parse input string as an integer, exceeded maximum size"},
        {"string_type", "type: string", "Input should be a valid string"},
        {"list_type", "type: array", "Input should be a valid list"},
        {"dict_type", "type: object", "Input should be a valid dictionary"},
        {"model_attributes_type", "type: object",
         "Input should be a valid dictionary or object to extract fields from"},
        {"datetime_type", "ISO 8601 date-time or Unix time", "Input should be a valid datetime"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].type, type) == 0) {
            predict_issue is = issue(table[i].type, table[i].constraint);
            snprintf(is.msg, sizeof is.msg, "%s", table[i].msg);
            return is;
        }
    return predict_issue_value(type);
}

predict_issue predict_issue_model(const char *class_name)
{
    predict_issue is = issue("model_type", "type: object");
    snprintf(is.msg, sizeof is.msg, "Input should be a valid dictionary or instance of %s",
             class_name);
    is.ctx = json_pack("{s:s}", "class_name", class_name);
    return is;
}

/* A bound as Python prints it in pydantic's messages: 0, 2147483647, 0.5, 1e+30. */
static void format_bound(char *out, size_t cap, double bound)
{
    if (bound == (double)(long long)bound && bound > -1e15 && bound < 1e15)
        snprintf(out, cap, "%lld", (long long)bound);
    else
        snprintf(out, cap, "%g", bound);
}

predict_issue predict_issue_bound(const char *type, double bound, const char *constraint)
{
    static const struct {
        const char *type, *key, *op, *words;
    } table[] = {
        {"greater_than", "gt", ">", "greater than"},
        {"greater_than_equal", "ge", ">=", "greater than or equal to"},
        {"less_than", "lt", "<", "less than"},
        {"less_than_equal", "le", "<=", "less than or equal to"},
    };
    size_t k = 0;
    while (k < 3 && strcmp(table[k].type, type) != 0)
        k++;
    predict_issue is = issue(table[k].type, "");
    char num[32];
    format_bound(num, sizeof num, bound);
    if (constraint)
        snprintf(is.constraint, sizeof is.constraint, "%s", constraint);
    else
        snprintf(is.constraint, sizeof is.constraint, "%s %s", table[k].op, num);
    snprintf(is.msg, sizeof is.msg, "Input should be %s %s", table[k].words, num);
    json_t *b =
        bound == (double)(json_int_t)bound ? json_integer((json_int_t)bound) : json_real(bound);
    is.ctx = json_object();
    json_object_set_new(is.ctx, table[k].key, b);
    return is;
}

predict_issue predict_issue_length(size_t actual, size_t min, size_t max, bool is_string)
{
    bool too_short = actual < min;
    size_t limit = too_short ? min : max;
    predict_issue is = issue(is_string ? (too_short ? "string_too_short" : "string_too_long")
                                       : (too_short ? "too_short" : "too_long"),
                             "");
    snprintf(is.constraint, sizeof is.constraint, "length %s %zu", too_short ? ">=" : "<=", limit);
    const char *plural = limit == 1 ? "" : "s";
    if (is_string) {
        snprintf(is.msg, sizeof is.msg, "String should have %s %zu character%s",
                 too_short ? "at least" : "at most", limit, plural);
        is.ctx = json_pack("{s:I}", too_short ? "min_length" : "max_length", (json_int_t)limit);
    } else {
        snprintf(is.msg, sizeof is.msg, "List should have %s %zu item%s after validation, not %zu",
                 too_short ? "at least" : "at most", limit, plural, actual);
        is.ctx = json_pack("{s:s, s:I, s:I}", "field_type", "List",
                           too_short ? "min_length" : "max_length", (json_int_t)limit,
                           "actual_length", (json_int_t)actual);
    }
    return is;
}

predict_issue predict_issue_datetime(const char *type, const char *reason)
{
    bool from_date = strcmp(type, "datetime_from_date_parsing") == 0;
    predict_issue is =
        issue(from_date ? "datetime_from_date_parsing" : "datetime_parsing", "ISO 8601 date-time");
    snprintf(is.msg, sizeof is.msg, "Input should be a valid datetime%s, %s",
             from_date ? " or date" : "", reason);
    is.ctx = json_pack("{s:s}", "error", reason);
    return is;
}

predict_issue predict_issue_value(const char *constraint)
{
    predict_issue is = issue("value_error", constraint);
    snprintf(is.msg, sizeof is.msg, "Value error, %s", constraint);
    is.ctx = json_pack("{s:s}", "error", constraint);
    return is;
}
