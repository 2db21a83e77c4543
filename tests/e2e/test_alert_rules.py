"""Alert and SLO rules: promtool check + promtool unit tests, and that the tests and docs cover them.

- promtool check rules on kronos-alerts.yml and kronos-slo-rules.yml;
- promtool test rules on tests/e2e/rules/*.test.yml;
- every alert has a unit-test case where it fires and one where it must stay quiet;
- every alert carries severity (critical/warning/info), summary, description and a runbook_url that
  points at an existing section of docs/RUNBOOK.md, all with the same repository prefix;
- groups kronos_api_alerts and kronos_resource_alerts hold the alerts users know, each with its tier;
- every alert carries service=kronosd and a team (routing in a shared Alertmanager);
- no rule aggregates away namespace/pod/cluster by accident: `by (...)` lists cluster and namespace;
- every scenario of issue 13 has a promtool test named "scenario: ...";
- every metric and label matcher exists in the metric contract (no alerts on metrics never written).
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

# critical pages, warning is a ticket, info is for the record.
EXPECTED_ALERTS = {
    "KronosServiceDown": "critical", "KronosTargetMissing": "critical", "KronosHighErrorRate": "critical",
    "KronosAllPredictionsFailing": "critical", "KronosModelLoadFailed": "critical",
    "KronosModelNotLoaded": "critical", "KronosCrashLooping": "critical", "KronosSyntheticCheckFailed": "critical",
    "KronosInstanceDown": "warning", "KronosHighLatency": "warning", "KronosHighTimeoutRate": "warning",
    "KronosHighMemoryUsage": "warning", "KronosFileDescriptorsNearLimit": "warning",
    "KronosExcessiveRateLimiting": "warning", "KronosQueueSaturation": "warning",
    "KronosSlowInference": "info", "KronosLowThroughput": "info", "KronosSecurityEvents": "info",
    "KronosContainerMemoryNearLimit": "warning", "KronosCPUThrottled": "warning", "KronosModelVolumeLow": "warning",
}
# The SRE review's scenarios (issue 13): each is a promtool test whose name starts with "scenario:" and
# contains these words.
SCENARIOS = ["idle service", "one of three replicas down", "4xx burst", "slow trickle of 5xx",
             "80% 503 shedding", "429 retry storm", "batch-heavy", "single-prediction latency breach",
             "low traffic failing 100%", "crash loop", "pod replacement and traffic moving between replicas",
             "operator labels are not renamed", "staging and production"]
TEST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules")


def github_anchors(markdown_path):
    anchors = set()
    with open(markdown_path) as f:
        for line in f:
            m = re.match(r"#{1,6}\s+(.*)", line)
            if m:
                slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
                anchors.add(slug)
    return anchors


def test_coverage(all_alerts, fails):
    firing, quiet, names = set(), set(), []
    for path in glob.glob(os.path.join(TEST_DIR, "*.test.yml")):
        for test in k.load_yaml(path)["tests"]:
            names.append(test.get("name", ""))
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    for name in sorted(all_alerts):
        fails.check(name in firing, f"{name}: no unit test where it fires")
        fails.check(name in quiet, f"{name}: no unit test where it must stay quiet")
    scenario_names = [n.lower() for n in names if n.lower().startswith("scenario:")]
    for sc in SCENARIOS:
        fails.check(any(sc.lower() in n for n in scenario_names), f"no promtool scenario test for {sc!r}")


def main():
    fails = k.Failures()
    for path in (k.ALERTS, k.SLO_RULES):
        rc, out = k.run(["promtool", "check", "rules", path])
        fails.check(rc == 0, f"promtool check rules {os.path.basename(path)}:\n{out}")
    tests = sorted(glob.glob(os.path.join(TEST_DIR, "*.test.yml")))
    fails.check(len(tests) >= 2, "unit-test files missing")
    for path in tests:
        rc, out = k.run(["promtool", "test", "rules", os.path.basename(path)], cwd=TEST_DIR)
        fails.check(rc == 0, f"promtool test rules {os.path.basename(path)}:\n{out}")

    groups = k.load_yaml(k.ALERTS)["groups"]
    fails.check([g["name"] for g in groups] == ["kronos_api_alerts", "kronos_resource_alerts"],
                "kronos-alerts.yml must hold groups kronos_api_alerts and kronos_resource_alerts")
    alert_rules = [r for r in k.rules(k.ALERTS) + k.rules(k.SLO_RULES) if "alert" in r]
    names = {r["alert"] for r in alert_rules}
    for name, severity in EXPECTED_ALERTS.items():
        rule = next((r for r in alert_rules if r["alert"] == name), None)
        if fails.check(rule is not None, f"alert {name} missing"):
            fails.check(rule["labels"].get("severity") == severity, f"{name}: severity must be {severity}")

    anchors = github_anchors(k.RUNBOOK) if os.path.exists(k.RUNBOOK) else set()
    fails.check(anchors, "docs/RUNBOOK.md missing or without sections")
    prefixes = set()
    recorded = {r["record"] for r in k.rules(k.SLO_RULES) if "record" in r}
    for r in alert_rules:
        where = f"alert {r['alert']}"
        fails.check(r.get("labels", {}).get("severity") in ("critical", "warning", "info"), f"{where}: bad severity")
        fails.check(r.get("labels", {}).get("service") == "kronosd" and r.get("labels", {}).get("team"),
                    f"{where}: labels service=kronosd and team are needed to route in a shared Alertmanager")
        for by in re.findall(r"\bby\s*\(([^)]*)\)", r["expr"]):
            keys = {x.strip() for x in by.split(",")}
            fails.check({"cluster", "namespace"} <= keys,
                        f"{where}: `by ({by})` drops namespace/cluster; aggregate with without(...) or keep them")
        ann = r.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            fails.check(bool(ann.get(key, "").strip()), f"{where}: annotation {key} missing")
        url = ann.get("runbook_url", "")
        base, _, anchor = url.partition("#")
        prefixes.add(base)
        fails.check(base.endswith("/docs/RUNBOOK.md"), f"{where}: runbook_url must point at docs/RUNBOOK.md")
        fails.check(anchor in anchors, f"{where}: runbook anchor #{anchor} is not a section of docs/RUNBOOK.md")
        k.check_against_contract(r["expr"], where, fails, recorded=recorded)
    fails.check(len(prefixes) == 1, f"runbook_url prefixes differ: {sorted(prefixes)}")
    for r in k.rules(k.SLO_RULES):
        if "record" in r:
            k.check_against_contract(r["expr"], f"record {r['record']}", fails, recorded=recorded)
    test_coverage(names, fails)
    print(f"{len(alert_rules)} alert rules ({len(names)} names), {len(tests)} unit-test files")
    fails.finish("alert rules")


if __name__ == "__main__":
    main()
