"""Lint of monitoring/grafana/kronos-dashboard.json: the mistakes the older dashboard made cannot return.

Valid JSON and fresh against scripts/gen-dashboard.py; fixed uid; __requires consistent with
schemaVersion (the Grafana version that writes it, every panel type used listed); __inputs with
DS_PROMETHEUS; datasource/cluster/namespace/job/instance/endpoint/status variables; unique panel ids;
gridPos on every panel inside the 24-column grid without overlaps; a unit and a description on every
panel; every datasource reference templated; every rate/irate/increase over $__rate_interval; no
histogram_quantile without le; sum() on both sides of every ratio; only metrics and labels of the
contract; every query filtered by $cluster, $namespace, $job (and $instance, $endpoint, $status where the
labels exist); the p95 gauge on single predictions only; an instances panel, an alert list filtered on
service="kronosd", a deploy annotation from kronos_build_info, an error-budget row following the SLO
spec. The provisioned copy equals the imported one but resolves its data source without
${DS_PROMETHEUS}. The lint is also run on a deliberately broken panel to prove it catches each mistake.
"""
import copy
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

RECORDED = {r["record"] for r in k.rules(k.SLO_RULES) if "record" in r}
PROVISIONED = os.path.join(k.MON, "grafana/provisioning/dashboards/kronosd/kronos-dashboard.json")
# schemaVersion -> the Grafana versions that write it (a dashboard saved by 10.0 says 38).
SCHEMA_BY_GRAFANA = {36: ("9.0",), 37: ("9.1", "9.2", "9.3", "9.4", "9.5"), 38: ("10.0", "10.1", "10.2"),
                     39: ("10.3", "10.4", "11.0")}
VARIABLES = ("cluster", "namespace", "job", "instance", "endpoint", "status")
AGGREGATIONS = ("sum", "max", "min", "avg", "count", "histogram_quantile", "time()")


def templated(ds):
    return isinstance(ds, dict) and str(ds.get("uid", "")).startswith("$")


def lint_expr(expr, where, fails):
    for m in re.finditer(r"\b(rate|irate|increase)\s*\(", expr):
        window = re.match(r"[^\[]*\[([^\]]*)\]", expr[m.end():])
        fails.check(window and window.group(1) == "$__rate_interval",
                    f"{where}: {m.group(1)}() must use [$__rate_interval]")
    fails.check(not re.search(r"\[\d+[smhdw]\]", expr), f"{where}: fixed range window in {expr!r}")
    for arg in k.histogram_quantile_args(expr):
        fails.check(k.quantile_has_le(arg), f"{where}: histogram_quantile without le: {arg!r}")
    sides = k.top_level_split(expr, "/")
    if len(sides) > 1:
        for side in sides:
            ok = side.startswith(AGGREGATIONS) or side.split("{")[0] in RECORDED or re.fullmatch(r"[\d.]+", side)
            fails.check(ok, f"{where}: ratio operand is not aggregated with sum(): {side!r}")
    refs = k.metric_refs(expr)
    fails.check(refs, f"{where}: no metric in {expr!r}")
    for name, matchers in refs:
        for var in ("cluster", "namespace", "job"):
            fails.check(matchers.get(var, ("", ""))[1] == "$" + var, f"{where}: {name} ignores ${var}")
        if name not in RECORDED:
            fails.check(matchers.get("instance", ("", ""))[1] == "$instance", f"{where}: {name} ignores $instance")
        base, _ = k.base_metric(name)
        labels = k.METRICS.get(base, ("", set()))[1]
        for label in ("route", "endpoint"):
            if label in labels:
                fails.check(label in matchers, f"{where}: {name} not filtered by {label} ($endpoint or fixed)")
        if "status" in labels and "status" in matchers and "$" not in matchers["status"][1]:
            pass  # a fixed status class (error ratio, admitted requests) is deliberate
        elif "status" in labels:
            fails.check(matchers.get("status", ("", ""))[1] == "$status", f"{where}: {name} ignores $status")
    k.check_against_contract(expr, where, fails, recorded=RECORDED)


def lint(d):
    fails = k.Failures()
    fails.check(d.get("uid") == "kronosd-overview", "uid must stay kronosd-overview (links depend on it)")
    fails.check(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36, "schemaVersion must be >= 36")
    requires = {r.get("id"): r for r in d.get("__requires", [])}
    grafana = requires.get("grafana", {}).get("version", "")
    fails.check(grafana.startswith(SCHEMA_BY_GRAFANA.get(d.get("schemaVersion"), ("?",))),
                f"__requires says Grafana {grafana!r} but schemaVersion {d.get('schemaVersion')} is written by "
                f"{SCHEMA_BY_GRAFANA.get(d.get('schemaVersion'))}")
    used = {p.get("type") for p in k.dashboard_panels(d) if p.get("type") != "row"}
    panel_reqs = {r["id"] for r in d.get("__requires", []) if r.get("type") == "panel"}
    fails.check(used == panel_reqs, f"__requires lists panels {sorted(panel_reqs)}, the dashboard uses {sorted(used)}")
    inputs = d.get("__inputs", [])
    fails.check(any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in inputs),
                "__inputs must declare DS_PROMETHEUS (prometheus)")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    fails.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
                "variable datasource must be of type datasource, query prometheus")
    for name in VARIABLES:
        v = variables.get(name)
        if fails.check(v is not None, f"variable {name} missing"):
            fails.check(templated(v.get("datasource")), f"variable {name}: datasource not templated")
            if name != "job":
                fails.check(v.get("includeAll") and v.get("allValue") == ".*",
                            f"variable {name}: All must be .* (matches series without the label too)")
    titles = {p.get("title"): p for p in k.dashboard_panels(d)}
    fails.check(any(p.get("type") == "alertlist" and 'service="kronosd"' in p.get("options", {}).get(
        "alertInstanceLabelFilter", "") for p in titles.values()), "no alert list filtered on service=kronosd")
    fails.check(any("up{" in t.get("expr", "") for p in titles.values() for t in p.get("targets", [])),
                "no up/instances panel")
    gauge = titles.get("p95 single-prediction latency", {})
    fails.check(all('route="/v1/predict/single"' in t["expr"] for t in gauge.get("targets", [{"expr": ""}])),
                "the p95 gauge must show single predictions only (not scrapes, probes or batches)")
    budget = [p for p in titles.values() if "kronos:slo_error_budget_remaining:ratio30d" in json.dumps(p.get("targets"))]
    fails.check(budget, "no 30-day error budget panel")
    spec = k.load_yaml(os.path.join(k.MON, "slo/kronos-slos.yml"))
    for slo in spec["slos"]:
        panel = next((p for t, p in titles.items() if t and t.startswith(f"SLI {slo['name']} ")), None)
        if fails.check(panel, f"no SLI panel for slo {slo['name']}"):
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            fails.check(any(st.get("value") == slo["objective"] for st in steps) and
                        panel["fieldConfig"]["defaults"].get("custom", {}).get("thresholdsStyle", {}).get("mode") == "line",
                        f"SLI panel of {slo['name']}: no objective line at {slo['objective']}")
    burn = next((p for t, p in titles.items() if t and t.startswith("Burn rate")), {})
    factors = {st.get("value") for st in burn.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])}
    fails.check({t["factor"] for t in spec["burn_rates"]} <= factors, f"burn-rate panel lacks the tier lines: {factors}")
    deploys = [a for a in d.get("annotations", {}).get("list", []) if "kronos_build_info" in a.get("expr", "")]
    if fails.check(deploys, "no deploy annotation from kronos_build_info"):
        fails.check(templated(deploys[0].get("datasource")), "deploy annotation: datasource not templated")
        lint_expr(deploys[0]["expr"], "deploy annotation", fails)
    ids, cells = set(), {}
    for p in k.dashboard_panels(d):
        where = f"panel {p.get('id')} {p.get('title')!r}"
        fails.check(isinstance(p.get("id"), int) and p["id"] not in ids, f"{where}: id missing or repeated")
        ids.add(p.get("id"))
        g = p.get("gridPos")
        if fails.check(isinstance(g, dict) and all(isinstance(g.get(c), int) for c in "hwxy"),
                       f"{where}: gridPos with h, w, x, y required"):
            fails.check(g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, f"{where}: outside the 24-column grid")
            for y in range(g["y"], g["y"] + g["h"]):
                for x in range(g["x"], g["x"] + g["w"]):
                    other = cells.setdefault((x, y), p.get("id"))
                    if other != p.get("id"):
                        fails.check(False, f"{where}: overlaps panel {other}")
                        break
                else:
                    continue
                break
        if p.get("type") == "row":
            continue
        if p.get("type") == "alertlist":
            fails.check(bool(p.get("description", "").strip()), f"{where}: no description")
            continue
        fails.check(bool(p.get("description", "").strip()), f"{where}: no description")
        fails.check(bool(p.get("fieldConfig", {}).get("defaults", {}).get("unit")), f"{where}: no unit")
        fails.check(templated(p.get("datasource")), f"{where}: datasource not templated")
        targets = p.get("targets") or []
        fails.check(targets, f"{where}: no queries")
        for t in targets:
            tw = f"{where} {t.get('refId')}"
            fails.check(templated(t.get("datasource", p.get("datasource"))), f"{tw}: datasource not templated")
            lint_expr(t.get("expr", ""), tw, fails)
    return fails


def self_test(d):
    """Break a copy of the dashboard in each way the lint must notice."""
    broken = copy.deepcopy(d)
    panel = next(p for p in broken["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = (
        'histogram_quantile(0.95, sum(rate(kronos_request_duration_seconds_bucket{job=~"$job"}[5m]))) '
        '+ rate(kronos_requests_total{cluster=~"$cluster", namespace=~"$namespace", job=~"$job", '
        'instance=~"$instance", route=~"$endpoint", status="failed"}[5m]) '
        '/ kronos_requests_total{cluster=~"$cluster", namespace=~"$namespace", job=~"$job", instance=~"$instance", '
        'route=~"$endpoint"} + kronos_never_written')
    panel["datasource"] = {"type": "prometheus", "uid": "abc123"}
    del panel["description"]
    broken["panels"][2]["id"] = broken["panels"][1]["id"]
    broken["panels"][3].pop("gridPos")
    found = "\n".join(lint(broken).items)
    expected = ["must use [$__rate_interval]", "histogram_quantile without le", "not aggregated with sum()",
                "kronos_never_written is not in the contract", "'failed' is not a value", "datasource not templated",
                "no description", "id missing or repeated", "gridPos with h, w, x, y required",
                "kronos_request_duration_seconds_bucket ignores $instance",
                "kronos_request_duration_seconds_bucket ignores $namespace", "kronos_requests_total ignores $status"]
    return [e for e in expected if e not in found]


def main():
    rc, out = k.run([sys.executable, os.path.join(k.ROOT, "scripts/gen-dashboard.py"), "--check"])
    d = k.dashboard()
    fails = lint(d)
    fails.check(rc == 0, f"dashboard JSON is stale or the generator failed: {out.strip()}")
    with open(PROVISIONED) as f:
        prov = json.load(f)
    fails.check("${DS_" not in json.dumps(prov), "the provisioned copy still needs the import-time ${DS_PROMETHEUS}")
    fails.check("__inputs" not in prov, "the provisioned copy declares __inputs (an import step provisioning skips)")
    ds_var = next((v for v in prov["templating"]["list"] if v["name"] == "datasource"), {})
    fails.check(ds_var.get("current", {}).get("value") == "prometheus",
                f"provisioned data source variable starts on {ds_var.get('current')}, want uid prometheus")
    same = copy.deepcopy(d)
    same.pop("__inputs", None)
    for v in same["templating"]["list"]:
        if v["name"] == "datasource":
            v["current"] = ds_var.get("current")
    fails.check(same == prov, "the provisioned copy differs from the dashboard beyond its data source")
    missed = self_test(d)
    fails.check(not missed, f"lint self-test: broken dashboard not caught for {missed}")
    n = sum(1 for p in k.dashboard_panels(d) if p.get("type") != "row")
    print(f"{n} panels, {sum(len(p.get('targets', [])) for p in d['panels'])} queries checked")
    fails.finish("dashboard lint")


if __name__ == "__main__":
    main()
