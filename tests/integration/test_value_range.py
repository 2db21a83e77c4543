"""Issue 9: big and tiny but finite inputs never give a 500. Prices of 1e25, raw on-chain volumes of
1e20, prices of 1e-38 and values at float32's maximum, through both engines: a 200 with finite
numbers, or a 422 whose details name the candle field. Each engine accepts only the values it
represents (the baseline: prices in [1e-30, 1e30]); a forecast that still cannot be represented
(the Kronos engine de-normalising beyond float32) is a 422 naming the field."""
import math
import os
import random
import re

from harness import GOLDEN, Checker, Kronosd
from predict_data import single

c = Checker()
FMAX = 3.4028234663852886e38
FIELD = re.compile(r"^(items\[\d+\]\.)?candles\[\d+\]\.(open|high|low|close|volume|amount)$")
PRICES = ("open", "high", "low", "close")


def scaled(price=1.0, volume=1.0, amount=True):
    body = single(n=24, pred=4, overrides={"seed": 7})
    for cd in body["candles"]:
        for k in PRICES:
            cd[k] *= price
        cd["volume"] *= volume
        if amount:
            cd["amount"] *= volume * price
        else:
            del cd["amount"]
    return body


def constant(price):
    body = single(n=24, pred=4, overrides={"seed": 7})
    for cd in body["candles"]:
        cd.update(open=price, high=price, low=price, close=price, amount=1.0)
    return body


def near_max_prices():
    body = single(n=24, pred=4, overrides={"seed": 7})
    rnd = random.Random(3)
    for cd in body["candles"]:
        o, cl = rnd.uniform(1e38, 3e38), rnd.uniform(1e38, 3e38)
        cd.update(open=o, close=cl, high=min(max(o, cl) * 1.1, FMAX), low=min(o, cl) * 0.9,
                  amount=1.0)
    return body


def near_max_volumes():
    """Mostly at float max: mean 0.9 max, std 0.3 max, so any sample whose normalised volume comes
    out above ~0.33 leaves float32; 16 samples over 4 bars make that all but certain."""
    body = single(n=20, pred=4, overrides={"seed": 7, "sample_count": 16, "temperature": 2.0,
                                           "quantiles": [0.1, 0.9]})
    for i, cd in enumerate(body["candles"]):
        cd.update(volume=0.0 if i % 10 == 3 else FMAX, amount=1.0)
    return body


def numbers(answer):
    for item in answer if isinstance(answer, list) else [answer]:
        for bar in item["prediction"]:
            for k in PRICES + ("volume", "amount"):
                yield bar[k]


def post(k, what, body):
    """Single and the same series as a batch item: never 500; 200 finite or 422 naming fields."""
    out = []
    for route, b in (("single", body), ("batch", {"items": [dict(body, series_id="A")]})):
        r = k.post("/v1/predict/" + route, b)
        label = "%s %s" % (what, route)
        c.check(r.status in (200, 422), "%s: 200 or 422, got %d %s" % (label, r.status, r.body[:200]))
        if r.status == 200:
            c.check(all(math.isfinite(v) for v in numbers(r.json())), label + ": finite numbers")
        elif r.status == 422:
            details = r.json()["error"]["details"]
            c.check(details and all(FIELD.match(d["field"]) for d in details),
                    "%s: 422 names candle fields: %r" % (label, details[:2]))
            c.check(route == "single" or all(d["field"].startswith("items[0].") for d in details),
                    label + ": batch fields carry the item")
        out.append(r)
    return out[0]


def fields(r):
    return [d["field"] for d in r.json()["error"]["details"]] if r.status == 422 else []


def check_baseline(k):
    r = post(k, "baseline 1e25 prices", scaled(price=1e23))
    c.eq(r.status, 200, "baseline forecasts 1e25 prices")
    r = post(k, "baseline 1e20 volumes", scaled(volume=1e18, amount=False))
    c.eq(r.status, 200, "baseline forecasts 1e20 volumes")
    # A constant series at 1e-38 used to be forecast at 1e-30, the simulation's clamp.
    r = post(k, "baseline 1e-38 prices", constant(1e-38))
    c.eq(r.status, 422, "baseline refuses prices below its range")
    c.check("candles[0].open" in fields(r) and
            any(">= 1e-30" in d["constraint"] for d in r.json()["error"]["details"]),
            "422 names candles[0].open and the engine's bound")
    r = post(k, "baseline prices at float max", constant(FMAX))
    c.eq(r.status, 422, "baseline refuses prices above its range")
    c.check("candles[3].high" in fields(r), "422 names candles[3].high")
    post(k, "baseline prices near float max", near_max_prices())
    # Volumes near float max with amounts given: volume x price leaves float32 -> 422 (amount).
    r = post(k, "baseline volumes near float max", near_max_volumes())
    c.eq(r.status, 422, "baseline cannot represent an amount forecast beyond float32")


def check_kronos(k):
    body = scaled(price=1e23)
    r = post(k, "kronos 1e25 prices", body)
    if c.eq(r.status, 200, "kronos forecasts 1e25 prices"):
        lo = min(cd["low"] for cd in body["candles"])
        hi = max(cd["high"] for cd in body["candles"])
        closes = [bar["close"] for bar in r.json()["prediction"]]
        c.check(all(lo / 2 < v < hi * 2 for v in closes),
                "1e25 forecast at the series' scale: %r in (%g, %g)" % (closes, lo, hi))
    body = scaled(volume=1e18, amount=False)
    r = post(k, "kronos 1e20 volumes", body)
    if c.eq(r.status, 200, "kronos forecasts 1e20 volumes"):
        top = max(cd["volume"] for cd in body["candles"])
        vols = [bar["volume"] for bar in r.json()["prediction"]]
        c.check(all(0 <= v < top * 2 for v in vols), "1e20 volumes forecast at scale: %r" % vols)
    r = post(k, "kronos 1e-38 prices", constant(1e-38))
    c.eq(r.status, 200, "kronos represents 1e-38 prices")
    r = post(k, "kronos prices at float max", constant(FMAX))
    if c.eq(r.status, 200, "kronos forecasts a constant series at float max"):
        c.check(all(abs(bar["close"] / FMAX - 1) < 1e-7 for bar in r.json()["prediction"]),
                "forecast stays at max")
    post(k, "kronos prices near float max", near_max_prices())
    body = near_max_volumes()
    r = post(k, "kronos volumes near float max", body)
    c.eq(r.status, 422, "kronos cannot represent a volume forecast beyond float32")
    c.check("candles[0].volume" in fields(r), "422 names candles[0].volume (the largest): %r"
            % fields(r))


with Kronosd(env={"KRONOS_RATE_LIMIT_ENABLED": "false"}, wait_ready=True) as k:
    check_baseline(k)
    m = k.get("/v1/metrics").body.decode()
    c.check(not re.search(r'kronos_requests_total\{route="/v1/predict/\w+",status="error"\} [1-9]', m),
            "baseline: no 5xx counted")

if not GOLDEN or not os.path.isdir(GOLDEN):
    print("SKIP: no golden data for the Kronos engine")
    c.done()
TINY = os.path.join(GOLDEN, "tiny")
env = {"KRONOS_MODEL_PATH": os.path.join(TINY, "model"),
       "KRONOS_TOKENIZER_PATH": os.path.join(TINY, "tokenizer"), "KRONOS_MAX_CONTEXT": "16",
       "KRONOS_RATE_LIMIT_ENABLED": "false"}
with Kronosd(env=env, wait_ready=True) as k:
    check_kronos(k)
    m = k.get("/v1/metrics").body.decode()
    c.check(not re.search(r'kronos_requests_total\{route="/v1/predict/\w+",status="error"\} [1-9]', m),
            "kronos: no 5xx counted")
c.done()
