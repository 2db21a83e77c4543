#!/usr/bin/python3
"""Regenerates the catalogue of malformed prediction requests and expected.tsv.

Each case is one request body in its own file (bytes exactly as POSTed) and one manifest row:
file, route (single|batch), content_type, status, code, field (the first `details[].field` of a
422, or - ). Run it from anywhere after editing CASES; commit the files it writes.
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def candle(o, h, l, c, v=None, a=None):
    d = {"open": o, "high": h, "low": l, "close": c}
    if v is not None:
        d["volume"] = v
    if a is not None:
        d["amount"] = a
    return d


def ts(minute, hour=10, zone="Z"):
    return "2025-10-14T%02d:%02d:00%s" % (hour, minute, zone)


SINGLE = {
    "series_id": "BTC-USDT",
    "candles": [candle(100, 102, 99, 101, 10, 1010), candle(101, 103, 100.5, 102, 12, 1224),
                candle(102, 102.5, 101, 101.5, 8, 812), candle(101.5, 104, 101, 103.5, 20, 2060)],
    "timestamps": [ts(0), ts(5), ts(10), ts(15)],
    "prediction_timestamps": [ts(20), ts(25), ts(30)],
    "overrides": {"sample_count": 1, "seed": 42},
}


def item(series_id, **changes):
    it = copy.deepcopy(SINGLE)
    it["series_id"] = series_id
    it.update(changes)
    return it


BATCH = {"items": [item("A"), item("B", prediction_timestamps=[ts(20)]), item("C")]}


def mutate(base, path, value, delete=False):
    doc = copy.deepcopy(base)
    cur = doc
    keys = path.split("/")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = int(keys[-1]) if isinstance(cur, list) else keys[-1]
    if delete:
        del cur[last]
    else:
        cur[last] = value
    return doc


def dump(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def S(path, value=None, delete=False):
    return dump(mutate(SINGLE, path, value, delete))


def B(path, value=None, delete=False):
    return dump(mutate(BATCH, path, value, delete))


VALID = dump(SINGLE)
JSON = "application/json"

# (name, route, body bytes, status, code, field, content type)
CASES = [
    # --- 400: not JSON, not an object, duplicate keys, too deep ---
    ("not_json_text", "single", b"hello", 400, "bad_request", "-"),
    ("empty_body", "single", b"", 400, "bad_request", "-"),
    ("whitespace_only", "single", b"  \n ", 400, "bad_request", "-"),
    ("truncated_object", "single", VALID[: len(VALID) // 2], 400, "bad_request", "-"),
    ("truncated_string", "single", b'{"series_id":"BTC', 400, "bad_request", "-"),
    ("truncated_after_key", "single", b'{"candles":', 400, "bad_request", "-"),
    ("nan_literal", "single", VALID.replace(b'"open":100,', b'"open":NaN,', 1), 400,
     "bad_request", "-"),
    ("infinity_literal", "single", VALID.replace(b'"high":102,', b'"high":Infinity,', 1), 400,
     "bad_request", "-"),
    ("negative_infinity_literal", "single", VALID.replace(b'"low":99,', b'"low":-Infinity,', 1),
     400, "bad_request", "-"),
    ("huge_real_1e400", "single", VALID.replace(b'"open":100,', b'"open":1e400,', 1), 400,
     "bad_request", "-"),
    ("huge_integer_seed", "single", VALID.replace(b'"seed":42', b'"seed":18446744073709551616'),
     400, "bad_request", "-"),
    ("huge_negative_integer", "single",
     VALID.replace(b'"seed":42', b'"seed":-99999999999999999999999'), 400, "bad_request", "-"),
    ("duplicate_top_level_key", "single", VALID[:-1] + b',"candles":[]}', 400, "bad_request", "-"),
    ("duplicate_candle_key", "single", VALID.replace(b'"open":100,', b'"open":100,"open":100,', 1),
     400, "bad_request", "-"),
    ("deep_nesting_33", "single", VALID[:-1] + b',"x":' + b"[" * 32 + b"]" * 32 + b"}", 400,
     "bad_request", "-"),
    ("deep_nesting_10000", "single", b'{"x":' + b"[" * 10000 + b"]" * 10000 + b"}", 400,
     "bad_request", "-"),
    ("too_many_json_values", "single", b'{"x":[' + b",".join([b"0"] * 40000) + b"]}", 400,
     "bad_request", "-"),
    ("invalid_utf8_byte", "single", VALID.replace(b'"BTC-USDT"', b'"BTC\xff"'), 400,
     "bad_request", "-"),
    ("invalid_utf8_overlong", "single", VALID.replace(b'"BTC-USDT"', b'"BTC\xc0\xaf"'), 400,
     "bad_request", "-"),
    ("invalid_utf8_surrogate", "single", VALID.replace(b'"BTC-USDT"', b'"\xed\xa0\x80"'), 400,
     "bad_request", "-"),
    ("invalid_utf8_truncated_sequence", "single", VALID.replace(b'"BTC-USDT"', b'"BTC\xe2\x82"'),
     400, "bad_request", "-"),
    ("lone_surrogate_escape", "single", VALID.replace(b'"BTC-USDT"', b'"\\ud800"'), 400,
     "bad_request", "-"),
    ("nul_escape_in_string", "single", VALID.replace(b'"BTC-USDT"', b'"BTC\\u0000X"'), 400,
     "bad_request", "-"),
    ("raw_control_char_in_string", "single", VALID.replace(b'"BTC-USDT"', b'"BTC\nX"'), 400,
     "bad_request", "-"),
    # JSON that is not an object: FastAPI's 422 at loc ["body"] (model_attributes_type).
    ("top_level_array", "single", b"[" + VALID + b"]", 422, "validation_error", "-"),
    ("top_level_string", "single", b'"candles"', 422, "validation_error", "-"),
    ("top_level_number", "single", b"42", 422, "validation_error", "-"),
    ("top_level_null", "single", b"null", 422, "validation_error", "-"),
    ("trailing_garbage", "single", VALID + b"x", 400, "bad_request", "-"),
    ("two_objects", "single", VALID + VALID, 400, "bad_request", "-"),
    ("single_quotes", "single", VALID.replace(b'"', b"'"), 400, "bad_request", "-"),
    ("trailing_comma", "single", VALID.replace(b"]", b",]", 1), 400, "bad_request", "-"),
    ("comment", "single", b"// forecast\n" + VALID, 400, "bad_request", "-"),
    ("leading_zero_number", "single", VALID.replace(b'"seed":42', b'"seed":042'), 400,
     "bad_request", "-"),
    ("hex_number", "single", VALID.replace(b'"seed":42', b'"seed":0x2a'), 400, "bad_request", "-"),
    ("wrong_content_type", "single", VALID, 400, "bad_request", "-", "text/plain"),
    ("batch_top_level_array", "batch", b"[" + dump(item("A")) + b"]", 422, "validation_error",
     "-"),
    ("batch_duplicate_key_in_item", "batch",
     dump(BATCH).replace(b'"series_id":"B"', b'"series_id":"B","series_id":"D"'), 400,
     "bad_request", "-"),
    # --- 422: candles ---
    ("candles_missing", "single", S("candles", delete=True), 422, "validation_error", "candles"),
    ("candles_null", "single", S("candles", None), 422, "validation_error", "candles"),
    ("candles_empty", "single", S("candles", []), 422, "validation_error", "candles"),
    ("candles_string", "single", S("candles", "100,102,99,101"), 422, "validation_error",
     "candles"),
    ("candle_is_array", "single", S("candles/2", [102, 102.5, 101, 101.5]), 422,
     "validation_error", "candles[2]"),
    ("candle_open_missing", "single", S("candles/1/open", delete=True), 422, "validation_error",
     "candles[1].open"),
    # Strings holding numbers, booleans and numeric/date-only timestamps are what pydantic v2 reads
    # in lax mode (SPEC §1): accepted.
    ("candle_open_string", "single", S("candles/1/open", "101"), 200, "-", "-"),
    ("candle_close_boolean", "single", S("candles/3/close", True), 422, "validation_error", "candles[3].low"),
    ("candle_open_zero", "single", S("candles/0/open", 0), 422, "validation_error",
     "candles[0].open"),
    ("candle_low_negative", "single", S("candles/0/low", -1), 422, "validation_error",
     "candles[0].low"),
    ("candle_high_beyond_float32", "single", S("candles/0/high", 1e39), 422, "validation_error",
     "candles[0].high"),
    ("candle_high_below_close", "single", S("candles/3/high", 103), 422, "validation_error",
     "candles[3].high"),
    ("candle_low_above_open", "single", S("candles/1/low", 101.5), 422, "validation_error",
     "candles[1].low"),
    ("candle_volume_negative", "single", S("candles/2/volume", -8), 422, "validation_error",
     "candles[2].volume"),
    ("candle_volume_string", "single", S("candles/2/volume", "8"), 200, "-", "-"),
    ("candle_amount_negative", "single", S("candles/0/amount", -0.01), 422, "validation_error",
     "candles[0].amount"),
    ("candle_volume_partial", "single", S("candles/2/volume", delete=True), 422,
     "validation_error", "candles[2].volume"),
    # --- 422: timestamps ---
    ("timestamps_missing", "single", S("timestamps", delete=True), 422, "validation_error",
     "timestamps"),
    ("timestamps_not_array", "single", S("timestamps", ts(0)), 422, "validation_error",
     "timestamps"),
    ("timestamps_too_few", "single", S("timestamps", [ts(0), ts(5), ts(10)]), 422,
     "validation_error", "timestamps"),
    ("timestamps_too_many", "single", S("timestamps", [ts(0), ts(5), ts(10), ts(15), ts(16)]),
     422, "validation_error", "timestamps"),
    ("timestamps_unsorted", "single", S("timestamps", [ts(0), ts(10), ts(5), ts(15)]), 422,
     "validation_error", "timestamps[2]"),
    ("timestamps_duplicate", "single", S("timestamps", [ts(0), ts(5), ts(5), ts(15)]), 422,
     "validation_error", "timestamps[2]"),
    ("timestamps_same_instant_other_zone", "single",
     S("timestamps", [ts(0), ts(0, 11, "+01:00"), ts(10), ts(15)]), 422, "validation_error",
     "timestamps[1]"),
    ("timestamps_feb_30", "single", S("timestamps/1", "2025-02-30T10:05:00Z"), 422,
     "validation_error", "timestamps[1]"),
    ("timestamps_hour_24", "single", S("timestamps/3", "2025-10-14T24:00:00Z"), 422,
     "validation_error", "timestamps[3]"),
    ("timestamps_slashes", "single", S("timestamps/0", "2025/10/14 10:00:00"), 422,
     "validation_error", "timestamps[0]"),
    ("timestamps_epoch_number", "single", S("timestamps/0", 1760436000), 200, "-", "-"),
    ("timestamps_date_only", "single", S("timestamps/0", "2025-10-14"), 200, "-", "-"),
    ("timestamps_bad_offset", "single", S("timestamps/0", "2025-10-14T10:00:00+25:00"), 422,
     "validation_error", "timestamps[0]"),
    # --- 422: prediction_timestamps ---
    ("prediction_timestamps_missing", "single", S("prediction_timestamps", delete=True), 422,
     "validation_error", "prediction_timestamps"),
    ("prediction_timestamps_empty", "single", S("prediction_timestamps", []), 422,
     "validation_error", "prediction_timestamps"),
    ("prediction_timestamps_too_many", "single",
     S("prediction_timestamps",
       ["2025-10-15T%02d:%02d:00Z" % (i // 60, i % 60) for i in range(513)]), 422,
     "validation_error", "prediction_timestamps"),
    ("prediction_timestamps_before_history", "single", S("prediction_timestamps/0", ts(14)), 422,
     "validation_error", "prediction_timestamps[0]"),
    ("prediction_timestamps_equal_last", "single", S("prediction_timestamps/0", ts(15)), 422,
     "validation_error", "prediction_timestamps[0]"),
    ("prediction_timestamps_unsorted", "single",
     S("prediction_timestamps", [ts(20), ts(30), ts(25)]), 422, "validation_error",
     "prediction_timestamps[2]"),
    ("prediction_timestamps_leap_day_2025", "single",
     S("prediction_timestamps/2", "2025-02-29T00:00:00Z"), 422, "validation_error",
     "prediction_timestamps[2]"),
    ("prediction_timestamps_null_element", "single", S("prediction_timestamps/1", None), 422,
     "validation_error", "prediction_timestamps[1]"),
    # --- 422: overrides ---
    ("overrides_not_object", "single", S("overrides", "fast"), 422, "validation_error",
     "overrides"),
    ("overrides_pred_len_mismatch", "single", S("overrides/pred_len", 120), 422,
     "validation_error", "overrides.pred_len"),
    ("overrides_temperature_zero", "single", S("overrides/temperature", 0), 422,
     "validation_error", "overrides.temperature"),
    ("overrides_temperature_string", "single", S("overrides/temperature", "1.0"), 200, "-", "-"),
    ("overrides_top_k_negative", "single", S("overrides/top_k", -1), 422, "validation_error",
     "overrides.top_k"),
    ("overrides_top_k_fraction", "single", S("overrides/top_k", 2.5), 422, "validation_error",
     "overrides.top_k"),
    ("overrides_top_p_zero", "single", S("overrides/top_p", 0), 422, "validation_error",
     "overrides.top_p"),
    ("overrides_top_p_above_one", "single", S("overrides/top_p", 1.5), 422, "validation_error",
     "overrides.top_p"),
    ("overrides_sample_count_zero", "single", S("overrides/sample_count", 0), 422,
     "validation_error", "overrides.sample_count"),
    ("overrides_sample_count_17", "single", S("overrides/sample_count", 17), 422,
     "validation_error", "overrides.sample_count"),
    ("overrides_seed_negative", "single", S("overrides/seed", -42), 422, "validation_error",
     "overrides.seed"),
    ("overrides_seed_string", "single", S("overrides/seed", "42"), 200, "-", "-"),
    ("overrides_quantiles_need_samples", "single", S("overrides/quantiles", [0.1, 0.9]), 422,
     "validation_error", "overrides.quantiles"),
    ("overrides_quantiles_ten", "single",
     dump(mutate(SINGLE, "overrides", {"sample_count": 4,
                                       "quantiles": [i / 11 for i in range(1, 11)]})), 422,
     "validation_error", "overrides.quantiles"),
    ("overrides_quantile_one", "single",
     dump(mutate(SINGLE, "overrides", {"sample_count": 4, "quantiles": [0.5, 1]})), 422,
     "validation_error", "overrides.quantiles[1]"),
    ("overrides_quantiles_not_array", "single",
     dump(mutate(SINGLE, "overrides", {"sample_count": 4, "quantiles": 0.5})), 422,
     "validation_error", "overrides.quantiles"),
    ("series_id_number", "single", S("series_id", 7), 422, "validation_error", "series_id"),
    ("series_id_too_long", "single", S("series_id", "x" * 129), 422, "validation_error",
     "series_id"),
    ("several_violations", "single",
     dump(mutate(mutate(SINGLE, "candles/0/open", -1), "overrides", {"top_p": 7, "seed": -1})),
     422, "validation_error", "candles[0].open"),
    # --- valid variations: 200 ---
    ("valid_unknown_fields_ignored", "single",
     dump(dict(mutate(SINGLE, "candles/0/vwap", 100.4), extra={"nested": [1, 2]},
               overrides={"sample_count": 1, "beam_width": 3})), 200, "-", "-"),
    ("valid_null_overrides", "single",
     S("overrides", {k: None for k in ("pred_len", "temperature", "top_k", "top_p",
                                       "sample_count", "seed", "quantiles")}), 200, "-", "-"),
    ("valid_without_volume", "single",
     S("candles", [candle(c["open"], c["high"], c["low"], c["close"]) for c in SINGLE["candles"]]),
     200, "-", "-"),
    ("valid_mixed_zones", "single",
     S("timestamps", [ts(0), ts(5, 12, "+02:00"), "2025-10-14T10:10", ts(45, 4, "-05:30")]), 200,
     "-", "-"),
    ("valid_quantiles", "single",
     dump(mutate(SINGLE, "overrides", {"sample_count": 4, "quantiles": [0.1, 0.5, 0.9],
                                       "pred_len": 3})), 200, "-", "-"),
    # --- batch ---
    ("batch_items_missing", "batch", dump({"series": BATCH["items"]}), 422, "validation_error",
     "items"),
    ("batch_items_empty", "batch", dump({"items": []}), 422, "validation_error", "items"),
    ("batch_items_object", "batch", dump({"items": item("A")}), 422, "validation_error", "items"),
    ("batch_too_many_items", "batch", dump({"items": [item("S%d" % i) for i in range(65)]}), 422,
     "validation_error", "items"),
    ("batch_item_not_object", "batch", B("items/1", "B"), 422, "validation_error", "items[1]"),
    ("batch_series_id_missing", "batch", B("items/2/series_id", delete=True), 422,
     "validation_error", "items[2].series_id"),
    ("batch_series_id_duplicate", "batch", B("items/2/series_id", "A"), 422, "validation_error",
     "items[2].series_id"),
    ("batch_candle_high_below_close", "batch", B("items/1/candles/3/high", 103), 422,
     "validation_error", "items[1].candles[3].high"),
    ("batch_timestamps_unsorted", "batch", B("items/2/timestamps/1", ts(0)), 422,
     "validation_error", "items[2].timestamps[1]"),
    ("batch_prediction_before_history", "batch", B("items/0/prediction_timestamps/0", ts(1)),
     422, "validation_error", "items[0].prediction_timestamps[0]"),
    ("batch_overrides_top_p", "batch", B("items/1/overrides/top_p", 0), 422, "validation_error",
     "items[1].overrides.top_p"),
    ("batch_pred_len_mismatch", "batch", B("items/1/overrides/pred_len", 3), 422,
     "validation_error", "items[1].overrides.pred_len"),
    ("batch_single_body", "batch", VALID, 422, "validation_error", "items"),
    ("valid_batch_mixed_lengths", "batch",
     dump({"items": [item("A", candles=SINGLE["candles"][:2], timestamps=[ts(0), ts(5)]),
                     item("B", overrides={"sample_count": 3, "quantiles": [0.5]}),
                     item("C", prediction_timestamps=[ts(40)], unknown=True)]}), 200, "-", "-"),
    # FastAPI-compatible input forms (SPEC §1, issue 10).
    ("lax_numbers_as_strings", "single",
     S("candles/0", {"open": "100", "high": " 102.0 ", "low": "99", "close": "1_01",
                     "volume": "10", "amount": "1010"}), 200, "-", "-"),
    ("lax_pandas_timestamps", "single",
     S("timestamps", ["2025-10-14 10:00:00", "2025-10-14t10:05:00z", "2025-10-14T10:10:00+0000",
                      "2025-10-14T10:15:00.123456Z"]), 200, "-", "-"),
    ("lax_unix_timestamps", "single",
     S("timestamps", [1760436000, 1760436300000, 1760436600.5, "1760436900"]), 200, "-", "-"),
    ("lax_overrides_as_strings", "single",
     S("overrides", {"sample_count": "2", "seed": "42", "temperature": "0.9", "top_k": "0",
                     "top_p": "0.95", "pred_len": "3.0", "quantiles": ["0.1", 0.9]}), 200, "-",
     "-"),
    ("no_content_type", "single", VALID, 200, "-", "-", "-"),
    ("json_suffix_content_type", "single", VALID, 200, "-", "-", "application/vnd.api+json"),
    ("candle_open_nan_string", "single", S("candles/1/open", "NaN"), 422, "validation_error",
     "candles[1].open"),
    ("candle_high_infinity_string", "single", S("candles/1/high", "Infinity"), 422,
     "validation_error", "candles[1].high"),
    ("timestamps_boolean", "single", S("timestamps/1", True), 422, "validation_error",
     "timestamps[1]"),
    ("timestamps_unix_out_of_range", "single", S("timestamps/3", 1e300), 422, "validation_error",
     "timestamps[3]"),
    ("overrides_seed_unparsable_string", "single", S("overrides/seed", "forty-two"), 422,
     "validation_error", "overrides.seed"),
    ("overrides_misspelt_key_warned", "single", S("overrides/sample_cnt", 4), 200, "-", "-"),
]


def main():
    for f in os.listdir(HERE):
        if f.endswith(".json"):
            os.remove(os.path.join(HERE, f))
    rows = ["# file\troute\tcontent_type\tstatus\tcode\tfield"]
    seen = set()
    for n, case in enumerate(CASES, 1):
        name, route, body, status, code, field = case[:6]
        ctype = case[6] if len(case) > 6 else JSON
        assert name not in seen, name
        seen.add(name)
        fname = "%03d_%s.json" % (n, name)
        with open(os.path.join(HERE, fname), "wb") as fh:
            fh.write(body)
        rows.append("\t".join([fname, route, ctype, str(status), code, field]))
    with open(os.path.join(HERE, "expected.tsv"), "w") as fh:
        fh.write("\n".join(rows) + "\n")
    print("%d cases" % len(CASES))


if __name__ == "__main__":
    main()
