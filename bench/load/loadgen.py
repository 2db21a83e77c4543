#!/usr/bin/python3
"""HTTP load generator for kronosd (Python standard library only).

Open loop (default): requests start at a fixed arrival rate whatever the answers take, so a slow
server sees the queue it would see in production; latency is measured from each request's
scheduled start (no coordinated omission). Closed loop (--clients N): N clients each send their
next request as soon as the previous answer arrived (throughput against concurrency).

The mix follows the old service's Locust file: single forecasts (400 candles -> 120), batches of
2-5 such items, health and readiness checks, by weight (--mix). Prints throughput, p50/p95/p99
latency per kind, the 429/503/504 counts, and the server's own metrics over the same window
(differences of two /v1/metrics scrapes).

    bench/load/loadgen.py --url http://127.0.0.1:8000 --rate 2 --duration 60
    bench/load/loadgen.py --url http://127.0.0.1:8000 --clients 8 --duration 30 --mix single:1
"""
import argparse
import http.client
import json
import math
import queue
import random
import re
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone


def make_series(rng, candles, pred_len, series_id):
    t0 = datetime(2025, 1, 6, 9, 30, tzinfo=timezone.utc)
    price, rows, stamps = 100.0, [], []
    for i in range(candles):
        o = price
        price *= 1 + 0.002 * rng.gauss(0, 1)
        c = price
        h, l = max(o, c) * 1.001, min(o, c) * 0.999
        v = 1000 + 500 * abs(rng.gauss(0, 1))
        rows.append({"open": round(o, 4), "high": round(h, 4), "low": round(l, 4),
                     "close": round(c, 4), "volume": round(v, 2), "amount": round(v * c, 2)})
        stamps.append((t0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    future = [(t0 + timedelta(minutes=5 * (candles + i))).strftime("%Y-%m-%dT%H:%M:%SZ")
              for i in range(pred_len)]
    return {"series_id": series_id, "candles": rows, "timestamps": stamps,
            "prediction_timestamps": future}


class Bodies:
    """Prepared request bodies: a few singles and batches of each size, reused round-robin."""

    def __init__(self, args):
        rng = random.Random(args.seed)
        self.single, self.batch = [], {}
        overrides = {"sample_count": args.sample_count}
        if args.sample_count == 1:
            overrides.update({"top_k": 1})
        for k in range(8):
            s = make_series(rng, args.candles, args.pred_len, f"S{k}")
            s["overrides"] = dict(overrides, seed=k)
            self.single.append(json.dumps(s).encode())
        for n in range(args.batch_min, args.batch_max + 1):
            self.batch[n] = []
            for k in range(4):
                items = []
                for i in range(n):
                    s = make_series(rng, args.candles, args.pred_len, f"B{k}-{i}")
                    s["overrides"] = dict(overrides, seed=i)
                    items.append(s)
                self.batch[n].append(json.dumps({"items": items}).encode())
        self.rng = rng
        self.lock = threading.Lock()
        self.args = args

    def pick(self, kind):
        with self.lock:
            if kind == "single":
                return "POST", "/v1/predict/single", self.rng.choice(self.single), 1
            if kind == "batch":
                n = self.rng.randint(self.args.batch_min, self.args.batch_max)
                return "POST", "/v1/predict/batch", self.rng.choice(self.batch[n]), n
        if kind == "health":
            return "GET", "/v1/healthz", None, 0
        return "GET", "/v1/readyz", None, 0


class Client:
    """One connection, kept alive across requests unless keepalive is off; reopened after errors."""

    def __init__(self, host, port, timeout, keepalive=True):
        self.host, self.port, self.timeout, self.conn = host, port, timeout, None
        self.keepalive = keepalive

    def request(self, method, path, body):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                headers = {"Content-Type": "application/json"} if body else {}
                if not self.keepalive:
                    headers["Connection"] = "close"
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                if not self.keepalive or resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status
            except (OSError, http.client.HTTPException):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    return 0  # connection error
        return 0


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind = {}  # kind -> list of (latency, status, forecasts)

    def add(self, kind, latency, status, forecasts):
        with self.lock:
            self.by_kind.setdefault(kind, []).append((latency, status, forecasts))


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))
    return v[k]


def parse_mix(text):
    mix = []
    for part in text.split(","):
        kind, _, w = part.partition(":")
        if kind not in ("single", "batch", "health", "ready"):
            raise SystemExit(f"unknown kind {kind!r} in --mix")
        mix.append((kind, float(w or 1)))
    return mix


def scrape(host, port):
    """The server's metrics as {sample name with labels: value}."""
    try:
        c = http.client.HTTPConnection(host, port, timeout=10)
        c.request("GET", "/v1/metrics")
        text = c.getresponse().read().decode()
        c.close()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"(\S+?)(\{.*\})?\s+(\S+)", line)
        if m:
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def delta(before, after, name):
    return after.get(name, 0.0) - before.get(name, 0.0)


def server_report(before, after, window):
    lines = ["server metrics over the same window:"]
    for route in ("/v1/predict/single", "/v1/predict/batch", "/v1/healthz", "/v1/readyz"):
        parts = []
        for status in ("success", "invalid", "rate_limited", "unavailable", "timeout", "cancelled",
                       "error"):
            n = delta(before, after, f'kronos_requests_total{{route="{route}",status="{status}"}}')
            if n:
                parts.append(f"{status} {n:.0f}")
        if parts:
            lines.append(f"  {route}: " + ", ".join(parts))
    for ep in ("/v1/predict/single", "/v1/predict/batch"):
        for fam, what in (("kronos_model_inference_seconds", "model time"),
                          ("kronos_queue_wait_seconds", "queue wait")):
            for label in (ep, ep.rsplit("/", 1)[1]):  # the route path (SPEC), or single/batch
                n = delta(before, after, f'{fam}_count{{endpoint="{label}"}}')
                s = delta(before, after, f'{fam}_sum{{endpoint="{label}"}}')
                if n:
                    lines.append(f"  {ep} {what}: mean {s / n * 1e3:.1f} ms over {n:.0f}")
    n = delta(before, after, "kronos_inference_batch_rows_count")
    s = delta(before, after, "kronos_inference_batch_rows_sum")
    if n:
        lines.append(f"  model steps: {n:.0f} ({n / window:.1f}/s), mean {s / n:.1f} rows per step")
    n = delta(before, after, "kronos_batch_items_count")
    s = delta(before, after, "kronos_batch_items_sum")
    if n:
        lines.append(f"  batch requests: {n:.0f}, mean {s / n:.1f} items")
    cpu = delta(before, after, "process_cpu_seconds_total")
    lines.append(f"  process CPU {cpu:.1f} s ({cpu / window:.2f} cores); queue depth at the end "
                 f"{after.get('kronos_queue_depth', 0):.0f}; RSS {after.get('process_resident_memory_bytes', 0) / 2**20:.0f} MiB")
    return "\n".join(lines)


def run_open(args, bodies, mix, host, port, results):
    kinds, weights = zip(*mix)
    rng = random.Random(args.seed + 1)
    work = queue.Queue()
    stop = object()
    outstanding = threading.Semaphore(args.max_outstanding)
    dropped = [0]

    def worker():
        # a connection per request: idle workers hold none (the server limits connections per
        # address, KRONOS_MAX_CONNECTIONS_PER_IP)
        client = Client(host, port, args.timeout, keepalive=False)
        while True:
            item = work.get()
            if item is stop:
                return
            kind, when = item
            method, path, body, n = bodies.pick(kind)
            status = client.request(method, path, body)
            results.add(kind, time.monotonic() - when, status, n if status == 200 else 0)
            outstanding.release()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.max_outstanding)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    i = 0
    next_at = t0
    while next_at < t0 + args.duration:
        now = time.monotonic()
        if next_at > now:
            time.sleep(next_at - now)
        if outstanding.acquire(blocking=False):
            work.put((rng.choices(kinds, weights)[0], next_at))
        else:
            dropped[0] += 1  # the generator's own limit: counted, never silently delayed
        i += 1
        gap = rng.expovariate(args.rate) if args.poisson else 1.0 / args.rate
        next_at += gap
    for _ in threads:
        work.put(stop)
    for t in threads:
        t.join()
    return time.monotonic() - t0, dropped[0]


def run_closed(args, bodies, mix, host, port, results):
    kinds, weights = zip(*mix)
    end = time.monotonic() + args.duration

    def client_main(k):
        rng = random.Random(args.seed + 10 + k)
        client = Client(host, port, args.timeout)
        while time.monotonic() < end:
            kind = rng.choices(kinds, weights)[0]
            method, path, body, n = bodies.pick(kind)
            t = time.monotonic()
            status = client.request(method, path, body)
            results.add(kind, time.monotonic() - t, status, n if status == 200 else 0)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client_main, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--rate", type=float, default=1.0, help="open loop: requests started per second")
    ap.add_argument("--poisson", action="store_true", help="exponential gaps instead of a fixed one")
    ap.add_argument("--clients", type=int, default=0, help="closed loop with this many clients")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--warmup", type=float, default=0.0, help="seconds of load before measuring")
    ap.add_argument("--mix", default="single:6,batch:2,health:1,ready:1",
                    help="kinds with weights: single, batch, health, ready")
    ap.add_argument("--candles", type=int, default=400)
    ap.add_argument("--pred-len", type=int, default=120)
    ap.add_argument("--sample-count", type=int, default=1)
    ap.add_argument("--batch-min", type=int, default=2)
    ap.add_argument("--batch-max", type=int, default=5)
    ap.add_argument("--max-outstanding", type=int, default=256,
                    help="open loop: requests in flight at most (more are counted as dropped)")
    ap.add_argument("--timeout", type=float, default=600.0, help="client socket timeout, seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="also print one JSON line of the figures")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    mix = parse_mix(args.mix)
    bodies = Bodies(args)
    runner = run_closed if args.clients > 0 else run_open
    if args.warmup > 0:
        w = argparse.Namespace(**vars(args))
        w.duration = args.warmup
        runner(w, bodies, mix, host, port, Results())
    results = Results()
    before = scrape(host, port)
    window, dropped = runner(args, bodies, mix, host, port, results)
    after = scrape(host, port)

    mode = (f"closed loop, {args.clients} clients" if args.clients > 0
            else f"open loop, {args.rate:g} req/s{' (Poisson)' if args.poisson else ''}")
    print(f"{mode}, {window:.1f} s, mix {args.mix}, {args.candles} candles -> {args.pred_len}, "
          f"sample_count {args.sample_count}, batches of {args.batch_min}-{args.batch_max}")
    total = forecasts = 0
    codes = {}
    figures = {"mode": mode, "window_s": window, "kinds": {}}
    for kind, rows in sorted(results.by_kind.items()):
        lat = [r[0] for r in rows]
        ok = [r[0] for r in rows if r[1] == 200]
        for r in rows:
            codes[r[1]] = codes.get(r[1], 0) + 1
        total += len(rows)
        forecasts += sum(r[2] for r in rows)
        p50, p95, p99 = (percentile(ok, p) * 1e3 for p in (50, 95, 99))
        print(f"  {kind:7} {len(rows):6d} requests ({len(rows) / window:6.2f}/s), {len(ok)} ok; "
              f"latency of ok p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  p99 {p99:8.1f} ms  "
              f"(max of all {max(lat) * 1e3:.1f} ms)")
        figures["kinds"][kind] = {"requests": len(rows), "ok": len(ok), "p50_ms": p50,
                                  "p95_ms": p95, "p99_ms": p99}
    print(f"  total   {total:6d} requests ({total / window:.2f}/s), forecasts {forecasts} "
          f"({forecasts / window:.2f}/s); status 429: {codes.get(429, 0)}, 503: {codes.get(503, 0)}, "
          f"504: {codes.get(504, 0)}, other non-200: "
          f"{sum(n for c, n in codes.items() if c not in (200, 429, 503, 504))}"
          + (f"; dropped by the generator: {dropped}" if dropped else ""))
    print(server_report(before, after, window))
    figures.update({"requests_per_s": total / window, "forecasts_per_s": forecasts / window,
                    "codes": {str(c): n for c, n in codes.items()}, "dropped": dropped})
    if args.json:
        print("JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
