"""Sampling (OTEL_TRACES_SAMPLER/_ARG) through the real binary: traceidratio 0.25 over 2,000
requests samples about a quarter of the traces (within 5 standard deviations of the binomial),
the exported server spans are exactly the sampled ones, and parent-based samplers follow the
incoming traceparent's sampled flag while always_on/always_off ignore it."""
import http.client
import math

from harness import Checker, Kronosd
from otlp import Receiver, receiver_available

c = Checker()
if not c.check(receiver_available(), "npm @opentelemetry/otlp-transformer installed in tests/js"):
    c.done()

N = 2000
RATIO = 0.25


def traceparents(k, n, header=None):
    """n GET /v1/healthz on one keep-alive connection; the answers' traceparent headers."""
    conn = http.client.HTTPConnection("127.0.0.1", k.port, timeout=30)
    out = []
    for _ in range(n):
        conn.request("GET", "/v1/healthz", headers={"traceparent": header} if header else {})
        r = conn.getresponse()
        r.read()
        out.append(r.getheader("traceparent"))
    conn.close()
    return out


def server_spans(rx):
    return {s["traceId"] for s in rx.spans() if s["kind"] == 2 and s["name"] == "GET /v1/healthz"}


with Receiver() as rx:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.url, "OTEL_TRACES_SAMPLER": "traceidratio",
           "OTEL_TRACES_SAMPLER_ARG": str(RATIO), "OTEL_BSP_SCHEDULE_DELAY": "100",
           "OTEL_BSP_MAX_QUEUE_SIZE": "8192"}
    with Kronosd(env=env) as k:
        tps = traceparents(k, N)
        sampled = {tp.split("-")[1] for tp in tps if tp.endswith("-01")}
        mean, sd = N * RATIO, math.sqrt(N * RATIO * (1 - RATIO))
        c.check(abs(len(sampled) - mean) <= 5 * sd,
                "traceidratio %.2f: %d of %d sampled, want %.0f +- %.0f"
                % (RATIO, len(sampled), N, mean, 5 * sd))
        # Only this loop's traces: the harness's readiness probes may still be exported now.
        ours = {tp.split("-")[1] for tp in tps}
        got = rx.wait_spans(lambda ss: len(server_spans(rx) & ours) >= len(sampled), 20)
        exported = server_spans(rx) & ours
        c.eq(exported, sampled, "the exported server spans are exactly the sampled traces")
        # the decision is the trace id's: the same incoming trace id always gets the same one
        tid = sorted(sampled)[0] if sampled else "0" * 31 + "1"
        again = traceparents(k, 5, "00-%s-00f067aa0ba902b7-01" % tid)
        c.check(all(tp.endswith("-01") for tp in again),
                "traceidratio decides by trace id: a sampled id stays sampled")

cases = (
    # sampler, arg, incoming flags (None: no traceparent), want sampled
    ("parentbased_always_off", None, "01", True),
    ("parentbased_always_off", None, "00", False),
    ("parentbased_always_off", None, None, False),
    ("parentbased_always_on", None, "00", False),
    ("parentbased_always_on", None, None, True),
    ("parentbased_traceidratio", "0", "01", True),
    ("parentbased_traceidratio", "0", None, False),
    ("always_on", None, "00", True),
    ("always_off", None, "01", False),
)
with Receiver() as rx:
    for sampler, arg, flags, want in cases:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.url, "OTEL_TRACES_SAMPLER": sampler,
               "OTEL_BSP_SCHEDULE_DELAY": "50"}
        if arg is not None:
            env["OTEL_TRACES_SAMPLER_ARG"] = arg
        with Kronosd(env=env) as k:
            header = "00-%032x-00f067aa0ba902b7-%s" % (hash((sampler, flags)) & (2**128 - 1) | 1,
                                                      flags) if flags else None
            tp = traceparents(k, 1, header)[0]
            tid = tp.split("-")[1]
            what = "%s, incoming %s" % (sampler, "flags " + flags if flags else "none")
            c.eq(tp.endswith("-01"), want, "%s: response sampled flag" % what)
            k.stop()
            got = any(s["traceId"] == tid for s in rx.spans())
            c.eq(got, want, "%s: spans exported" % what)
            if header:
                c.eq(tid, header.split("-")[1], "%s: the trace id is continued" % what)

c.done()
