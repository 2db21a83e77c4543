"""Lint of monitoring/grafana/kronos-dashboard.json: the mistakes the older dashboard made cannot return.

Valid JSON and fresh against scripts/gen-dashboard.py; fixed uid, schemaVersion >= 36, __inputs with
DS_PROMETHEUS; datasource/job/instance/route variables; unique panel ids; gridPos on every panel inside
the 24-column grid without overlaps; a unit and a description on every panel; every datasource reference
templated; every rate/irate/increase over $__rate_interval; no histogram_quantile without le; sum() on
both sides of every ratio; only metrics and labels of the contract; the variables used. The lint is also
run on a deliberately broken panel to prove it catches each mistake.
"""
import copy
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

RECORDED = {r["record"] for r in k.rules(k.SLO_RULES) if "record" in r}
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
        fails.check(matchers.get("job", ("", ""))[1] == "$job", f"{where}: {name} ignores $job")
        if name not in RECORDED:
            fails.check(matchers.get("instance", ("", ""))[1] == "$instance", f"{where}: {name} ignores $instance")
        base, _ = k.base_metric(name)
        if "route" in k.METRICS.get(base, ("", set()))[1]:
            fails.check("route" in matchers, f"{where}: {name} not filtered by route ($route or fixed)")
    k.check_against_contract(expr, where, fails, recorded=RECORDED)


def lint(d):
    fails = k.Failures()
    fails.check(d.get("uid") == "kronosd-overview", "uid must stay kronosd-overview (links depend on it)")
    fails.check(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36, "schemaVersion must be >= 36")
    inputs = d.get("__inputs", [])
    fails.check(any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in inputs),
                "__inputs must declare DS_PROMETHEUS (prometheus)")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    fails.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
                "variable datasource must be of type datasource, query prometheus")
    for name in ("job", "instance", "route"):
        v = variables.get(name)
        if fails.check(v is not None, f"variable {name} missing"):
            fails.check(templated(v.get("datasource")), f"variable {name}: datasource not templated")
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
    panel = next(p for p in broken["panels"] if p["type"] != "row")
    panel["targets"][0]["expr"] = (
        'histogram_quantile(0.95, sum(rate(kronos_request_duration_seconds_bucket{job=~"$job"}[5m]))) '
        '+ rate(kronos_requests_total{job=~"$job", instance=~"$instance", route=~"$route", status="failed"}[5m]) '
        '/ kronos_requests_total{job=~"$job", instance=~"$instance", route=~"$route"} + kronos_never_written')
    panel["datasource"] = {"type": "prometheus", "uid": "abc123"}
    del panel["description"]
    broken["panels"][2]["id"] = broken["panels"][1]["id"]
    broken["panels"][3].pop("gridPos")
    found = "\n".join(lint(broken).items)
    expected = ["must use [$__rate_interval]", "histogram_quantile without le", "not aggregated with sum()",
                "kronos_never_written is not in the contract", "'failed' is not a value", "datasource not templated",
                "no description", "id missing or repeated", "gridPos with h, w, x, y required",
                "kronos_request_duration_seconds_bucket ignores $instance"]
    return [e for e in expected if e not in found]


def main():
    rc, out = k.run([sys.executable, os.path.join(k.ROOT, "scripts/gen-dashboard.py"), "--check"])
    d = k.dashboard()
    fails = lint(d)
    fails.check(rc == 0, f"dashboard JSON is stale or the generator failed: {out.strip()}")
    missed = self_test(d)
    fails.check(not missed, f"lint self-test: broken dashboard not caught for {missed}")
    n = sum(1 for p in k.dashboard_panels(d) if p.get("type") != "row")
    print(f"{n} panels, {sum(len(p.get('targets', [])) for p in d['panels'])} queries checked")
    fails.finish("dashboard lint")


if __name__ == "__main__":
    main()
