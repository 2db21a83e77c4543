"""Issue 5: every golden case's request.json through the real binary with the Kronos engine on
that set's weights; the answer must match expected.csv (after SPEC §1's output rule) within the
manifest's tolerance for final values."""
import csv
import json
import os
import statistics
import sys

from harness import GOLDEN, Checker, Kronosd

c = Checker()
COLS = ["open", "high", "low", "close", "volume", "amount"]

if not GOLDEN or not os.path.isdir(GOLDEN):
    print("SKIP: no golden data at %r" % GOLDEN)
    sys.exit(0)


def consistent(row):
    o, h, l, cl, v, a = (row[k] for k in COLS)
    return {"open": o, "high": max(o, h, cl), "low": min(o, l, cl), "close": cl,
            "volume": max(v, 0.0), "amount": max(a, 0.0)}


for set_name in ("tiny", "mini"):
    base = os.path.join(GOLDEN, set_name)
    cases = sorted(os.listdir(os.path.join(base, "cases")))
    meta0 = json.load(open(os.path.join(base, "cases", cases[0], "meta.json")))
    env = {"KRONOS_MODEL_PATH": os.path.join(base, "model"),
           "KRONOS_TOKENIZER_PATH": os.path.join(base, "tokenizer"),
           "KRONOS_MAX_CONTEXT": str(meta0["max_context"]),
           "KRONOS_RATE_LIMIT_ENABLED": "false", "KRONOS_INFERENCE_THREADS": "2"}
    with Kronosd(env=env, wait_ready=True, startup_timeout=60) as k:
        ready = k.get("/v1/readyz").json()
        c.eq((ready["engine"], ready["model"], ready["tokenizer"]), ("kronos", "model", "tokenizer"),
             "%s readiness names the engine and folders" % set_name)
        for case in cases:
            d = os.path.join(base, "cases", case)
            meta = json.load(open(os.path.join(d, "meta.json")))
            c.eq(meta["max_context"], meta0["max_context"], "%s/%s shares max_context" % (set_name, case))
            req = json.load(open(os.path.join(d, "request.json")))
            r = k.post("/v1/predict/single", req, timeout=120)
            what = "%s/%s" % (set_name, case)
            if not c.eq(r.status, 200, what + " status"):
                print(r.body[:300])
                continue
            got = r.json()["prediction"]
            with open(os.path.join(d, "expected.csv")) as f:
                expected = [consistent({k: float(v) for k, v in row.items() if k in COLS})
                            for row in csv.DictReader(f)]
            c.eq(len(got), len(expected), what + " length")
            # The manifest's scale: the column's normalisation std (population, as upstream).
            candles = req["candles"]
            worst = 0.0
            for col in COLS:
                vals = [float(cd.get(col, 0.0)) for cd in candles]
                std = statistics.pstdev(vals) if len(vals) > 1 else 0.0
                for g, e in zip(got, expected):
                    tol = 1e-5 * abs(e[col]) + 5e-5 * (std + 1e-5)
                    err = abs(g[col] - e[col])
                    worst = max(worst, err / tol if tol else 0)
            c.check(worst <= 1.0, "%s within tolerance (worst %.3g of tol)" % (what, worst))
            print("%s: worst error %.3g of the tolerance" % (what, worst))
            c.eq([p["timestamp"] for p in got], req["prediction_timestamps"], what + " timestamps")
c.done()
