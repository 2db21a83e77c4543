"""Distributed tracing through the real binary: spans exported over OTLP/HTTP to a receiver that
decodes them with the official opentelemetry-proto schema (tests/js/otlp_receiver.js). A single
and a batch forecast give the expected span tree (names, kinds, parents, attributes), continuing
an incoming traceparent/tracestate; the resource is right; the response's traceparent, the log
lines' span ids and the exemplars' trace ids name exported spans; OTLP/JSON, custom headers,
the flush at shutdown and the Kronos engine's phase spans; invalid OTEL_* values stop start-up
naming the variable."""
import os
import re
import subprocess

import predict_data
from harness import BIN, Checker, Kronosd, free_port, have_tiny_model, kronos_env
from otlp import Receiver, metric, receiver_available

c = Checker()
if not c.check(receiver_available(), "npm @opentelemetry/otlp-transformer installed in tests/js "
               "(scripts/install-deps.sh test)"):
    c.done()

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
SERVER, INTERNAL = 2, 1
ERROR = 2
FAST = {"OTEL_BSP_SCHEDULE_DELAY": "50", "KRONOS_RATE_LIMIT_ENABLED": "false"}


def by_name(spans):
    out = {}
    for s in spans:
        out.setdefault(s["name"], []).append(s)
    return out


def tree_ok(spans, server_name, items, what):
    """The request's tree: SERVER span, its phase children, items under inference."""
    names = by_name(spans)
    server = names.get(server_name, [None])[0]
    if not c.check(server is not None, "%s: a %s span (got %s)" % (what, server_name,
                                                                  sorted(names))):
        return None
    c.eq(server["kind"], SERVER, "%s: server span kind" % what)
    sid = server["spanId"]
    for child in ("kronosd.auth", "kronosd.parse", "kronosd.queue", "kronosd.inference",
                  "kronosd.serialise"):
        got = names.get(child, [])
        if c.eq(len(got), 1, "%s: one %s span" % (what, child)):
            c.eq(got[0]["parentSpanId"], sid, "%s: %s is a child of the server span" % (what, child))
            c.eq(got[0]["kind"], INTERNAL, "%s: %s kind" % (what, child))
            c.check(int(server["start"]) <= int(got[0]["start"]) <= int(got[0]["end"])
                    <= int(server["end"]), "%s: %s lies within the server span" % (what, child))
    inference = names.get("kronosd.inference", [{}])[0].get("spanId")
    its = names.get("kronos.item", [])
    c.eq(len(its), items, "%s: one kronos.item span per series" % what)
    for it in its:
        c.eq(it["parentSpanId"], inference, "%s: kronos.item is a child of kronosd.inference" % what)
    return server


def forbids_candles(spans, what):
    for s in spans:
        for k, v in s["attributes"].items():
            c.check(not re.search(r"candle|open|high|low|close|volume", k),
                    "%s: %s carries no candle values (attribute %s)" % (what, s["name"], k))


with Receiver() as rx:
    env = dict(FAST, OTEL_EXPORTER_OTLP_ENDPOINT=rx.url, OTEL_SERVICE_NAME="kronos-api",
               OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=quant%20desk",
               OTEL_EXPORTER_OTLP_HEADERS="x-collector-key=s3cret%21,x-tenant=acme")
    with Kronosd(env=env, wait_ready=True) as k:
        tp = "00-%s-%s-01" % (PARENT_TRACE, PARENT_SPAN)
        r = k.post("/v1/predict/single", predict_data.single(series_id="ETH-USDT"),
                   headers={"traceparent": tp, "tracestate": "vendor=abc,other=x1",
                            "User-Agent": "trace-test/1.0", "X-Request-ID": "trace-req-1"})
        c.eq(r.status, 200, "single forecast")
        m = re.match(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$", r.header("traceparent") or "")
        c.check(m is not None, "response traceparent sampled: %r" % r.header("traceparent"))
        c.eq(m.group(1) if m else None, PARENT_TRACE, "the caller's trace continues")
        server_id = m.group(2) if m else None
        spans = rx.wait_spans(lambda ss: sum(s["traceId"] == PARENT_TRACE for s in ss) >= 7)
        mine = [s for s in spans if s["traceId"] == PARENT_TRACE]
        c.eq(len(mine), 7, "single forecast (baseline engine): 7 spans "
             "(server, auth, parse, queue, inference, item, serialise): %s"
             % sorted(s["name"] for s in mine))
        server = tree_ok(mine, "POST /v1/predict/single", 1, "single")
        if server:
            c.eq(server["spanId"], server_id, "the response's traceparent names the server span")
            c.eq(server["parentSpanId"], PARENT_SPAN, "the server span's parent is the caller's")
            c.eq(server["traceState"], "vendor=abc,other=x1", "tracestate kept")
            a = server["attributes"]
            for key, want in (("http.request.method", "POST"), ("http.route", "/v1/predict/single"),
                              ("http.response.status_code", 200), ("url.path", "/v1/predict/single"),
                              ("client.address", "127.0.0.1"), ("network.peer.address", "127.0.0.1"),
                              ("user_agent.original", "trace-test/1.0"),
                              ("kronos.request_id", "trace-req-1"), ("url.scheme", "http")):
                c.eq(a.get(key), want, "server span %s" % key)
            c.check(a.get("http.request.body.size", 0) > 1000, "http.request.body.size: %r"
                    % a.get("http.request.body.size"))
            c.eq(a.get("http.response.body.size"), len(r.body), "http.response.body.size")
            c.check("error.type" not in a, "a 200 has no error.type")
            c.eq(server["status"]["code"], 0, "a 200 leaves the server span's status unset")
            c.eq(server["resource"].get("service.name"), "kronos-api", "OTEL_SERVICE_NAME")
            c.eq(server["resource"].get("service.instance.id"), "itest",
                 "service.instance.id is KRONOS_INSTANCE")
            c.check(re.match(r"^\d+\.\d+\.\d+", server["resource"].get("service.version", "")),
                    "service.version: %r" % server["resource"].get("service.version"))
            c.check(server["resource"].get("host.name"), "host.name set")
            c.eq(server["resource"].get("deployment.environment"), "test", "OTEL_RESOURCE_ATTRIBUTES")
            c.eq(server["resource"].get("team"), "quant desk", "OTEL_RESOURCE_ATTRIBUTES decoded")
            c.eq(server["scope"]["name"], "kronosd", "instrumentation scope")
            c.eq(server["protocol"], "protobuf", "http/protobuf by default")
            c.eq(server["path"], "/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces")
            c.eq(server["headers"].get("x-collector-key"), "s3cret!", "OTEL_EXPORTER_OTLP_HEADERS")
            c.eq(server["headers"].get("x-tenant"), "acme", "second header")
            item = by_name(mine)["kronos.item"][0]["attributes"]
            c.eq((item.get("kronos.series_id"), item.get("kronos.rows"), item.get("kronos.pred_len"),
                  item.get("kronos.sample_count")), ("ETH-USDT", 64, 8, 1), "item attributes")
            auth = by_name(mine)["kronosd.auth"][0]["attributes"]
            c.eq(auth.get("kronos.container"), "localhost", "auth span: the caller identity")
        forbids_candles(mine, "single")
        c.check(not any("s3cret" in line for line in k.lines), "header values are never logged")

        # Log lines and exemplars name the same ids.
        recs = [x for x in k.log_records() if x.get("request_id") == "trace-req-1"]
        done = [x for x in recs if x.get("message") == "request completed"]
        c.check(done and done[0].get("span_id") == server_id and
                done[0].get("trace_id") == PARENT_TRACE,
                "the request completed line carries the server span's id: %s" % done[:1])
        pred = [x for x in recs if x.get("message") == "single prediction completed"]
        c.check(pred and pred[0].get("span_id") == server_id, "the prediction line's span_id")
        om = k.get("/v1/metrics", headers={"Accept": "application/openmetrics-text"}).body.decode()
        exemplars = set(re.findall(r'# \{trace_id="([0-9a-f]{32})"\}', om))
        c.check(PARENT_TRACE in exemplars, "an exemplar carries the exported trace id")
        exported = {s["traceId"] for s in rx.spans()}
        c.check(exemplars <= exported, "every exemplar names an exported trace (%d of %d)"
                % (len(exemplars & exported), len(exemplars)))

        # A batch: one item span per series, with its series id; a new trace (no traceparent).
        items = [predict_data.single(series_id="S%d" % i, pred=4 + i) for i in range(3)]
        r = k.post("/v1/predict/batch", {"items": items}, headers={"X-Request-ID": "trace-batch"})
        c.eq(r.status, 200, "batch forecast")
        tid = (r.header("traceparent") or "--").split("-")[1]
        spans = rx.wait_spans(lambda ss: sum(s["traceId"] == tid for s in ss) >= 9)
        mine = [s for s in spans if s["traceId"] == tid]
        server = tree_ok(mine, "POST /v1/predict/batch", 3, "batch")
        if server:
            c.eq(server["parentSpanId"], "", "a new trace's server span is a root")
        got = sorted((s["attributes"].get("kronos.series_id"), s["attributes"].get("kronos.pred_len"))
                     for s in by_name(mine).get("kronos.item", []))
        c.eq(got, [("S0", 4), ("S1", 5), ("S2", 6)], "batch item spans: series id and pred_len")
        forbids_candles(mine, "batch")

        # A client mistake: the parse span records the error, the server span stays unset (4xx).
        r = k.post("/v1/predict/single", {"candles": []})
        c.eq(r.status, 422, "invalid request")
        tid = (r.header("traceparent") or "--").split("-")[1]
        spans = rx.wait_spans(lambda ss: sum(s["traceId"] == tid for s in ss) >= 3)
        names = by_name([s for s in spans if s["traceId"] == tid])
        parse = names.get("kronosd.parse", [None])[0]
        c.check(parse and parse["status"]["code"] == ERROR and
                parse["attributes"].get("error.type") == "validation_error",
                "parse span: status ERROR, error.type validation_error: %s" % parse)
        srv = names.get("POST /v1/predict/single", [None])[0]
        c.check(srv and srv["status"]["code"] == 0 and "error.type" not in srv["attributes"] and
                srv["attributes"].get("http.response.status_code") == 422,
                "server span of a 422: status unset, no error.type (HTTP semconv)")
        c.check("kronosd.queue" not in names, "a refused request never queued")

        # Not found: a server span named by the method alone, no http.route.
        r = k.get("/nowhere")
        tid = (r.header("traceparent") or "--").split("-")[1]
        spans = rx.wait_spans(lambda ss: any(s["traceId"] == tid and s["kind"] == SERVER
                                             for s in ss))
        srv = [s for s in spans if s["traceId"] == tid and s["kind"] == SERVER]
        c.check(srv and srv[0]["name"] == "GET" and "http.route" not in srv[0]["attributes"],
                "an unknown path: span named GET, no http.route: %s" % srv[:1])
        c.eq(metric(k, "kronos_trace_export_failures_total"), 0.0, "no export failed")
        c.check(metric(k, "kronos_trace_spans_exported_total") >= 20, "exported spans counted")

# OTLP/JSON to a traces endpoint used as it is; the flush at shutdown exports what is queued.
with Receiver() as rx:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rx.url + "/custom/traces",
           "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
           "OTEL_BSP_SCHEDULE_DELAY": "600000", "KRONOS_RATE_LIMIT_ENABLED": "false"}
    with Kronosd(env=env, wait_ready=True) as k:
        r = k.post("/v1/predict/single", predict_data.single(),
                   headers={"traceparent": "00-%s-%s-01" % (PARENT_TRACE, PARENT_SPAN)})
        c.eq(r.status, 200, "json: forecast")
        c.eq(rx.spans(), [], "json: nothing exported before the schedule delay")
        c.eq(k.stop(), 0, "json: clean stop")
    mine = rx.spans(PARENT_TRACE)
    c.eq(len(mine), 7, "json: the queued spans were flushed at shutdown")
    server = tree_ok(mine, "POST /v1/predict/single", 1, "json")
    c.check(mine and all(s["protocol"] == "json" and s["path"] == "/custom/traces" for s in mine),
            "json: http/json to the traces endpoint as given")
    if server:
        c.eq(server["parentSpanId"], PARENT_SPAN, "json: parent link")
        c.eq(server["attributes"].get("http.response.status_code"), 200, "json: int attribute")

# The Kronos engine on the tiny model: phase spans under each item.
if have_tiny_model("Kronos engine phase spans"):
    with Receiver() as rx:
        env = kronos_env(OTEL_EXPORTER_OTLP_ENDPOINT=rx.url, **FAST)
        with Kronosd(env=env, wait_ready=True) as k:
            r = k.post("/v1/predict/single", predict_data.single(n=12, pred=8, overrides={"sample_count": 2}))
            c.eq(r.status, 200, "kronos: forecast")
            tid = (r.header("traceparent") or "--").split("-")[1]
            want = {"kronos.decode", "kronosd.serialise", "POST /v1/predict/single"}
            spans = rx.wait_spans(lambda ss: want <= {s["name"] for s in ss if s["traceId"] == tid})
            mine = [s for s in spans if s["traceId"] == tid]
            names = by_name(mine)
            tree_ok(mine, "POST /v1/predict/single", 1, "kronos")
            item = names.get("kronos.item", [{}])[0].get("spanId")
            for ph in ("kronos.encode", "kronos.prefill", "kronos.decode"):
                got = names.get(ph, [])
                c.check(len(got) == 1 and got[0]["parentSpanId"] == item,
                        "kronos: one %s span under the item" % ph)
            steps = sum(s["attributes"].get("kronos.steps", 0)
                        for n in ("kronos.cached_steps", "kronos.sliding_recompute")
                        for s in names.get(n, []))
            c.eq(steps, 7, "kronos: cached + sliding steps = pred_len - 1")
            c.eq(names.get("kronos.decode", [{}])[0].get("attributes", {}).get("kronos.samples"), 2,
                 "kronos: decode counts the samples")

# Tracing off: OTEL_SDK_DISABLED wins over an endpoint; nothing is sent.
with Receiver() as rx:
    with Kronosd(env=dict(FAST, OTEL_EXPORTER_OTLP_ENDPOINT=rx.url, OTEL_SDK_DISABLED="true")) as k:
        r = k.get("/v1/healthz")
        c.check((r.header("traceparent") or "").endswith("-01"), "disabled: traceparent as before")
        c.check(any(x.get("message") == "tracing off" for x in k.log_records()),
                "disabled: logged at start-up")
    c.eq(rx.exports(), [], "disabled: nothing exported")

# Invalid values stop start-up, naming the variable.
for var, value in (("OTEL_TRACES_SAMPLER", "sometimes"), ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
                   ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
                   ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_SDK_DISABLED", "maybe"),
                   ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"), ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
                   ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096")):
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
               OTEL_TRACES_SAMPLER="traceidratio", KRONOS_PORT=str(free_port()))
    env[var] = value
    p = subprocess.run([BIN], env=env, capture_output=True, text=True, timeout=30)
    c.check(p.returncode == 2 and var in p.stderr,
            "%s=%s: exit 2 naming the variable (exit %s, %r)" % (var, value, p.returncode,
                                                                 p.stderr.strip()[:200]))

c.done()
