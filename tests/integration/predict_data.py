"""Request builders for prediction tests."""
import datetime
import math
import random


def series(n, start="2025-10-14T10:00:00Z", step_min=5, seed=1, volume=True, amount=True,
           price=100.0):
    rnd = random.Random(seed)
    t0 = datetime.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
    candles, stamps = [], []
    p = price
    for i in range(n):
        o = p
        c = o * math.exp(rnd.gauss(0.0005, 0.01))
        h = max(o, c) * (1 + abs(rnd.gauss(0, 0.003)))
        l = min(o, c) * (1 - abs(rnd.gauss(0, 0.003)))
        bar = {"open": round(o, 4), "high": round(h, 4), "low": round(l, 4), "close": round(c, 4)}
        if volume:
            bar["volume"] = round(rnd.uniform(10, 100), 2)
            if amount:
                bar["amount"] = round(bar["volume"] * c, 2)
        candles.append(bar)
        stamps.append((t0 + datetime.timedelta(minutes=step_min * i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        p = c
    return candles, stamps


def future(stamps, k, step_min=5):
    last = datetime.datetime.strptime(stamps[-1], "%Y-%m-%dT%H:%M:%SZ")
    return [(last + datetime.timedelta(minutes=step_min * (i + 1))).strftime("%Y-%m-%dT%H:%M:%SZ")
            for i in range(k)]


def single(n=64, pred=8, series_id="BTC-USDT", overrides=None, **kw):
    candles, stamps = series(n, **kw)
    body = {"series_id": series_id, "candles": candles, "timestamps": stamps,
            "prediction_timestamps": future(stamps, pred)}
    if overrides is not None:
        body["overrides"] = overrides
    return body
