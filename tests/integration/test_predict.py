"""Issue 4: the prediction API through the real binary (baseline engine; the timeout, overload
and disconnect cases on the Kronos engine, slowed from outside)."""
import json
import re
import socket
import threading
import time

from harness import SGEMM_DELAY_US, Checker, Kronosd, have_tiny_model, kronos_env, slow_single
from predict_data import single

c = Checker()
FIELDS = ["timestamp", "open", "high", "low", "close", "volume", "amount"]


def consistent(bar):
    return (bar["high"] >= max(bar["open"], bar["close"]) and
            bar["low"] <= min(bar["open"], bar["close"]) and
            bar["volume"] >= 0 and bar["amount"] >= 0)


def check_forecast(f, req, what, engine="baseline"):
    c.eq(f.get("series_id"), req.get("series_id"), what + " series_id")
    c.eq([p["timestamp"] for p in f["prediction"]], req["prediction_timestamps"],
         what + " timestamps echoed")
    c.check(all(sorted(p) == sorted(FIELDS) for p in f["prediction"]), what + " bar fields")
    c.check(all(consistent(p) for p in f["prediction"]), what + " bars consistent")
    c.eq(f["engine"], engine, what + " engine")
    c.check(f["model_version"] and f["tokenizer_version"], what + " versions")
    c.check(isinstance(f["request_id"], str) and f["request_id"], what + " request_id")


ENV = {"KRONOS_RATE_LIMIT_ENABLED": "false"}
with Kronosd(env=ENV, wait_ready=True) as k:
    # single
    req = single(64, 12)
    r = k.post("/v1/predict/single", req, headers={"X-Request-ID": "pred-1"})
    c.eq(r.status, 200, "single status")
    f = r.json()
    check_forecast(f, req, "single")
    c.eq(f["request_id"], "pred-1", "single request_id is X-Request-ID")
    c.check("quantiles" not in f, "no quantiles unless asked")
    last_close = req["candles"][-1]["close"]
    c.check(all(0.5 * last_close < p["close"] < 2 * last_close for p in f["prediction"]),
            "forecast near the last price")

    # the same seed gives the same answer; another seed differs
    ov = {"seed": 7, "sample_count": 4, "temperature": 1.0}
    a = k.post("/v1/predict/single", single(64, 10, overrides=ov)).json()
    b = k.post("/v1/predict/single", single(64, 10, overrides=ov)).json()
    c.eq(a["prediction"], b["prediction"], "same seed, same forecast")
    ov2 = dict(ov, seed=8)
    d = k.post("/v1/predict/single", single(64, 10, overrides=ov2)).json()
    c.check(a["prediction"] != d["prediction"], "different seed, different forecast")

    # quantiles
    qreq = single(64, 6, overrides={"sample_count": 8, "seed": 3, "quantiles": [0.1, 0.5, 0.9]})
    q = k.post("/v1/predict/single", qreq).json()
    c.eq(sorted(q.get("quantiles", {})), ["0.1", "0.5", "0.9"], "quantile keys")
    if "quantiles" in q:
        lo, mid, hi = q["quantiles"]["0.1"], q["quantiles"]["0.5"], q["quantiles"]["0.9"]
        c.eq(len(lo), 6, "quantile length")
        c.check(all(lo[i]["close"] <= mid[i]["close"] <= hi[i]["close"] for i in range(6)),
                "quantiles ordered")
        c.eq([p["timestamp"] for p in lo], qreq["prediction_timestamps"], "quantile timestamps")
    r = k.post("/v1/predict/single", single(64, 6, overrides={"sample_count": 1, "quantiles": [0.5]}))
    c.eq(r.status, 422, "quantiles need sample_count >= 2")

    # partial and null overrides take the defaults
    r = k.post("/v1/predict/single", single(32, 4, overrides={"temperature": None, "seed": 1}))
    c.eq(r.status, 200, "null override")
    r = k.post("/v1/predict/single", single(32, 4, overrides={"top_p": 0.5}))
    c.eq(r.status, 200, "partial override")
    r = k.post("/v1/predict/single", single(32, 4, overrides={"pred_len": 4}))
    c.eq(r.status, 200, "pred_len equal to prediction_timestamps")
    r = k.post("/v1/predict/single", single(32, 4, overrides={"pred_len": 5}))
    c.eq(r.status, 422, "pred_len different from prediction_timestamps")

    # volume-less input: volume and amount are 0
    vreq = single(40, 5, volume=False)
    v = k.post("/v1/predict/single", vreq)
    c.eq(v.status, 200, "volume-less status")
    c.check(all(p["volume"] == 0 and p["amount"] == 0 for p in v.json()["prediction"]),
            "volume-less forecast has zero volume and amount")
    r = k.post("/v1/predict/single", single(40, 5, amount=False))
    c.eq(r.status, 200, "amount-less input")

    # batch with mixed lengths and overrides, answered in item order
    items = []
    for i, (n, p, ov) in enumerate([(30, 3, None), (200, 10, {"sample_count": 2, "seed": 5}),
                                   (1, 1, {"temperature": 0.5}), (80, 7, {"quantiles": [0.25],
                                                                          "sample_count": 3})]):
        it = single(n, p, series_id="S%d" % i, overrides=ov, seed=i + 10)
        items.append(it)
    r = k.post("/v1/predict/batch", {"items": items})
    c.eq(r.status, 200, "batch status")
    out = r.json()
    c.check(isinstance(out, list) and len(out) == 4, "batch answers a list in item order")
    for i, (f, it) in enumerate(zip(out, items)):
        check_forecast(f, it, "batch item %d" % i)
    c.check("quantiles" in out[3] and "quantiles" not in out[0], "batch quantiles per item")

    # batch errors name the item
    bad = [single(10, 2, series_id="A"), single(10, 2, series_id="B")]
    bad[1]["candles"][3]["high"] = bad[1]["candles"][3]["low"] / 2
    r = k.post("/v1/predict/batch", {"items": bad})
    c.eq(r.status, 422, "batch validation status")
    c.check(any(d["field"] == "items[1].candles[3].high" for d in r.json()["error"]["details"]),
            "batch error names the item")
    dup = [single(10, 2, series_id="A"), single(10, 2, series_id="A")]
    c.eq(k.post("/v1/predict/batch", {"items": dup}).status, 422, "duplicate series_id")

    # one case per SPEC §1 rule: status and field path
    def mutate(fn, field, route="single"):
        body = single(20, 3)
        fn(body)
        r = k.post("/v1/predict/" + route, body)
        fields = [d["field"] for d in r.json()["error"]["details"]] if r.status >= 400 else []
        c.check(r.status == 422 and field in fields, "rule %s: %s %s" % (field, r.status, fields[:3]))

    mutate(lambda b: b.update(candles=[]), "candles")
    mutate(lambda b: b["candles"][2].update(open=0), "candles[2].open")
    mutate(lambda b: b["candles"][2].update(close=-1), "candles[2].close")
    mutate(lambda b: b["candles"][2].update(low=b["candles"][2]["high"] * 2), "candles[2].low")
    mutate(lambda b: b["candles"][2].update(high=b["candles"][2]["low"] / 2), "candles[2].high")
    mutate(lambda b: b["candles"][2].update(volume=-1), "candles[2].volume")
    mutate(lambda b: b["candles"][2].update(amount=-5), "candles[2].amount")
    mutate(lambda b: b["candles"][2].update(open="one"), "candles[2].open")
    mutate(lambda b: b["timestamps"].pop(), "timestamps")
    mutate(lambda b: b["timestamps"].__setitem__(3, b["timestamps"][2]), "timestamps[3]")
    mutate(lambda b: b["timestamps"].__setitem__(1, "2025-13-01T00:00:00Z"), "timestamps[1]")
    mutate(lambda b: b.update(prediction_timestamps=[]), "prediction_timestamps")
    mutate(lambda b: b["prediction_timestamps"].__setitem__(0, b["timestamps"][-1]),
           "prediction_timestamps[0]")
    mutate(lambda b: b["prediction_timestamps"].reverse(), "prediction_timestamps[1]")
    mutate(lambda b: b.update(overrides={"temperature": 0}), "overrides.temperature")
    mutate(lambda b: b.update(overrides={"top_k": -1}), "overrides.top_k")
    mutate(lambda b: b.update(overrides={"top_p": 0}), "overrides.top_p")
    mutate(lambda b: b.update(overrides={"top_p": 1.5}), "overrides.top_p")
    mutate(lambda b: b.update(overrides={"sample_count": 0}), "overrides.sample_count")
    mutate(lambda b: b.update(overrides={"sample_count": 17}), "overrides.sample_count")
    mutate(lambda b: b.update(overrides={"seed": -1}), "overrides.seed")
    mutate(lambda b: b.update(overrides={"quantiles": [0, 0.5], "sample_count": 2}),
           "overrides.quantiles[0]")
    mutate(lambda b: b.update(overrides={"quantiles": [0.1] * 10, "sample_count": 2}),
           "overrides.quantiles")
    mutate(lambda b: b.update(series_id="x" * 129), "series_id")
    # zone forms and wall-clock time are accepted
    body = single(3, 2)
    body["timestamps"] = ["2025-10-14T10:00:00+02:00", "2025-10-14T08:05:00Z", "2025-10-14T08:10"]
    body["prediction_timestamps"] = ["2025-10-14T08:15:00.5Z", "2025-10-14T10:20:00+02:00"]
    r = k.post("/v1/predict/single", body)
    c.eq(r.status, 200, "mixed zones ordered by UTC instant")
    if r.status == 200:
        c.eq([p["timestamp"] for p in r.json()["prediction"]], body["prediction_timestamps"],
             "prediction timestamps echoed as written")
    c.eq(k.post("/v1/predict/single", json.dumps(single(5, 2)),
                headers={"Content-Type": "text/plain"}).status, 400, "wrong Content-Type")
    c.eq(k.post("/v1/predict/single", json.dumps(single(5, 2)),
                headers={"Content-Type": "application/json; charset=utf-8"}).status, 200,
         "Content-Type with charset")

    # the prediction log lines carry sizes, never candle values
    time.sleep(0.2)
logs = k.log_records()
preds = [l for l in logs if l["message"] == "single prediction completed"]
c.check(len(preds) >= 5, "single prediction log lines")
if preds:
    for f in ("request_id", "rows", "pred_len", "series_count", "queue_time_ms",
              "model_inference_ms", "status"):
        c.check(f in preds[0], "prediction log has " + f)
c.check(any(l["message"] == "batch prediction completed" and l["series_count"] == 4 for l in logs),
        "batch prediction log line")
price = str(req["candles"][10]["close"])
c.check(not any(price in line for line in k.lines), "candle values never logged")

# The slow cases run the Kronos engine on the tiny reference model with every matrix product
# slowed by slow_sgemm.so (harness.kronos_env), so a forecast's length is set by its sample count.
SLOW = 60  # seconds a forecast that must not finish would take at least: far beyond every bound
if have_tiny_model("timeout, overload and disconnect through the Kronos engine"):
    # Timeout: the client gets 504 at its deadline, the work is cancelled and the worker is free
    # again: a short forecast right after is served within the same deadline, which it could not
    # be were the abandoned forecast still running.
    env = kronos_env(SGEMM_DELAY_US, KRONOS_INFERENCE_TIMEOUT="5",
                     KRONOS_RATE_LIMIT_ENABLED="false")
    with Kronosd(env=env, wait_ready=True) as k:
        t0 = time.monotonic()
        r = k.post("/v1/predict/single", slow_single(SLOW))
        took = time.monotonic() - t0
        print("slow forecast answered %d after %.2f s (deadline 5 s)" % (r.status, took))
        c.eq((r.status, r.json()["error"]["code"]), (504, "timeout"), "timeout envelope")
        c.check(took < SLOW / 4, "504 arrives at the deadline, not after the work (%.2f s)" % took)
        t0 = time.monotonic()
        r = k.post("/v1/predict/single", single(8, 1))
        took = time.monotonic() - t0
        print("short forecast after the timeout: %d after %.2f s" % (r.status, took))
        c.eq(r.status, 200, "the worker was freed by the cancellation: a short forecast is served")
    c.check(any(l["message"] == "single prediction timeout" and l.get("timeout_seconds") == 5
                for l in k.log_records()), "timeout log line")

    # Overload: queue size 1, one worker: concurrent requests get 503 overloaded with Retry-After;
    # health answers throughout; nothing is a 500.
    OVERLOAD_FORECAST = 4  # seconds each forecast takes at least
    env = kronos_env(SGEMM_DELAY_US, KRONOS_QUEUE_SIZE="1", KRONOS_RATE_LIMIT_ENABLED="false")
    with Kronosd(env=env, wait_ready=True) as k:
        results = []

        served_in = []

        def fire():
            t0 = time.monotonic()
            r = k.post("/v1/predict/single", slow_single(OVERLOAD_FORECAST))
            if r.status == 200:
                served_in.append(time.monotonic() - t0)
            results.append((r.status, r.header("Retry-After"), r.json().get("error", {}).get("code")
                            if r.status != 200 else None))

        threads = [threading.Thread(target=fire) for _ in range(6)]
        for t in threads:
            t.start()
        k.wait_forecasts_received(1)
        health = []
        for _ in range(10):
            t0 = time.monotonic()
            health.append((k.get("/v1/healthz").status, time.monotonic() - t0))
            time.sleep(0.05)
        for t in threads:
            t.join(60)
        codes = sorted(s for s, _, _ in results)
        c.check(200 in codes and 503 in codes, "some served, some refused: %s" % codes)
        c.check(all(s in (200, 503) for s in codes), "no 500s: %s" % codes)
        c.check(all(ra is not None and code == "overloaded" for s, ra, code in results if s == 503),
                "503 overloaded with Retry-After")
        print("served forecasts took %s s" % ", ".join("%.2f" % t for t in sorted(served_in)))
        c.check(served_in and min(served_in) >= OVERLOAD_FORECAST, "a slowed forecast takes at "
                "least the time slow_single() promises (the shim is in effect)")
        slowest = max(dt for _, dt in health)
        print("healthz under load (forecasts of >= %d s each): slowest answer %.3f s"
              % (OVERLOAD_FORECAST, slowest))
        c.check(all(s == 200 for s, _ in health) and slowest < OVERLOAD_FORECAST / 2,
                "healthz answers promptly under load, never behind a forecast (slowest %.3f s)"
                % slowest)

    # A client that disconnects: its work is dropped, so a short forecast behind it on the single
    # worker is served at once rather than after the abandoned one.
    env = kronos_env(SGEMM_DELAY_US, KRONOS_RATE_LIMIT_ENABLED="false")
    with Kronosd(env=env, wait_ready=True) as k:
        body = json.dumps(slow_single(SLOW)).encode()
        s = socket.create_connection(("127.0.0.1", k.port))
        s.sendall(b"POST /v1/predict/single HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        c.check(k.wait_forecasts_received(1), "the slow forecast is in flight")
        s.close()
        t0 = time.monotonic()
        r = k.post("/v1/predict/single", single(8, 1))
        took = time.monotonic() - t0
        print("short forecast after a hang-up on a %d s one: %d after %.2f s"
              % (SLOW, r.status, took))
        c.eq(r.status, 200, "served after a disconnect")
        c.check(took < SLOW / 4, "abandoned work dropped (%.2f s)" % took)

        def counts():
            text = k.get("/v1/metrics").body.decode()
            return dict(re.findall(r'^kronos_requests_total\{route="/v1/predict/single",'
                                   r'status="(\w+)"\} (\S+)$', text, re.M))

        deadline = time.monotonic() + 10
        got = counts()
        while time.monotonic() < deadline and got.get("cancelled") != "1":
            time.sleep(0.02)
            got = counts()
        c.eq((got.get("cancelled"), got.get("unavailable"), got.get("success")), ("1", "0", "1"),
             "the hang-up is counted once as cancelled, never as unavailable")
        c.check(any(l.get("status_code") == 499 and l["message"] == "request completed"
                    for l in k.log_records()), "the hang-up is logged with status_code 499")
    c.check(any(l["message"] == "single prediction cancelled" for l in k.log_records()),
            "cancelled log line for the disconnected client")
c.done()
