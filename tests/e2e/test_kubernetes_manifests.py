"""Kubernetes manifests: the PrometheusRule holds exactly the rule groups of the two rule files, passes
promtool, and the ServiceMonitor / PodMonitor scrape /v1/metrics under job kronos-api."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

KUBE = os.path.join(k.MON, "kubernetes")


def main():
    fails = k.Failures()
    pr = k.load_yaml(os.path.join(KUBE, "kronos-prometheusrule.yaml"))
    fails.check(pr.get("apiVersion") == "monitoring.coreos.com/v1" and pr.get("kind") == "PrometheusRule",
                "kronos-prometheusrule.yaml is not a monitoring.coreos.com/v1 PrometheusRule")
    expected = k.load_yaml(k.ALERTS)["groups"] + k.load_yaml(k.SLO_RULES)["groups"]
    got = pr.get("spec", {}).get("groups", [])
    fails.check([g["name"] for g in got] == [g["name"] for g in expected],
                f"PrometheusRule groups {[g['name'] for g in got]} != rule files {[g['name'] for g in expected]}")
    for want, have in zip(expected, got):
        fails.check(want == have, f"PrometheusRule group {want['name']} differs from the rule file")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(k.yaml.safe_dump({"groups": got}))
    try:
        rc, out = k.run(["promtool", "check", "rules", f.name])
        fails.check(rc == 0, f"promtool check rules on the PrometheusRule groups:\n{out}")
    finally:
        os.unlink(f.name)
    for fname, kind, key in (("kronos-servicemonitor.yaml", "ServiceMonitor", "endpoints"),
                             ("kronos-podmonitor.yaml", "PodMonitor", "podMetricsEndpoints")):
        doc = k.load_yaml(os.path.join(KUBE, fname))
        fails.check(doc.get("kind") == kind and doc.get("apiVersion") == "monitoring.coreos.com/v1",
                    f"{fname}: not a monitoring.coreos.com/v1 {kind}")
        eps = doc.get("spec", {}).get(key) or []
        fails.check(eps, f"{fname}: no {key}")
        for ep in eps:
            fails.check(ep.get("path") == "/v1/metrics", f"{fname}: path must be /v1/metrics")
            fails.check(any(r.get("targetLabel") == "job" and r.get("replacement") == "kronos-api"
                            for r in ep.get("relabelings", [])), f"{fname}: job is not set to kronos-api")
        fails.check(doc["spec"].get("selector", {}).get("matchLabels"), f"{fname}: no selector")
    print(f"PrometheusRule: {len(got)} groups, {sum(len(g['rules']) for g in got)} rules")
    fails.finish("kubernetes manifests")


if __name__ == "__main__":
    main()
