#!/usr/bin/python3
"""Generate the SLO rules and the Kubernetes PrometheusRule from their sources.

  monitoring/slo/kronos-slos.yml           -> monitoring/prometheus/kronos-slo-rules.yml
  kronos-alerts.yml + kronos-slo-rules.yml -> monitoring/kubernetes/kronos-prometheusrule.yaml

Usage: gen-slo-rules.py [--check]
  --check  write nothing; exit 1 and name the stale files when a generated file differs.

Needs python3-yaml (Debian package) and runs with /usr/bin/python3.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "monitoring/slo/kronos-slos.yml")
ALERTS = os.path.join(ROOT, "monitoring/prometheus/kronos-alerts.yml")
SLO_RULES = os.path.join(ROOT, "monitoring/prometheus/kronos-slo-rules.yml")
PROMETHEUS_RULE = os.path.join(ROOT, "monitoring/kubernetes/kronos-prometheusrule.yaml")

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The values of kronos_requests_total's status label (SPEC §3).
STATUSES = ("success", "invalid", "rate_limited", "unavailable", "timeout", "cancelled", "error")
# Bucket boundaries of kronosd's latency histograms (SPEC §3). A latency threshold between two
# boundaries matches no `le` series: the SLI would count nothing as good and its alerts never fire.
_INFERENCE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
BUCKETS = {
    "kronos_request_duration_seconds": (0.005,) + _INFERENCE_BUCKETS,
    "kronos_model_inference_seconds": _INFERENCE_BUCKETS,
    "kronos_queue_wait_seconds": _INFERENCE_BUCKETS,
}
BUDGET_WINDOW = "30d"


class SpecError(Exception):
    pass


def seconds(duration):
    m = re.fullmatch(r"(\d+)([smhdw])", str(duration))
    if not m:
        raise SpecError(f"bad duration {duration!r} (want e.g. 5m, 1h, 3d)")
    return int(m.group(1)) * DURATION_UNITS[m.group(2)]


def le_regex(threshold):
    """Match the bucket label however the exporter spells the number (5, 5.0, 0.25)."""
    value = float(threshold)
    spellings = {repr(value)}
    if value.is_integer():
        spellings.add(str(int(value)))
    return "|".join(re.escape(s).replace("\\", "\\\\") for s in sorted(spellings))


def status_matches(template):
    """(operator, [values]) of every status matcher in a series template."""
    return [(op, value.split("|"))
            for op, value in re.findall(r'\bstatus\s*(=~|!~|!=|=)\s*"([^"]*)"', template)]


def check_statuses(name, slo):
    """A status kronosd never emits would silently match nothing (an old spec's `rejected`, say)."""
    positive = {}
    for key in ("total", "errors"):
        for op, values in status_matches(slo.get(key, "")):
            for v in values:
                if v not in STATUSES:
                    hint = (" (it was split into rate_limited and unavailable: docs/OBSERVABILITY.md)"
                            if v == "rejected" else "")
                    raise SpecError(f"slo {name}: {key} matches status {v!r}, which kronosd does not "
                                    f"emit{hint}; known: {', '.join(STATUSES)}")
            if op in ("=", "=~"):
                positive[key] = set(values)
    bad, total = positive.get("errors"), positive.get("total")
    if bad is not None and total is not None and not bad <= total:
        raise SpecError(f"slo {name}: errors count statuses the total leaves out: {sorted(bad - total)}")


def check_threshold(name, slo):
    histogram = slo.get("histogram")
    if histogram not in BUCKETS:
        raise SpecError(f"slo {name}: histogram {histogram!r} is not a latency histogram of kronosd "
                        f"({', '.join(BUCKETS)})")
    threshold = slo.get("threshold_seconds")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        raise SpecError(f"slo {name}: threshold_seconds must be a number")
    if not any(abs(threshold - b) < 1e-12 for b in BUCKETS[histogram]):
        raise SpecError(f"slo {name}: threshold_seconds {threshold:g} is not a bucket boundary of "
                        f"{histogram}, so no `le` series matches it and the SLI would never count a "
                        f"request as good or bad; use one of {', '.join(f'{b:g}' for b in BUCKETS[histogram])}")


def camel(name):
    return "".join(part.capitalize() for part in re.split(r"[_\-]", name))


class LiteralDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


LiteralDumper.add_representer(str, _str_presenter)


def dump(doc):
    return yaml.dump(doc, Dumper=LiteralDumper, sort_keys=False, width=1000, default_flow_style=False)


def validate(spec):
    for key in ("service", "selector", "aggregate_by", "slos", "burn_rates", "min_requests"):
        if key not in spec:
            raise SpecError(f"spec lacks {key!r}")
    names = set()
    for slo in spec["slos"]:
        name = slo.get("name", "")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in names:
            raise SpecError(f"slo name {name!r} is empty, not [a-z0-9_] or repeated")
        names.add(name)
        objective = slo.get("objective")
        if not isinstance(objective, (int, float)) or not 0 < objective < 1:
            raise SpecError(f"slo {name}: objective must be in (0, 1)")
        if "total" not in slo:
            raise SpecError(f"slo {name}: total missing")
        kind = slo.get("kind")
        if kind == "ratio":
            if "errors" not in slo:
                raise SpecError(f"slo {name}: a ratio SLO needs errors")
        elif kind == "latency":
            check_threshold(name, slo)
        else:
            raise SpecError(f"slo {name}: kind must be ratio or latency, not {kind!r}")
        check_statuses(name, slo)
    for tier in spec["burn_rates"]:
        if seconds(tier["short"]) >= seconds(tier["long"]):
            raise SpecError(f"burn rate {tier['factor']}: short window must be shorter than long")
        if tier["severity"] not in ("critical", "warning", "info"):
            raise SpecError(f"burn rate {tier['factor']}: unknown severity {tier['severity']}")


def bad_rate(spec, slo, by, window):
    """Bad events per second of an SLO over a window, aggregated by `by`."""
    fill = {"selector": spec["selector"]}
    if slo["kind"] == "ratio":
        return f"sum by ({by}) (rate({slo['errors'] % fill}[{window}]))"
    series = f"{slo['histogram']}_%s{{{spec['selector']}, {slo['matchers']}%s}}"
    return (f"(\n  sum by ({by}) (rate({series % ('count', '')}[{window}]))\n  -\n"
            f"  sum by ({by}) (rate({series % ('bucket', ', le=~' + chr(34) + le_regex(slo['threshold_seconds']) + chr(34))}[{window}]))\n)")


def slo_rules(spec):
    by = ", ".join(spec["aggregate_by"])
    windows = sorted({w for t in spec["burn_rates"] for w in (t["long"], t["short"])} | {"5m"}, key=seconds)
    recording, alerts, budget_rules = [], [], []
    for slo in spec["slos"]:
        total = slo["total"] % {"selector": spec["selector"]}
        labels = {"slo": slo["name"]}
        budget = round(1 - slo["objective"], 10)
        sel = f'{{slo="{slo["name"]}"}}'
        for w in windows:
            recording.append({"record": f"kronos:slo_requests:rate{w}",
                              "expr": f"sum by ({by}) (rate({total}[{w}]))", "labels": dict(labels)})
            if w == "5m":
                recording.append({"record": "kronos:slo_bad:rate5m", "expr": bad_rate(spec, slo, by, w),
                                  "labels": dict(labels)})
            recording.append({"record": f"kronos:slo_errors:ratio_rate{w}",
                              "expr": f"{bad_rate(spec, slo, by, w)}\n/\nsum by ({by}) (rate({total}[{w}]))\n",
                              "labels": dict(labels)})
            recording.append({"record": f"kronos:slo_burn:rate{w}",
                              "expr": f"kronos:slo_errors:ratio_rate{w}{sel} / {budget:g}",
                              "labels": dict(labels)})
        # 30 days from the 5-minute rates recorded above: both sums run over the same evaluation
        # times, so the ratio weighs each moment by its traffic, at a fraction of the cost of
        # increase() over 30 days of raw counters.
        budget_rules.append({"record": f"kronos:slo_errors:ratio_rate{BUDGET_WINDOW}",
                             "expr": (f"sum_over_time(kronos:slo_bad:rate5m{sel}[{BUDGET_WINDOW}])\n/\n"
                                      f"sum_over_time(kronos:slo_requests:rate5m{sel}[{BUDGET_WINDOW}])\n"),
                             "labels": dict(labels)})
        budget_rules.append({"record": f"kronos:slo_error_budget_remaining:ratio{BUDGET_WINDOW}",
                             "expr": f"1 - kronos:slo_errors:ratio_rate{BUDGET_WINDOW}{sel} / {budget:g}",
                             "labels": dict(labels)})
        alert_name = f"Kronos{camel(slo['name'])}BudgetBurn"
        for tier in spec["burn_rates"]:
            long_w, short_w, factor = tier["long"], tier["short"], tier["factor"]
            expr = (f"kronos:slo_burn:rate{long_w}{sel} > {factor:g}\n"
                    f"and\nkronos:slo_burn:rate{short_w}{sel} > {factor:g}\n"
                    f"and\nkronos:slo_requests:rate{long_w}{sel} * {seconds(long_w)} >= {spec['min_requests']}\n")
            tier_name = "page" if tier["severity"] == "critical" else "ticket"
            alerts.append({
                "alert": alert_name,
                "expr": expr,
                "for": tier["for"],
                "labels": dict({"severity": tier["severity"], "slo": slo["name"],
                                "burn_rate": f"{factor:g}", "window": f"{long_w}/{short_w}"},
                               **spec.get("labels", {})),
                "annotations": {
                    "summary": (f"{spec['service']} {slo['name']} SLO burns its error budget "
                                f"{{{{ $value | humanize }}}}x too fast ({long_w}/{short_w} windows, {tier_name})"),
                    "description": (f"The {slo['name']} SLO ({slo['objective'] * 100:g}%) of job "
                                    f"{{{{ $labels.job }}}} has burned its error budget more than "
                                    f"{factor:g} times the sustainable rate over both the last {long_w} "
                                    f"and the last {short_w}. At this pace "
                                    f"{min(100.0, factor * seconds(long_w) / (30 * 86400) * 100):.3g}% of "
                                    f"a 30-day budget is gone in {long_w}. SLI: {' '.join(slo['description'].split())}"),
                    "runbook_url": f"{spec['runbook_base']}#{alert_name.lower()}",
                },
            })
    # One group: rules of a group run in order, so every alert and the 30-day budget see the
    # recording rules of the same evaluation. (Separate groups run concurrently: a budget group saw
    # the 5m rates one interval old in some evaluations and not in others, and its value changed
    # from run to run.) The budget reads a month of samples at the group's interval.
    return {"groups": [{"name": "kronos_slo", "rules": recording + budget_rules + alerts}]}


def prometheus_rule(groups):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "kronosd",
            "labels": {"app.kubernetes.io/name": "kronosd", "app.kubernetes.io/part-of": "kronosd",
                       # Most kube-prometheus-stack installs select rules by this label; match yours.
                       "release": "prometheus"},
        },
        "spec": {"groups": groups},
    }


HEADER_SLO = ("# GENERATED by scripts/gen-slo-rules.py from monitoring/slo/kronos-slos.yml. Do not edit:\n"
              "# edit the spec and run /usr/bin/python3 scripts/gen-slo-rules.py (CI fails when stale).\n")
HEADER_RULE = ("# GENERATED by scripts/gen-slo-rules.py from monitoring/prometheus/kronos-alerts.yml and\n"
               "# kronos-slo-rules.yml: the same rule groups for the Prometheus Operator. Do not edit by hand.\n")


def render():
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    validate(spec)
    slo_doc = slo_rules(spec)
    with open(ALERTS) as f:
        alert_doc = yaml.safe_load(f)
    groups = alert_doc["groups"] + slo_doc["groups"]
    return {SLO_RULES: HEADER_SLO + dump(slo_doc),
            PROMETHEUS_RULE: HEADER_RULE + dump(prometheus_rule(groups))}


def main(argv):
    check = "--check" in argv[1:]
    try:
        outputs = render()
    except (SpecError, KeyError, OSError, yaml.YAMLError) as e:
        print(f"gen-slo-rules: {e}", file=sys.stderr)
        return 2
    stale = []
    for path, text in outputs.items():
        try:
            with open(path) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if check and stale:
        print("stale generated files (run /usr/bin/python3 scripts/gen-slo-rules.py): " + ", ".join(stale))
        return 1
    if not check:
        for path in stale:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
