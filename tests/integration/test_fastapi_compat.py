"""Issue 10 through the real binary: what a FastAPI client sends today works (pydantic v2's lax
inputs), its errors read as FastAPI's (422 detail list, loc, type), 403s and rate limits explain
themselves, and the log lines carry what the old service's guide shows."""
import copy
import json

from harness import SGEMM_DELAY_US, have_tiny_model, kronos_env, slow_single, Checker, Kronosd
from predict_data import single

c = Checker()
ENV = {"KRONOS_RATE_LIMIT_ENABLED": "false"}


def points(r):
    return [p["timestamp"] for p in r.json()["prediction"]]


with Kronosd(env=ENV, wait_ready=True) as k:
    base = single(12, 3, overrides={"seed": 1})
    ok = k.post("/v1/predict/single", base)
    c.eq(ok.status, 200, "base request")
    ref = ok.json()["prediction"]

    # Numbers as strings, integers for floats, "seed":"42": the same forecast as the numbers.
    lax = copy.deepcopy(base)
    for bar in lax["candles"]:
        for key in ("open", "high", "low", "close"):
            bar[key] = " %r " % bar[key]
        bar["volume"] = str(bar["volume"])
    lax["overrides"] = {"seed": "1", "sample_count": "1", "pred_len": 3.0}
    r = k.post("/v1/predict/single", lax)
    c.eq(r.status, 200, "numbers as strings accepted")
    if r.status == 200:
        c.eq(r.json()["prediction"], ref, "numbers as strings read as the numbers")
    ints = copy.deepcopy(base)
    ints["candles"][0] = {"open": 100, "high": 102, "low": 99, "close": 101, "volume": 5}
    for bar in ints["candles"][1:]:
        bar.pop("amount")
    c.eq(k.post("/v1/predict/single", ints).status, 200, "integers for floats")

    # Timestamps in every form pydantic reads; the instants are the same, so the forecast too.
    forms = copy.deepcopy(base)
    stamps = base["timestamps"]
    forms["timestamps"] = [stamps[0].replace("T", " ").replace("Z", ""),          # pandas str()
                           stamps[1].replace("Z", "z").replace("T", "t"),
                           stamps[2].replace("Z", "+0000"),
                           stamps[3].replace("Z", ".000000Z"),
                           stamps[4].replace("Z", ".1234567Z")]
    forms["timestamps"] += stamps[5:]
    r = k.post("/v1/predict/single", forms)
    c.eq(r.status, 200, "space, lower-case, +0000 and long fractions accepted")
    c.eq(points(r) if r.status == 200 else None, base["prediction_timestamps"],
         "string prediction timestamps echoed as written")
    unix = copy.deepcopy(base)
    unix["timestamps"] = [1760436000 + 300 * i for i in range(12)]
    unix["prediction_timestamps"] = [1760439600, 1760439900000, "1760440200"]
    r = k.post("/v1/predict/single", unix)
    c.eq(r.status, 200, "Unix seconds, milliseconds and digit strings accepted")
    if r.status == 200:
        c.eq(points(r), ["2025-10-14T11:00:00Z", "2025-10-14T11:05:00Z", "1760440200"],
             "numbers echo as RFC 3339 UTC, strings as written")
        c.eq(r.json()["prediction"][0]["open"], ref[0]["open"],
             "Unix times are the same instants and wall clock as the ISO ones")
    dated = single(3, 2, start="2025-10-13T00:00:00Z", step_min=1440)
    dated["timestamps"] = ["2025-10-13", "2025-10-14", "2025-10-15"]
    dated["prediction_timestamps"] = ["2025-10-16", "2025-10-17"]
    r = k.post("/v1/predict/single", dated)
    c.eq(r.status, 200, "dates alone are midnight")

    # The old guide's end-to-end requests: 400 candles -> 120 bars, and 3 x (200 -> 60) batch.
    r = k.post("/v1/predict/single", single(400, 120))
    c.check(r.status == 200 and len(r.json()["prediction"]) == 120, "400 -> 120 single")
    r = k.post("/v1/predict/batch", {"items": [single(200, 60, series_id=s, seed=i)
                                               for i, s in enumerate(("BTC", "ETH", "SOL"))]})
    c.check(r.status == 200 and [len(f["prediction"]) for f in r.json()] == [60, 60, 60] and
            [f["series_id"] for f in r.json()] == ["BTC", "ETH", "SOL"], "3 x (200 -> 60) batch")

    # Content types: none is JSON, +json is JSON, text/plain stays a 400.
    raw = json.dumps(base).encode()
    c.eq(k.request("POST", "/v1/predict/single", body=raw).status, 200, "no Content-Type is JSON")
    c.eq(k.request("POST", "/v1/predict/single", body=raw,
                   headers={"Content-Type": "application/vnd.kronos+json"}).status, 200,
         "application/*+json is JSON")
    r = k.request("POST", "/v1/predict/single", body=raw, headers={"Content-Type": "text/plain"})
    c.eq(r.status, 400, "text/plain stays 400")
    c.check(isinstance(r.json()["detail"], str), "a 400's detail is one string")

    # A misspelt override is named, with the key it probably meant.
    typo = copy.deepcopy(base)
    typo["overrides"] = {"seed": 1, "sample_cnt": 4}
    r = k.post("/v1/predict/single", typo)
    c.eq(r.status, 200, "unknown override ignored")
    warns = r.json().get("warnings", []) if r.status == 200 else []
    c.check(len(warns) == 1 and "sample_cnt" in warns[0] and "sample_count" in warns[0],
            "warnings name the unknown key and the closest one: %r" % warns)
    c.check("warnings" not in ok.json(), "no warnings key when there is nothing to say")

    # FastAPI's 422: detail list with loc, type, msg, input; the SPEC envelope beside it.
    bad = copy.deepcopy(base)
    bad["candles"][7]["high"] = bad["candles"][7]["low"] / 2
    bad["candles"][2]["open"] = "abc"
    bad["candles"][3]["close"] = "NaN"
    del bad["candles"][4]["low"]
    bad["timestamps"][5] = "2025-13-01T00:00:00Z"
    bad["overrides"] = {"temperature": 0, "top_k": 1.5}
    r = k.post("/v1/predict/single", bad)
    c.eq(r.status, 422, "422 status")
    body = r.json()
    by_loc = {tuple(d["loc"]): d for d in body["detail"]}
    want = {("body", "candles", 7, "high"): "value_error",
            ("body", "candles", 2, "open"): "float_parsing",
            ("body", "candles", 3, "close"): "finite_number",
            ("body", "candles", 4, "low"): "missing",
            ("body", "timestamps", 5): "datetime_from_date_parsing",
            ("body", "overrides", "temperature"): "greater_than",
            ("body", "overrides", "top_k"): "int_from_float"}
    for loc, typ in want.items():
        got = by_loc.get(loc, {}).get("type")
        c.eq(got, typ, "detail type at %s" % (loc,))
    c.eq(by_loc.get(("body", "overrides", "temperature"), {}).get("msg"),
         "Input should be greater than 0", "pydantic's message")
    c.eq(by_loc.get(("body", "overrides", "temperature"), {}).get("ctx"), {"gt": 0},
         "pydantic's ctx")
    c.eq(by_loc.get(("body", "candles", 2, "open"), {}).get("input"), "abc", "input echoed")
    c.check(all(set(d) >= {"type", "loc", "msg", "input"} for d in body["detail"]),
            "every entry has type, loc, msg, input")
    c.eq(body["error"]["code"], "validation_error", "SPEC envelope beside detail")
    c.eq(len(body["error"]["details"]), len(body["detail"]), "one SPEC detail per entry")
    batch = {"items": [single(6, 2, series_id="A"), single(6, 2, series_id="B"),
                       single(6, 2, series_id="C"), single(9, 2, series_id="D")]}
    batch["items"][3]["candles"][7]["high"] = 0.5
    r = k.post("/v1/predict/batch", batch)
    c.eq(r.status, 422, "batch 422")
    c.check(["body", "items", 3, "candles", 7, "high"] in [d["loc"] for d in r.json()["detail"]],
            "batch loc names the item: %r" % [d["loc"] for d in r.json()["detail"]][:3])
    r = k.post("/v1/predict/single", [base])
    c.eq((r.status, r.json()["detail"][0]["loc"], r.json()["detail"][0]["type"]),
         (422, ["body"], "model_attributes_type"), "a JSON array body is FastAPI's 422 at body")
    for status, path, method in ((404, "/v1/nope", "GET"), (405, "/v1/predict/single", "GET")):
        r = k.request(method, path)
        c.check(r.status == status and isinstance(r.json()["detail"], str),
                "%d keeps detail a string" % status)

# 403 says who was seen and which setting admits it; RateLimit-* on every rate-limited answer.
with Kronosd(env={"KRONOS_CONTAINER_WHITELIST": "trading-bot",
                  "KRONOS_RATE_LIMIT_PER_MINUTE": "60", "KRONOS_RATE_LIMIT_BURST": "3"},
             wait_ready=True) as k:
    r = k.post("/v1/predict/single", single(8, 2))
    msg = r.json()["detail"] if r.status == 403 else ""
    c.eq(r.status, 403, "loopback caller refused by the whitelist")
    c.check("127.0.0.1" in msg and "KRONOS_CONTAINER_WHITELIST" in msg and
            "KRONOS_TRUSTED_PROXIES" in msg and "KRONOS_API_KEYS_FILE" in msg,
            "403 names the identity and the settings: %s" % msg)
    hdr = {"X-Container-Name": "research"}
    r = k.post("/v1/predict/single", single(8, 2), headers=hdr)
    c.check(r.status == 403 and "'research'" in r.json()["detail"] and
            "trusted proxy" in r.json()["detail"], "403 names a header identity: %s" % r.body[:200])
    hdr = {"X-Container-Name": "trading-bot"}
    seen = []
    for body in (single(8, 2), {"candles": []}, single(8, 2), single(8, 2)):
        r = k.post("/v1/predict/single", body, headers=hdr)
        seen.append((r.status, r.header("RateLimit-Limit"), r.header("RateLimit-Remaining"),
                     r.header("RateLimit-Reset") is not None))
    c.eq([s[0] for s in seen], [200, 422, 200, 429], "statuses within and over the burst")
    c.check(all(s[1] == "3" and s[3] for s in seen), "RateLimit-* on 200, 422 and 429: %r" % seen)
    c.eq([s[2] for s in seen], ["2", "1", "0", "0"], "RateLimit-Remaining counts down")
    c.eq(k.get("/v1/healthz").header("RateLimit-Limit"), None, "no RateLimit-* off the limiter")
    logs = k.log_records()
rl = [l for l in logs if l["message"] == "Rate limit exceeded"]
c.check(len(rl) == 1 and rl[0]["level"] == "WARNING" and rl[0]["container"] == "trading-bot" and
        rl[0]["limit"] == "60 per 1 minute", "rate limit WARNING as the old guide: %r" % rl)

# The prediction log lines of the old guide; DEBUG phases; timeouts at WARNING.
with Kronosd(env=dict(ENV, KRONOS_LOG_LEVEL="DEBUG"), wait_ready=True) as k:
    r = k.post("/v1/predict/single", single(40, 7))
    c.eq(r.status, 200, "debug run")
    metrics = k.get("/v1/metrics").body.decode()
    logs = k.log_records()
done = [l for l in logs if l["message"] == "single prediction completed"]
c.eq(len(done), 1, "one prediction line")
if done:
    d = done[0]
    for key in ("endpoint", "latency_ms", "status", "series_id", "rows", "pred_len", "request_id",
                "container"):
        c.check(key in d, "prediction line has %s" % key)
    c.eq((d.get("status"), d.get("rows"), d.get("pred_len"), d.get("series_id")),
         ("success", 40, 7, "BTC-USDT"), "prediction line values")
    # The endpoint is the metric's endpoint label value (one table for both).
    c.check('kronos_model_inference_seconds_count{endpoint="%s"} 1' % d.get("endpoint") in metrics,
            "log endpoint %r is the metric label that counted the request" % d.get("endpoint"))
phases = [l["message"] for l in logs if l["level"] == "DEBUG"]
for phase in ("request admitted", "prediction validated", "prediction queued",
              "prediction job done", "prediction answer built"):
    c.check(phase in phases, "DEBUG phase %r logged" % phase)

if have_tiny_model("timeout log lines"):
    env = kronos_env(sgemm_delay_us=SGEMM_DELAY_US, KRONOS_INFERENCE_TIMEOUT="0.3",
                     KRONOS_RATE_LIMIT_ENABLED="false")
    with Kronosd(env=env, wait_ready=True) as k:
        r = k.post("/v1/predict/single", slow_single(3))
        c.eq(r.status, 504, "timeout")
        r = k.post("/v1/predict/batch", {"items": [slow_single(3, series_id="A")]})
        c.eq(r.status, 504, "batch timeout")
        logs = k.log_records()
    for what in ("single", "batch"):
        t = [l for l in logs if l["message"] == "%s prediction timeout" % what]
        c.check(len(t) == 1 and t[0]["level"] == "WARNING" and t[0].get("timeout_seconds") == 0.3
                and "endpoint" in t[0], "%s timeout logged at WARNING with timeout_seconds: %r"
                % (what, t))
c.done()
