"""Issue 3 end to end: a real Prometheus 2.42 with exemplar storage scrapes kronosd (OpenMetrics
negotiated); up == 1, kronos_requests_total grows with the traffic we send, and the trace id we
sent in traceparent comes back from /api/v1/query_exemplars."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from live import Stack, http_request, wait_until  # noqa: E402

TRACE_ID = "5b8efff798038103d269b633813fc60c"
TRACEPARENT = "00-%s-eee19b7ec3c1b174-01" % TRACE_ID
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


with Stack() as st:
    _, port = st.kronosd({"KRONOS_RATE_LIMIT_ENABLED": "false"})
    prom = st.prometheus(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kronos-api
    metrics_path: /v1/metrics
    static_configs:
      - targets: ["127.0.0.1:{port}"]
""", extra_args=["--enable-feature=exemplar-storage"])

    wait_until("up == 1", lambda: prom.value('up{job="kronos-api"}') == 1.0, 30)
    check(True, "up == 1")
    q = 'sum(kronos_requests_total{job="kronos-api",route="/v1/healthz",status="success"})'
    wait_until("first sample", lambda: prom.value(q) is not None, 30)
    before = prom.value(q)
    for _ in range(7):
        http_request(port, "GET", "/v1/healthz")
    http_request(port, "GET", "/v1/healthz", headers={"traceparent": TRACEPARENT})
    wait_until("kronos_requests_total grows by 8", lambda: (prom.value(q) or 0) >= before + 8, 30)
    check(prom.value(q) == before + 8, "kronos_requests_total increased by exactly 8")

    def exemplar_found():
        now = time.time()
        data = prom.api("query_exemplars", query='kronos_requests_total{route="/v1/healthz"}',
                        start=str(now - 300), end=str(now + 60))
        traces = {e["labels"].get("trace_id") for s in data for e in s.get("exemplars", [])}
        return TRACE_ID in traces

    wait_until("exemplar with our trace id", exemplar_found, 30)
    check(True, "query_exemplars returns the trace id sent in traceparent")

    def histogram_exemplar():
        now = time.time()
        data = prom.api("query_exemplars",
                        query='kronos_request_duration_seconds_bucket{route="/v1/healthz"}',
                        start=str(now - 300), end=str(now + 60))
        return any(e["labels"].get("trace_id") == TRACE_ID for s in data
                   for e in s.get("exemplars", []))

    wait_until("histogram bucket exemplar", histogram_exemplar, 30)
    check(True, "histogram buckets carry the exemplar too")

print("%d passed, %d failed" % (4 - len(failures), len(failures)))
sys.exit(1 if failures else 0)
