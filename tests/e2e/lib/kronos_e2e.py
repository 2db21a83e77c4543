"""Shared helpers of the e2e tests: paths, the metric contract, PromQL inspection, and the
dashboard's queries with their Grafana variables substituted."""
import json
import os
import re
import subprocess
import sys

ROOT = os.environ.get("KRONOS_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MON = os.path.join(ROOT, "monitoring")
ALERTS = os.path.join(MON, "prometheus/kronos-alerts.yml")
SLO_RULES = os.path.join(MON, "prometheus/kronos-slo-rules.yml")
DASHBOARD = os.path.join(MON, "grafana/kronos-dashboard.json")
RUNBOOK = os.path.join(ROOT, "docs/RUNBOOK.md")

try:
    import yaml
except ImportError:  # python3-yaml is a Debian package; see scripts/install-deps.sh
    print("FAIL: python3-yaml is not installed (apt-get install python3-yaml)")
    sys.exit(1)

# The metric contract of SPEC §3: name -> (type, label names). process_* come from the process collector.
METRICS = {
    "kronos_requests_total": ("counter", {"route", "status"}),
    "kronos_request_duration_seconds": ("histogram", {"route"}),
    "kronos_model_inference_seconds": ("histogram", {"endpoint"}),
    "kronos_concurrent_requests": ("gauge", set()),
    "kronos_timeouts_total": ("counter", {"endpoint"}),
    "kronos_prediction_input_size": ("histogram", {"endpoint"}),
    "kronos_security_events_total": ("counter", {"event", "container"}),
    "kronos_rate_limit_hits_total": ("counter", {"container"}),
    "kronos_request_size_rejections_total": ("counter", {"container"}),
    "kronos_queue_depth": ("gauge", set()),
    "kronos_queue_capacity": ("gauge", set()),
    "kronos_queue_wait_seconds": ("histogram", {"endpoint"}),
    "kronos_batch_items": ("histogram", set()),
    "kronos_predicted_points_total": ("counter", {"endpoint"}),
    "kronos_request_size_bytes": ("histogram", {"route"}),
    "kronos_response_size_bytes": ("histogram", {"route"}),
    "kronos_model_loaded": ("gauge", set()),
    "kronos_model_load_seconds": ("gauge", set()),
    "kronos_model_load_failures_total": ("counter", set()),
    "kronos_model_info": ("gauge", {"engine", "model", "tokenizer", "max_context"}),
    "kronos_build_info": ("gauge", {"version", "revision", "compiler"}),
    "process_cpu_seconds_total": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_virtual_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_max_fds": ("gauge", set()),
    "process_start_time_seconds": ("gauge", set()),
    "process_threads": ("gauge", set()),
    # kronosd's reading of its own memory limit (cgroup, else MemTotal), beside the process_* family
    "kronos_memory_limit_bytes": ("gauge", set()),
    # span export over OTLP (SPEC §2 OTEL_*; docs/OBSERVABILITY.md, "Tracing")
    "kronos_trace_spans_dropped_total": ("counter", set()),
    "kronos_trace_export_failures_total": ("counter", set()),
    "kronos_trace_spans_exported_total": ("counter", set()),
}
ROUTES = {"/", "/v1/healthz", "/v1/readyz", "/v1/healthz/detailed", "/v1/predict/single",
          "/v1/predict/batch", "/v1/metrics", "other"}
LABEL_VALUES = {
    "route": ROUTES,
    "status": {"success", "invalid", "rate_limited", "unavailable", "timeout", "cancelled", "error"},
    # the route path, as the FastAPI service's guide queries it (SPEC §3)
    "endpoint": {"/v1/predict/single", "/v1/predict/batch"},
    "event": {"unauthorized", "blocked", "invalid_api_key", "rate_limited", "oversized"},
}
# Labels Prometheus adds to every scraped series, and those a Kubernetes or global setup adds.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "cluster", "service"}


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def rules(path):
    return [r for g in load_yaml(path)["groups"] for r in g["rules"]]


def run(cmd, **kw):
    """Run a command, return (exit code, stdout+stderr)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    return p.returncode, p.stdout


class Failures:
    """Collects failed checks so that one run reports all of them."""

    def __init__(self):
        self.items = []

    def check(self, ok, message):
        if not ok:
            self.items.append(message)
        return ok

    def finish(self, what):
        for m in self.items:
            print("FAIL:", m)
        if self.items:
            print(f"{what}: {len(self.items)} failure(s)")
            sys.exit(1)
        print(f"{what}: ok")
        sys.exit(0)


# ---------------------------------------------------------------- PromQL inspection
_SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_KEYWORDS = {"sum", "by", "without", "rate", "irate", "increase", "histogram_quantile", "and", "or", "unless",
             "on", "ignoring", "group_left", "group_right", "max", "min", "avg", "count", "absent", "offset",
             "max_over_time", "min_over_time", "avg_over_time", "time", "vector", "bool", "le", "topk",
             "label_values", "clamp_min", "clamp_max", "abs", "humanize"}


def metric_refs(expr):
    """(metric name, {label: (op, value)}) for every series selector in a PromQL expression."""
    out = []
    text = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace("(", " ").replace(")", " "), expr)
    for m in _SELECTOR.finditer(text):
        name, braces = m.group(1), m.group(2)
        if name in _KEYWORDS or not (name.startswith(("kronos", "process_")) or name == "up"):
            continue
        end = m.end(1)
        if text[end:].lstrip().startswith("(") and not braces:  # a function call
            continue
        matchers = {k: (op, v) for k, op, v in _MATCHER.findall(braces or "")}
        out.append((name, matchers))
    return out


def base_metric(name):
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and METRICS.get(name[: -len(suffix)], ("",))[0] == "histogram":
            return name[: -len(suffix)], suffix
    return name, ""


def check_against_contract(expr, where, fails, recorded=()):
    """Every metric and label matcher in expr must exist in the contract (or be a recording rule)."""
    for name, matchers in metric_refs(expr):
        if name in recorded or name == "up":
            continue
        base, suffix = base_metric(name)
        if not fails.check(base in METRICS, f"{where}: metric {name} is not in the contract"):
            continue
        allowed = METRICS[base][1] | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set())
        for label, (op, value) in matchers.items():
            fails.check(label in allowed, f"{where}: {name} has no label {label!r}")
            if label in LABEL_VALUES and op in ("=", "=~") and "$" not in value:
                alternatives = value.split("|") if op == "=~" else [value]
                for alt in alternatives:
                    plain = alt.replace("\\\\.", ".")
                    if re.fullmatch(r"[A-Za-z0-9_/\-.]+", plain):
                        fails.check(plain in LABEL_VALUES[label],
                                    f"{where}: {label}={plain!r} is not a value kronosd emits")


def top_level_split(expr, op):
    """Split expr at operator op where it is not inside parentheses, braces or brackets."""
    parts, depth, start, i = [], 0, 0, 0
    in_str = False
    while i < len(expr):
        c = expr[i]
        if c == '"' and (i == 0 or expr[i - 1] != "\\"):
            in_str = not in_str
        elif not in_str:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif depth == 0 and expr.startswith(op, i):
                parts.append(expr[start:i])
                start = i + len(op)
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def histogram_quantile_args(expr):
    """The argument text of every histogram_quantile(...) call."""
    out = []
    for m in re.finditer(r"histogram_quantile\s*\(", expr):
        depth, i = 1, m.end()
        while i < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            i += 1
        out.append(expr[m.end(): i - 1])
    return out


def quantile_has_le(arg):
    """A histogram_quantile argument keeps the le label: aggregated by (..., le ...) or not aggregated."""
    aggs = re.findall(r"\b(sum|max|min|avg)\s*(by\s*\(([^)]*)\))?\s*\(", arg)
    if not aggs:
        return True
    for _, by, labels in aggs:
        if not by or "le" not in [x.strip() for x in labels.split(",")]:
            return False
    return True


# ---------------------------------------------------------------- dashboard
def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_panels(d):
    for p in d["panels"]:
        yield p
        for inner in p.get("panels", []):
            yield inner


def substitute(expr, job="kronos-api", instance=".*", rate_interval="1m", **others):
    """A panel query with the dashboard variables replaced as Grafana would (All = .*)."""
    expr = expr.replace("$__rate_interval", rate_interval).replace("$job", job).replace("$instance", instance)
    for name in ("cluster", "namespace", "endpoint", "status"):
        expr = expr.replace("$" + name, others.get(name, ".*"))
    return expr
