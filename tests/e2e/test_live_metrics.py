"""A real Prometheus scrapes the real kronosd while the test sends traffic; the monitoring package must work.

kronosd runs on 127.0.0.1 with a small rate limit (60/min, burst 20), a 4 MiB body limit and a short inference timeout.
Prometheus (Debian package) scrapes it every second and evaluates the real kronos-alerts.yml and
kronos-slo-rules.yml. The test sends successes (single and batch), validation errors, bad JSON,
unknown routes, oversized bodies, a caller outside the whitelist, a flood that gets rate limited and
heavy requests that time out (with the Kronos engine on the reference Kronos-mini, when found). Then:
- the exposition follows the contract (every metric, type and label; `promtool check metrics` clean);
- `up == 1`, and the traffic shows up with the right route/status/event labels;
- every alert and recording rule has health "ok";
- every dashboard variable finds values and every panel and annotation query, variables substituted,
  returns data (the target carries cluster and namespace labels, as on Kubernetes; the 30-day budget
  group, evaluated every 5 minutes as shipped, runs every second in the test's copy so it has data).
Skips (exit 0, "SKIP: ...") when the binary does not serve kronos_requests_total on /v1/metrics.
"""
import datetime
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402

KRONOS_ENV = {
    "KRONOS_CONTAINER_WHITELIST": "localhost,client-a,flooder",
    "KRONOS_RATE_LIMIT_PER_MINUTE": "60",
    "KRONOS_RATE_LIMIT_BURST": "20",
    "KRONOS_MAX_REQUEST_SIZE_MB": "4",
    "KRONOS_INFERENCE_TIMEOUT": "3",
    "KRONOS_INFERENCE_THREADS": "1",
}
RATE_INTERVAL = "30s"


def model_env():
    """The Kronos engine on the randomised Kronos-mini of the reference data, when it can be found
    (KRONOS_GOLDEN_DIR, or shared/kronos-golden next to the source tree); else the baseline engine."""
    for golden in (os.environ.get("KRONOS_GOLDEN_DIR"), os.path.join(k.ROOT, "..", "shared", "kronos-golden")):
        if golden and os.path.isfile(os.path.join(golden, "mini", "model", "model.safetensors")):
            mini = os.path.join(golden, "mini")
            return {"KRONOS_MODEL_PATH": os.path.join(mini, "model"),
                    "KRONOS_TOKENIZER_PATH": os.path.join(mini, "tokenizer"), "KRONOS_MAX_CONTEXT": "128"}
    return {}


def forecast_request(n=64, pred_len=8, series_id="BTC-USDT", **overrides):
    t0 = datetime.datetime(2025, 10, 14, 10, 0)
    ts = [(t0 + datetime.timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n + pred_len)]
    candles = []
    for i in range(n):
        base = 100 + 5 * ((i * 37) % 11) / 11
        candles.append({"open": base, "high": base + 1.5, "low": base - 1.2, "close": base + 0.4,
                        "volume": 10 + i % 5, "amount": 1000 + i})
    body = {"series_id": series_id, "candles": candles, "timestamps": ts[:n], "prediction_timestamps": ts[n:]}
    if overrides:
        body["overrides"] = overrides
    return body


class Traffic:
    def __init__(self, port):
        self.port = port
        self.statuses = {}

    def send(self, method, path, body=None, identity=None, raw=None, timeout=30):
        headers = {"Content-Type": "application/json"}
        if identity:
            headers["X-Container-Name"] = identity
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        try:
            status = live.http_request(self.port, method, path, body=data, headers=headers, timeout=timeout)[0]
        except OSError:
            status = "conn-error"
        self.statuses.setdefault((path, status), 0)
        self.statuses[(path, status)] += 1
        return status

    def oversized(self, path, size):
        """Announce a body over the limit; kronosd answers 413 from Content-Length, maybe before we
        finish sending, so the answer is read even when the rest of the body cannot be sent."""
        status = "conn-error"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {size}\r\n\r\n".encode())
            try:
                sock.sendall(b" " * size)
            except OSError:
                pass
            try:
                m = re.match(rb"HTTP/1\.[01] (\d{3})", sock.recv(4096))
                status = int(m.group(1)) if m else status
            except OSError:
                pass
        self.statuses[(path, status)] = self.statuses.get((path, status), 0) + 1
        return status

    def run(self):
        for path in ("/", "/v1/healthz", "/v1/readyz", "/v1/healthz/detailed", "/v1/no-such-route"):
            self.send("GET", path)
        self.send("DELETE", "/v1/healthz")
        for i in range(6):
            self.send("POST", "/v1/predict/single", forecast_request(series_id=f"S{i}", seed=i), identity="client-a")
        self.send("POST", "/v1/predict/single", forecast_request(n=300, pred_len=8, sample_count=2, seed=1,
                                                                 quantiles=[0.1, 0.9]))
        batch = {"items": [forecast_request(n=50 + 40 * i, series_id=f"B{i}") for i in range(3)]}
        for _ in range(2):
            self.send("POST", "/v1/predict/batch", batch)
        bad = forecast_request()
        bad["candles"][3]["high"] = 1.0  # below low
        self.send("POST", "/v1/predict/single", bad)
        self.send("POST", "/v1/predict/single", raw=b"{not json")
        self.send("POST", "/v1/predict/batch", {"items": []})
        self.oversized("/v1/predict/single", 4 * 1024 * 1024 + 4096)
        self.send("POST", "/v1/predict/single", forecast_request(), identity="intruder")  # not whitelisted
        self.send("GET", "/v1/healthz/detailed", identity="intruder")
        for _ in range(40):  # burst 20, then one per second: about half of these are refused
            self.send("POST", "/v1/predict/single", raw=b"{}", identity="flooder")
        # Heavy work against the short timeout, single and batch at once (one inference thread, so the
        # second also waits in the queue). With the Kronos engine both time out; the baseline engine is
        # too fast for any timeout.
        # 100 steps on a sliding 128-bar window x 16 samples is over a TFLOP: minutes of work, so the
        # 3 s deadline always wins however fast the engine gets.
        heavy = dict(n=120, pred_len=100, sample_count=16, seed=7)
        jobs = [("/v1/predict/single", forecast_request(series_id="H", **heavy)),
                ("/v1/predict/batch", {"items": [forecast_request(series_id=f"H{i}", **heavy) for i in range(2)]})]
        threads = [threading.Thread(target=self.send, args=("POST", path, body), kwargs={"timeout": 60})
                   for path, body in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.send("GET", "/v1/metrics")


def check_exposition(text, fails):
    """Every contract metric with its type and labels; promtool check metrics reports nothing."""
    types, labels = {}, {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if m:
            labels.setdefault(m.group(1), set()).update(re.findall(r'([a-zA-Z_]\w*)="', m.group(3) or ""))
    for name, (kind, want) in k.METRICS.items():
        if not fails.check(types.get(name) == kind, f"exposition: {name} has TYPE {types.get(name)}, want {kind}"):
            continue
        sample = name + ("_bucket" if kind == "histogram" else "")
        got = labels.get(sample, set()) - {"le"}
        fails.check(got == want, f"exposition: {sample} labels {sorted(got)}, want {sorted(want)}")
    rc, out = k.run(["promtool", "check", "metrics"], input=text)
    fails.check(rc == 0 and not out.strip(), f"promtool check metrics:\n{out}")


def main():
    fails = k.Failures()
    with live.Stack() as stack:
        engine_env = model_env()
        kproc, kport = stack.kronosd(dict(KRONOS_ENV, **engine_env))
        live.wait_until("kronosd ready", lambda: live.http_request(kport, "GET", "/v1/readyz")[0] == 200, 60)
        print("engine:", "kronos (reference Kronos-mini)" if engine_env else "baseline (no reference model found)")
        status, _, body = live.http_request(kport, "GET", "/v1/metrics")
        if status != 200 or b"kronos_requests_total" not in body:
            live.skip(f"kronosd does not serve kronos_requests_total on /v1/metrics yet (HTTP {status}, "
                      f"{len(body)} bytes)")
        instance = f"127.0.0.1:{kport}"
        slo_rules = k.load_yaml(k.SLO_RULES)
        for g in slo_rules["groups"]:
            g.pop("interval", None)
        slo_copy = stack.write("kronos-slo-rules.yml", k.yaml.safe_dump(slo_rules, sort_keys=False))
        prom = stack.prometheus(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: ["{k.ALERTS}", "{slo_copy}"]
scrape_configs:
  - job_name: kronos-api
    metrics_path: /v1/metrics
    static_configs: [{{targets: ["{instance}"], labels: {{cluster: e2e, namespace: kronos-e2e}}}}]
""")
        live.wait_until("up == 1", lambda: prom.value(f'up{{job="kronos-api", instance="{instance}"}}') == 1, 20)
        time.sleep(2)  # a few scrapes of the idle service: every series starts at 0 before traffic

        traffic = Traffic(kport)
        started = time.monotonic()
        traffic.run()
        print(f"traffic: {time.monotonic() - started:.1f} s, "
              + ", ".join(f"{p} {s}x{n}" for (p, s), n in sorted(traffic.statuses.items(), key=str)))
        statuses = {s for (_, s) in traffic.statuses}
        fails.check(200 in statuses and 422 in statuses and 429 in statuses and 413 in statuses and 403 in statuses,
                    f"traffic did not produce 200, 403, 413, 422 and 429: {sorted(map(str, statuses))}")
        timed_out = {ep: traffic.statuses.get((f"/v1/predict/{ep}", 504), 0) for ep in ("single", "batch")}
        print(f"timeouts produced: {timed_out}")
        if engine_env:
            fails.check(all(timed_out.values()), "heavy requests did not time out with the Kronos engine")

        status, _, body = live.http_request(kport, "GET", "/v1/metrics")
        check_exposition(body.decode(), fails)

        time.sleep(3)  # let Prometheus scrape the traffic and evaluate the rules again
        sel = f'job="kronos-api", instance="{instance}"'
        expectations = [
            (f'kronos_requests_total{{{sel}, route="/v1/predict/single", status="success"}}', 6),
            (f'kronos_requests_total{{{sel}, route="/v1/predict/batch", status="success"}}', 2),
            (f'kronos_requests_total{{{sel}, route="/v1/predict/single", status="invalid"}}', 3),
            (f'kronos_requests_total{{{sel}, route="/v1/predict/single", status="rate_limited"}}', 10),
            (f'kronos_requests_total{{{sel}, route="other", status="invalid"}}', 1),
            (f'sum(kronos_security_events_total{{{sel}, event="rate_limited", container="flooder"}})', 10),
            (f'sum(kronos_rate_limit_hits_total{{{sel}, container="flooder"}})', 10),
            (f'sum(kronos_security_events_total{{{sel}, event="blocked"}})', 1),
            (f'sum(kronos_security_events_total{{{sel}, event="oversized"}})', 1),
            (f'sum(kronos_request_size_rejections_total{{{sel}}})', 1),
            (f'sum(kronos_predicted_points_total{{{sel}, endpoint="/v1/predict/single"}})', 48),
            (f'kronos_request_duration_seconds_count{{{sel}, route="/v1/predict/batch"}}', 2),
            (f'kronos_batch_items_count{{{sel}}}', 2),
            (f'kronos_model_loaded{{{sel}}}', 1),
        ]
        for ep, n in timed_out.items():
            if n:
                expectations.append((f'sum(kronos_timeouts_total{{{sel}, endpoint="/v1/predict/{ep}"}})', n))
                expectations.append((f'kronos_requests_total{{{sel}, route="/v1/predict/{ep}", status="timeout"}}', n))
        for expr, minimum in expectations:
            v = prom.value(expr)
            fails.check(v is not None and v >= minimum, f"{expr} = {v}, want >= {minimum}")
        # every SPEC §3 status class is scraped (at 0 until it happens); the retired `rejected` is gone
        got = {r["metric"]["status"] for r in prom.query(f'kronos_requests_total{{{sel}, route="/v1/predict/batch"}}')}
        fails.check(got == k.LABEL_VALUES["status"], f"status values scraped: {sorted(got)}")
        # A clean start is not a failed load (the dashboard's "Model load failures" stat turns red on >= 1).
        v = prom.value(f'kronos_model_load_failures_total{{{sel}}}')
        fails.check(v == 0, f"kronos_model_load_failures_total = {v} after a successful load, want 0")

        # every rule evaluated without error
        def evaluated():
            groups = prom.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r.get("health") != "unknown" for r in rules) else None
        rules = live.wait_until("every rule evaluated", evaluated, 15)
        want_rules = len(k.rules(k.ALERTS)) + len(k.rules(k.SLO_RULES))
        fails.check(len(rules) == want_rules, f"Prometheus loaded {len(rules)} rules, want {want_rules}")
        for r in rules:
            fails.check(r.get("health") == "ok", f"rule {r.get('name')}: health {r.get('health')} {r.get('lastError')}")
        active = sorted({a["labels"]["alertname"] + ":" + a["state"] for r in rules for a in r.get("alerts", [])})
        print(f"{len(rules)} rules healthy; active alerts: {active or 'none'}")

        # dashboard variables and every panel query
        d = k.dashboard()
        for v in d["templating"]["list"]:
            q = v.get("query")
            if v["type"] != "query":
                continue
            q = q["query"] if isinstance(q, dict) else q
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
            if not fails.check(m, f"variable {v['name']}: unsupported query {q!r}"):
                continue
            match = k.substitute(m.group(1), instance=instance)
            values = prom.api(f"label/{m.group(2)}/values", **{"match[]": match})
            fails.check(values, f"variable {v['name']}: {q} finds no values")
        queries = 0
        for a in d["annotations"]["list"]:
            if "expr" in a:
                queries += 1
                result = prom.query(k.substitute(a["expr"], instance=instance))
                fails.check(result, f"annotation {a['name']!r}: no data (kronosd started within its window)")
        for p in k.dashboard_panels(d):
            for t in p.get("targets", []):
                expr = k.substitute(t["expr"], instance=instance, rate_interval=RATE_INTERVAL)
                queries += 1
                try:
                    result = prom.query(expr)
                except ValueError as e:
                    fails.check(False, f"panel {p['title']!r} {t['refId']}: query error {e}")
                    continue
                fails.check(result, f"panel {p['title']!r} {t['refId']}: no data for {expr}")
        print(f"{queries} panel and annotation queries checked against Prometheus")
        fails.check(stack.stop(kproc) == 0, f"kronosd exited with {kproc.returncode} after SIGTERM (sanitizer report?)")
    fails.finish("live metrics")


if __name__ == "__main__":
    main()
