#!/usr/bin/python3
"""Generate monitoring/grafana/kronos-dashboard.json (the Grafana dashboard for kronosd).

The panels are described here once, in a compact form, and written out as the verbose JSON Grafana
imports. Usage: gen-dashboard.py [--check]   (--check: write nothing, exit 1 when the file is stale)
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "monitoring/grafana/kronos-dashboard.json")

DS = {"type": "prometheus", "uid": "${datasource}"}
# Label matchers every query starts from; route-labelled metrics also filter on $route.
SEL = 'job=~"$job", instance=~"$instance"'
SEL_ROUTE = SEL + ', route=~"$route"'
PREDICT = SEL + ', route=~"/v1/predict/single|/v1/predict/batch"'
# Admitted predictions, the availability SLI's denominator: rate_limited, invalid and cancelled left out.
ADMITTED = PREDICT + ', status=~"success|error|timeout|unavailable"'
RI = "$__rate_interval"


def rate(metric, sel=SEL):
    return f"rate({metric}{{{sel}}}[{RI}])"


def quantile(q, metric, by="", sel=SEL):
    keys = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({keys}) ({rate(metric + '_bucket', sel)}))"


def target(expr, legend, ref, instant=False, fmt=None):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend, "range": not instant,
         "instant": instant}
    if fmt:
        t["format"] = fmt
    return t


def thresholds(*steps):
    out = [{"color": "green", "value": None}]
    for color, value in steps:
        out.append({"color": color, "value": value})
    return {"mode": "absolute", "steps": out}


class Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them."""

    def __init__(self):
        self.panels, self.next_id, self.x, self.y, self.row_h = [], 1, 0, 0, 0

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "id": self.next_id, "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def add(self, kind, title, description, unit, targets, w=12, h=8, th=None, options=None,
            minimum=None, maximum=None, custom=None, exemplars=False):
        if self.x + w > 24:
            self.newline()
        defaults = {"unit": unit, "thresholds": th or thresholds()}
        if minimum is not None:
            defaults["min"] = minimum
        if maximum is not None:
            defaults["max"] = maximum
        if th:
            defaults["color"] = {"mode": "thresholds"}
        if custom:
            defaults["custom"] = custom
        refs = "ABCDEFGH"
        panel = {
            "type": kind, "id": self.next_id, "title": title, "description": description,
            "datasource": DS, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
            "targets": [target(*t[:2], refs[i], *t[2:]) for i, t in enumerate(targets)],
        }
        if exemplars:  # kronosd attaches trace ids to buckets in OpenMetrics
            for t in panel["targets"]:
                t["exemplar"] = True
        self.panels.append(panel)
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)


def timeseries_opts():
    return {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"}}


def gauge_opts():
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showThresholdLabels": False, "showThresholdMarkers": True}


def stat_opts():
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "none", "textMode": "auto"}


def panels():
    L = Layout()
    ts, tso = "timeseries", timeseries_opts()

    L.row("Traffic and latency")
    L.add(ts, "Request rate by route and status",
          "Requests per second, split by route and outcome: success, invalid = 4xx but 429, rate_limited = 429, "
          "unavailable = 503 (overloaded, not ready, draining), timeout = 504, cancelled = client hung up, "
          "error = other 5xx.", "reqps",
          [(f"sum by (route, status) ({rate('kronos_requests_total', SEL_ROUTE)})", "{{route}} {{status}}")],
          w=12, options=tso)
    L.add("gauge", "Total request rate",
          "All requests per second on the selected instances and routes. Yellow from 50 req/s, red from 100 req/s.",
          "reqps", [(f"sum({rate('kronos_requests_total', SEL_ROUTE)})", "total")], w=6,
          th=thresholds(("yellow", 50), ("red", 100)), options=gauge_opts(), minimum=0, maximum=150)
    L.add("gauge", "p95 latency",
          "95th percentile of request latency over the selected routes. Yellow from 2 s, red from 5 s "
          "(the KronosHighLatency threshold).", "s",
          [(quantile(0.95, "kronos_request_duration_seconds", sel=SEL_ROUTE), "p95")], w=6,
          th=thresholds(("yellow", 2), ("red", 5)), options=gauge_opts(), minimum=0, maximum=10)
    L.add(ts, "Request latency p50 / p95 / p99",
          "Latency quantiles of all selected requests, from kronos_request_duration_seconds "
          "(buckets up to 300 s). Exemplars (with Prometheus' exemplar storage on) link to the trace_id of "
          "a request in that bucket, to find its log lines.", "s",
          [(quantile(q, "kronos_request_duration_seconds", sel=SEL_ROUTE), f"p{int(q * 100)}")
           for q in (0.5, 0.95, 0.99)], options=tso, exemplars=True)
    L.add(ts, "Error and timeout rate",
          "Share of admitted prediction requests (all but rate_limited, invalid and cancelled: the availability "
          "SLI's denominator) answered with a server error (other 5xx), a timeout (504) or unavailable (503). "
          "Both sides of each ratio are summed over the same labels.", "percentunit",
          [(f"sum({rate('kronos_requests_total', PREDICT + ', status=' + chr(34) + s + chr(34))}) / "
            f"sum({rate('kronos_requests_total', ADMITTED)})", s) for s in ("error", "timeout", "unavailable")],
          options=tso, minimum=0)
    L.add(ts, "Concurrent requests",
          "Requests being processed right now, per instance (kronos_concurrent_requests).", "short",
          [("sum by (instance) (kronos_concurrent_requests{" + SEL + "})", "{{instance}}")], w=8, options=tso,
          minimum=0)
    L.add(ts, "Model inference p50 / p95 by endpoint",
          "Time spent in model work only (no queueing, no HTTP), per endpoint.", "s",
          [(quantile(q, "kronos_model_inference_seconds", by="endpoint"), "{{endpoint}} p" + str(int(q * 100)))
           for q in (0.5, 0.95)], w=8, options=tso, exemplars=True)
    L.add(ts, "Input size p95 (candles per series)",
          "95th percentile of the number of candles per forecast series, per endpoint.", "short",
          [(quantile(0.95, "kronos_prediction_input_size", by="endpoint"), "{{endpoint}} p95")], w=8,
          options=tso)
    L.add(ts, "Security events and rate-limit hits by container",
          "Per second: security events by type and caller identity (unauthorized, blocked, invalid_api_key, "
          "rate_limited, oversized) and 429 rate-limit hits per caller.", "ops",
          [(f"sum by (event, container) ({rate('kronos_security_events_total')})", "{{event}} {{container}}"),
           (f"sum by (container) ({rate('kronos_rate_limit_hits_total')})", "rate limited {{container}}")],
          w=24, options=tso)

    L.row("Saturation")
    L.add(ts, "Inference queue depth vs capacity",
          "Requests waiting for the model and the queue size (KRONOS_QUEUE_SIZE); when depth reaches capacity "
          "new predictions get 503 overloaded.", "short",
          [("sum by (instance) (kronos_queue_depth{" + SEL + "})", "depth {{instance}}"),
           ("sum by (instance) (kronos_queue_capacity{" + SEL + "})", "capacity {{instance}}")], w=8,
          options=tso, minimum=0)
    L.add(ts, "Queue wait p50 / p95 by endpoint",
          "Time a prediction waited for a model worker before inference started.", "s",
          [(quantile(q, "kronos_queue_wait_seconds", by="endpoint"), "{{endpoint}} p" + str(int(q * 100)))
           for q in (0.5, 0.95)], w=8, options=tso)
    L.add(ts, "Forecast points and batch size",
          "Forecast bars produced per second per endpoint, and the 95th percentile of items per batch request.",
          "short",
          [(f"sum by (endpoint) ({rate('kronos_predicted_points_total')})", "points/s {{endpoint}}"),
           (quantile(0.95, "kronos_batch_items"), "batch items p95")], w=8, options=tso)
    L.add(ts, "Request and response size p95",
          "95th percentile of request and response body sizes per route.", "bytes",
          [(quantile(0.95, "kronos_request_size_bytes", by="route", sel=SEL_ROUTE), "request {{route}}"),
           (quantile(0.95, "kronos_response_size_bytes", by="route", sel=SEL_ROUTE), "response {{route}}")],
          w=12, options=tso)
    L.add(ts, "Size rejections and timeouts",
          "Per second: bodies rejected for size (413) per caller, and inference timeouts (504) per endpoint.",
          "ops",
          [(f"sum by (container) ({rate('kronos_request_size_rejections_total')})", "413 {{container}}"),
           (f"sum by (endpoint) ({rate('kronos_timeouts_total')})", "timeout {{endpoint}}")], w=12, options=tso)

    L.row("Model and build")
    L.add("stat", "Model loaded",
          "1 when every selected instance can serve predictions (min of kronos_model_loaded); 0 while "
          "loading, draining or after a failed load.", "none",
          [("min(kronos_model_loaded{" + SEL + "})", "loaded")], w=4,
          th={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
          options=stat_opts())
    L.add("stat", "Model load time",
          "Seconds the last model load took (kronos_model_load_seconds), slowest instance.", "s",
          [("max(kronos_model_load_seconds{" + SEL + "})", "load time")], w=4, options=stat_opts())
    L.add("stat", "Model load failures",
          "Model loads that failed since the process started, summed over instances.", "short",
          [("sum(kronos_model_load_failures_total{" + SEL + "})", "failures")], w=4,
          th=thresholds(("red", 1)), options=stat_opts())
    L.add("table", "Model and build info",
          "Engine, model, tokenizer and context per instance (kronos_model_info) and version, revision and "
          "compiler of the binary (kronos_build_info).", "none",
          [("max by (instance, engine, model, tokenizer, max_context) (kronos_model_info{" + SEL + "})", "",
            True, "table"),
           ("max by (instance, version, revision, compiler) (kronos_build_info{" + SEL + "})", "", True,
            "table")], w=12, options={"showHeader": True})

    L.row("Process resources")
    L.add(ts, "Memory",
          "Resident and virtual memory of the kronosd process (KronosHighMemoryUsage fires above 4 GiB RSS).",
          "bytes",
          [("sum by (instance) (process_resident_memory_bytes{" + SEL + "})", "RSS {{instance}}"),
           ("sum by (instance) (process_virtual_memory_bytes{" + SEL + "})", "virtual {{instance}}")], w=8,
          options=tso)
    L.add(ts, "CPU",
          "CPU time used per second of wall time; 1.0 = one core busy.", "percentunit",
          [(f"sum by (instance) ({rate('process_cpu_seconds_total')})", "{{instance}}")], w=8, options=tso,
          minimum=0)
    L.add(ts, "Open file descriptors and threads",
          "Open descriptors against the limit (connections use them), and OS threads.", "short",
          [("sum by (instance) (process_open_fds{" + SEL + "})", "open fds {{instance}}"),
           ("sum by (instance) (process_max_fds{" + SEL + "})", "max fds {{instance}}"),
           ("sum by (instance) (process_threads{" + SEL + "})", "threads {{instance}}")], w=8, options=tso)
    L.add("stat", "Uptime",
          "Time since the kronosd process started, per instance.", "s",
          [("time() - max by (instance) (process_start_time_seconds{" + SEL + "})", "{{instance}}")], w=24, h=4,
          options=stat_opts())

    L.row("SLO burn")
    L.add(ts, "Error budget burn rate (1h and 6h)",
          "How many times faster than sustainable each SLO burns its error budget (recording rules from "
          "kronos-slo-rules.yml; 1 = budget exactly used up in 30 days). Pages fire at 14.4x (1h) and 6x (6h).",
          "short",
          [('kronos:slo_burn:rate1h{job=~"$job"}', "{{slo}} 1h"),
           ('kronos:slo_burn:rate6h{job=~"$job"}', "{{slo}} 6h")], w=12, options=tso, minimum=0)
    L.add(ts, "SLI over the last hour",
          "Share of good prediction requests over the last hour per SLO (availability: not 5xx; latency: "
          "answered within 5 s). Objectives: 99.9% and 99%.", "percentunit",
          [('1 - kronos:slo_errors:ratio_rate1h{job=~"$job"}', "{{slo}}")], w=12, options=tso, maximum=1)
    return L.panels


def variable_query(name, label, query, multi):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
         "refresh": 2, "sort": 1, "multi": multi, "includeAll": multi, "hide": 0}
    if multi:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v


def dashboard():
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus that scrapes kronosd",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "gauge", "name": "Gauge", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
        "uid": "kronosd-overview",
        "title": "kronosd",
        "description": "Traffic, latency, saturation, model state, process resources and SLO burn of kronosd.",
        "tags": ["kronosd", "kronos", "prometheus"],
        "schemaVersion": 38,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {"selected": False, "text": "Prometheus", "value": "${DS_PROMETHEUS}"},
             "refresh": 1, "regex": "", "hide": 0},
            dict(variable_query("job", "Job", "label_values(kronos_build_info, job)", False),
                 current={"selected": True, "text": "kronos-api", "value": "kronos-api"}),
            variable_query("instance", "Instance", 'label_values(kronos_build_info{job=~"$job"}, instance)', True),
            variable_query("route", "Route", 'label_values(kronos_requests_total{job=~"$job"}, route)', True),
        ]},
        "panels": panels(),
    }


def main(argv):
    text = json.dumps(dashboard(), indent=2) + "\n"
    try:
        with open(OUT) as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current == text:
        return 0
    if "--check" in argv[1:]:
        print("monitoring/grafana/kronos-dashboard.json is stale: run /usr/bin/python3 scripts/gen-dashboard.py")
        return 1
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote monitoring/grafana/kronos-dashboard.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
