#!/usr/bin/python3
"""Generate the Grafana dashboard for kronosd, in two copies:

  monitoring/grafana/kronos-dashboard.json                           to import (asks for DS_PROMETHEUS)
  monitoring/grafana/provisioning/dashboards/kronosd/kronos-dashboard.json   for file provisioning
      (no import step: its data source variable defaults to the provisioned data source, uid prometheus)

The panels are described here once, in a compact form, and written out as the verbose JSON Grafana
reads. The SLO row follows monitoring/slo/kronos-slos.yml (objectives, thresholds, burn-rate tiers).
Usage: gen-dashboard.py [--check]   (--check: write nothing, exit 1 when a file is stale)
"""
import copy
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "monitoring/grafana/kronos-dashboard.json")
OUT_PROVISIONED = os.path.join(ROOT, "monitoring/grafana/provisioning/dashboards/kronosd/kronos-dashboard.json")
SLO_SPEC = os.path.join(ROOT, "monitoring/slo/kronos-slos.yml")
# The data source monitoring/grafana/provisioning/datasources/kronos-datasources.yml provisions.
PROVISIONED_DS = {"name": "Prometheus", "uid": "prometheus"}

DS = {"type": "prometheus", "uid": "${datasource}"}
# Label matchers every query starts from. $endpoint is a route path: it filters route-labelled
# metrics by route and endpoint-labelled ones by endpoint (the endpoint label is the route path).
FLEET = 'cluster=~"$cluster", namespace=~"$namespace", job=~"$job"'
SEL = FLEET + ', instance=~"$instance"'
SEL_ROUTE = SEL + ', route=~"$endpoint"'
SEL_EP = SEL + ', endpoint=~"$endpoint"'
PREDICT = SEL + ', route=~"/v1/predict/single|/v1/predict/batch"'
SINGLE = SEL + ', route="/v1/predict/single"'
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


def thresholds(*steps, base="green"):
    out = [{"color": base, "value": None}]
    for color, value in steps:
        out.append({"color": color, "value": value})
    return {"mode": "absolute", "steps": out}


class Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them. Panel ids are
    stable keys (docs/RUNBOOK.md links panels by id: /d/kronosd-overview?viewPanel=<id>)."""

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

    def place(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self.next_id
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        return panel

    def add(self, kind, title, description, unit, targets, w=12, h=8, th=None, options=None,
            minimum=None, maximum=None, custom=None, exemplars=False, transformations=None):
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
            "type": kind, "title": title, "description": description, "datasource": DS,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
            "targets": [target(*t[:2], refs[i], *t[2:]) for i, t in enumerate(targets)],
        }
        if transformations:
            panel["transformations"] = transformations
        if exemplars:  # kronosd attaches trace ids to buckets in OpenMetrics
            for t in panel["targets"]:
                t["exemplar"] = True
        return self.place(panel, w, h)

    def alert_list(self, title, description, w=12, h=8):
        """Firing and pending alerts with service="kronosd", from Grafana's unified alerting view
        (data-source-managed rules of the Prometheus data source included)."""
        return self.place({
            "type": "alertlist", "title": title, "description": description,
            "options": {"viewMode": "list", "groupMode": "default", "groupBy": [], "maxItems": 20,
                        "sortOrder": 1, "dashboardAlerts": False, "alertName": "",
                        "alertInstanceLabelFilter": '{service="kronosd"}',
                        "stateFilter": {"firing": True, "pending": True, "noData": False, "normal": False,
                                        "error": True}},
        }, w, h)


def timeseries_opts():
    return {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"}}


def gauge_opts():
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showThresholdLabels": False, "showThresholdMarkers": True}


def stat_opts(graph="none"):
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": graph, "textMode": "auto"}


def lines():
    """Threshold steps drawn as lines on a time series (objective, burn-rate tiers)."""
    return {"thresholdsStyle": {"mode": "line"}}


def load_slos():
    with open(SLO_SPEC) as f:
        return yaml.safe_load(f)


def panels():
    L = Layout()
    ts, tso = "timeseries", timeseries_opts()
    spec = load_slos()
    single = next(s for s in spec["slos"] if s["name"] == "single_latency")
    t_single = single["threshold_seconds"]

    L.row("Overview")
    L.add("stat", "Instances up",
          "kronosd instances Prometheus scrapes successfully (sum of up) and the instances it knows (count "
          "of up). Fewer up than known: KronosInstanceDown; none up: KronosServiceDown.", "none",
          [("sum(up{" + SEL + "})", "up"), ("count(up{" + SEL + "})", "known")], w=4,
          options=stat_opts("area"))
    L.alert_list("Firing kronosd alerts",
                 "Alerts labelled service=\"kronosd\" that fire or are pending, from the rules in "
                 "monitoring/prometheus/ (Grafana lists the Prometheus data source's rules).", w=8)
    L.add("gauge", "p95 single-prediction latency",
          f"95th percentile of /v1/predict/single latency (predictions only: no scrapes, probes or batches). "
          f"Red from {t_single:g} s, the single_latency SLO threshold (monitoring/slo/kronos-slos.yml).", "s",
          [(quantile(0.95, "kronos_request_duration_seconds", sel=SINGLE), "p95")], w=6,
          th=thresholds(("yellow", t_single / 2), ("red", t_single)), options=gauge_opts(), minimum=0,
          maximum=t_single * 2)
    L.add("gauge", "Total request rate",
          "All requests per second on the selected instances, endpoints and statuses. Yellow from 50 req/s, red "
          "from 100 req/s.",
          "reqps", [(f"sum({rate('kronos_requests_total', SEL_ROUTE + ', status=~' + chr(34) + '$status' + chr(34))})",
                     "total")], w=6,
          th=thresholds(("yellow", 50), ("red", 100)), options=gauge_opts(), minimum=0, maximum=150)

    L.row("Traffic and latency")
    L.add(ts, "Request rate by route and status",
          "Requests per second, split by route and outcome: success, invalid = 4xx but 429, rate_limited = 429, "
          "unavailable = 503 (overloaded, not ready, draining), timeout = 504, cancelled = client hung up, "
          "error = other 5xx. Filtered by the endpoint and status variables.", "reqps",
          [(f"sum by (route, status) ({rate('kronos_requests_total', SEL_ROUTE + ', status=~' + chr(34) + '$status' + chr(34))})",
            "{{route}} {{status}}")], w=12, options=tso)
    L.add(ts, "Prediction latency p50 / p95 / p99 by route",
          "Latency quantiles per prediction route from kronos_request_duration_seconds (buckets up to 300 s): "
          "single predictions and batches apart, as batches of many series take 10-30 s by design. Exemplars "
          "(with Prometheus' exemplar storage on) link to the trace of a request in that bucket.", "s",
          [(quantile(q, "kronos_request_duration_seconds", by="route",
                     sel=PREDICT + ', route=~"$endpoint"'), "{{route}} p" + str(int(q * 100)))
           for q in (0.5, 0.95, 0.99)], options=tso, exemplars=True)
    L.add(ts, "Error and timeout rate",
          "Share of admitted prediction requests (all but rate_limited, invalid and cancelled: the availability "
          "SLI's denominator) answered with a server error (other 5xx), a timeout (504) or unavailable (503). "
          "Both sides of each ratio are summed over the same labels.", "percentunit",
          [(f"sum({rate('kronos_requests_total', PREDICT + ', status=' + chr(34) + st + chr(34))}) / "
            f"sum({rate('kronos_requests_total', ADMITTED)})", st) for st in ("error", "timeout", "unavailable")],
          options=tso, minimum=0)
    L.add(ts, "Concurrent requests",
          "Requests being processed right now, per instance (kronos_concurrent_requests).", "short",
          [("sum by (instance) (kronos_concurrent_requests{" + SEL + "})", "{{instance}}")], w=12, options=tso,
          minimum=0)
    L.add(ts, "Model inference p50 / p95 by endpoint",
          "Time spent in model work only (no queueing, no HTTP), per endpoint.", "s",
          [(quantile(q, "kronos_model_inference_seconds", by="endpoint", sel=SEL_EP),
            "{{endpoint}} p" + str(int(q * 100))) for q in (0.5, 0.95)], w=8, options=tso, exemplars=True)
    L.add(ts, "Model time per forecast bar",
          "Model seconds per forecast bar produced, per endpoint: comparable between a single prediction and "
          "a batch of any size, so a slower model shows here whatever the batch mix.", "s",
          [(f"sum by (endpoint) ({rate('kronos_model_inference_seconds_sum', SEL_EP)}) / "
            f"sum by (endpoint) ({rate('kronos_predicted_points_total', SEL_EP)})", "{{endpoint}}")], w=8,
          options=tso, minimum=0)
    L.add(ts, "Input size p95 (candles per series)",
          "95th percentile of the number of candles per forecast series, per endpoint.", "short",
          [(quantile(0.95, "kronos_prediction_input_size", by="endpoint", sel=SEL_EP), "{{endpoint}} p95")], w=8,
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
          "Time a prediction waited for a model worker before inference started; for batches this is the "
          "batch_queue_wait SLI.", "s",
          [(quantile(q, "kronos_queue_wait_seconds", by="endpoint", sel=SEL_EP), "{{endpoint}} p" + str(int(q * 100)))
           for q in (0.5, 0.95)], w=8, options=tso)
    L.add(ts, "Forecast points and batch size",
          "Forecast bars produced per second per endpoint, and the 95th percentile of items per batch request.",
          "short",
          [(f"sum by (endpoint) ({rate('kronos_predicted_points_total', SEL_EP)})", "points/s {{endpoint}}"),
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
           (f"sum by (endpoint) ({rate('kronos_timeouts_total', SEL_EP)})", "timeout {{endpoint}}")], w=12,
          options=tso)

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
          "Model loads that failed since the process started, summed over instances (KronosModelLoadFailed).",
          "short", [("sum(kronos_model_load_failures_total{" + SEL + "})", "failures")], w=4,
          th=thresholds(("red", 1)), options=stat_opts())
    L.add("table", "Instances: build and model",
          "One row per instance: version, revision and compiler of the binary (kronos_build_info) beside its "
          "engine, model, tokenizer and context (kronos_model_info). Deploys show as annotations.", "none",
          [("max by (instance, version, revision, compiler) (kronos_build_info{" + SEL + "})", "", True, "table"),
           ("max by (instance, engine, model, tokenizer, max_context) (kronos_model_info{" + SEL + "})", "", True,
            "table")], w=12, options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
          transformations=[
              {"id": "merge", "options": {}},
              {"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value #A": True, "Value #B": True},
                  "indexByName": {"instance": 0, "version": 1, "revision": 2, "engine": 3, "model": 4,
                                  "tokenizer": 5, "max_context": 6, "compiler": 7},
                  "renameByName": {"instance": "Instance", "version": "Version", "revision": "Revision",
                                   "engine": "Engine", "model": "Model", "tokenizer": "Tokenizer",
                                   "max_context": "Context", "compiler": "Compiler"}}}])

    L.row("Process resources")
    L.add(ts, "Memory against the limit",
          "Resident memory of kronosd and the memory it may use (kronos_memory_limit_bytes: its cgroup limit, "
          "else the machine's memory). KronosHighMemoryUsage fires above 90% of the limit.", "bytes",
          [("sum by (instance) (process_resident_memory_bytes{" + SEL + "})", "RSS {{instance}}"),
           ("sum by (instance) (kronos_memory_limit_bytes{" + SEL + "})", "limit {{instance}}")], w=8,
          options=tso, minimum=0)
    L.add(ts, "CPU",
          "CPU time used per second of wall time; 1.0 = one core busy.", "percentunit",
          [(f"sum by (instance) ({rate('process_cpu_seconds_total')})", "{{instance}}")], w=8, options=tso,
          minimum=0)
    L.add(ts, "Open file descriptors and threads",
          "Open descriptors against the limit (connections use them; KronosFileDescriptorsNearLimit above 80%), "
          "and OS threads.", "short",
          [("sum by (instance) (process_open_fds{" + SEL + "})", "open fds {{instance}}"),
           ("sum by (instance) (process_max_fds{" + SEL + "})", "max fds {{instance}}"),
           ("sum by (instance) (process_threads{" + SEL + "})", "threads {{instance}}")], w=8, options=tso)
    L.add("stat", "Uptime",
          "Time since the kronosd process started, per instance; a restart drops it to 0 (KronosCrashLooping "
          "when it keeps doing so).", "s",
          [("time() - max by (instance) (process_start_time_seconds{" + SEL + "})", "{{instance}}")], w=24, h=4,
          options=stat_opts())

    L.row("Error budget (SLOs)")
    pages = sorted({t["factor"] for t in spec["burn_rates"] if t["severity"] == "critical"})
    tiers = ", ".join(f"{t['factor']:g}x over {t['long']} ({'page' if t['severity'] == 'critical' else 'ticket'})"
                      for t in spec["burn_rates"])
    L.add("stat", "30-day error budget remaining",
          "Share of each SLO's 30-day error budget not yet used (kronos:slo_error_budget_remaining:ratio30d): "
          "1 = untouched, 0 = used up, below 0 = the objective is missed over the last 30 days.", "percentunit",
          [('kronos:slo_error_budget_remaining:ratio30d{' + FLEET + '}', "{{slo}} {{namespace}}")], w=8,
          th=thresholds(("yellow", 0), ("green", 0.25), base="red"), options=stat_opts("area"))
    L.add(ts, "Burn rate (1h, 6h)",
          f"How many times faster than sustainable each SLO burns its budget (1 = used up in exactly 30 days). "
          f"Lines at the alert tiers: {tiers}.", "short",
          [('kronos:slo_burn:rate1h{' + FLEET + '}', "{{slo}} 1h {{namespace}}"),
           ('kronos:slo_burn:rate6h{' + FLEET + '}', "{{slo}} 6h {{namespace}}")], w=16,
          th=thresholds(*[("orange" if f < max(pages) else "red", f) for f in sorted({t["factor"] for t in spec["burn_rates"]})]),
          custom=lines(), options=tso, minimum=0)
    for slo in spec["slos"]:
        objective = slo["objective"]
        what = (f"answered within {slo['threshold_seconds']:g} s" if slo["kind"] == "latency" else "good")
        L.add(ts, f"SLI {slo['name']} against its {objective * 100:g}% objective",
              f"Share of good events of the {slo['name']} SLO ({what}) over the last hour and the last 30 days; "
              f"the line is the objective. {' '.join(slo['description'].split())}", "percentunit",
              [(f'1 - kronos:slo_errors:ratio_rate1h{{{FLEET}, slo="{slo["name"]}"}}', "1h {{namespace}}"),
               (f'1 - kronos:slo_errors:ratio_rate30d{{{FLEET}, slo="{slo["name"]}"}}', "30d {{namespace}}")],
              w=8, th=thresholds(("green", objective), base="red"), custom=lines(), options=tso, maximum=1)
    return L.panels


def variable_query(name, label, query, multi, include_all=None):
    include_all = multi if include_all is None else include_all
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
         "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all, "hide": 0}
    if include_all:
        # .* also matches series without the label: cluster and namespace are absent outside Kubernetes
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v


def annotations():
    deploy = ('count by (version, revision) (kronos_build_info{' + SEL + '}) unless '
              'count by (version, revision) (kronos_build_info{' + SEL + '} offset 2m)')
    return {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
         "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
        {"name": "Deploys", "datasource": DS, "enable": True, "hide": False, "iconColor": "rgba(255, 152, 48, 1)",
         "expr": deploy, "step": "1m", "titleFormat": "kronosd {{version}} deployed",
         "textFormat": "revision {{revision}}", "tagKeys": "version", "useValueForTime": False},
    ]}


def dashboard():
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus that scrapes kronosd",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        # schemaVersion 38 is what Grafana 10.0-10.2 writes; list every panel type used.
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "alertlist", "name": "Alert list", "version": ""},
            {"type": "panel", "id": "gauge", "name": "Gauge", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        ],
        "uid": "kronosd-overview",
        "title": "kronosd",
        "description": "Traffic, latency, saturation, model state, process resources and error budgets of kronosd.",
        "tags": ["kronosd", "kronos", "prometheus"],
        "schemaVersion": 38,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "links": [],
        "annotations": annotations(),
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {"selected": False, "text": "Prometheus", "value": "${DS_PROMETHEUS}"},
             "refresh": 1, "regex": "", "hide": 0},
            variable_query("cluster", "Cluster", "label_values(kronos_build_info, cluster)", True),
            variable_query("namespace", "Namespace", 'label_values(kronos_build_info{cluster=~"$cluster"}, namespace)',
                           True),
            dict(variable_query("job", "Job", 'label_values(kronos_build_info{cluster=~"$cluster", '
                                'namespace=~"$namespace"}, job)', False),
                 current={"selected": True, "text": "kronos-api", "value": "kronos-api"}),
            variable_query("instance", "Instance", 'label_values(kronos_build_info{cluster=~"$cluster", '
                           'namespace=~"$namespace", job=~"$job"}, instance)', True),
            variable_query("endpoint", "Endpoint", 'label_values(kronos_requests_total{job=~"$job"}, route)', True),
            variable_query("status", "Status", 'label_values(kronos_requests_total{job=~"$job"}, status)', True),
        ]},
        "panels": panels(),
    }


def provisioned(d):
    """The copy for file provisioning: no import step replaces ${DS_PROMETHEUS}, so the data source
    variable starts on the provisioned data source instead (any other can still be picked)."""
    d = copy.deepcopy(d)
    del d["__inputs"]
    for v in d["templating"]["list"]:
        if v["name"] == "datasource":
            v["current"] = {"selected": False, "text": PROVISIONED_DS["name"], "value": PROVISIONED_DS["uid"]}
    return d


def main(argv):
    d = dashboard()
    outputs = {OUT: d, OUT_PROVISIONED: provisioned(d)}
    stale = []
    for path, doc in outputs.items():
        text = json.dumps(doc, indent=2) + "\n"
        try:
            with open(path) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        rel = os.path.relpath(path, ROOT)
        stale.append(rel)
        if "--check" not in argv[1:]:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {rel}")
    if stale and "--check" in argv[1:]:
        print("stale: " + ", ".join(stale) + ": run /usr/bin/python3 scripts/gen-dashboard.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
