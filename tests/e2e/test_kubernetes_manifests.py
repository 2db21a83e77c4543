"""Kubernetes manifests: the PrometheusRule holds exactly the rule groups of the two rule files, passes
promtool, and the ServiceMonitor / PodMonitor scrape /v1/metrics under job kronos-api with
honorLabels: true and the operator's `container`/`endpoint` target labels dropped.

Then the label semantics, live: a real Prometheus scrapes the real kronosd with the scrape config the
Prometheus Operator generates from the ServiceMonitor (its target labels namespace, pod, service,
container and endpoint, then the manifest's honorLabels and relabelings). Two callers hit the rate
limit: their `container` labels must stay two callers, `endpoint` must stay the route path, no
`exported_*` label may appear, and the SLO recording rules must keep the namespace. A control job
without honorLabels and relabelings shows what the test would catch (exported_container appears).
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import fast_rules  # noqa: E402
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402

KUBE = os.path.join(k.MON, "kubernetes")
# What the operator puts on every target of a ServiceMonitor before the user's relabelings.
OPERATOR_TARGET_LABELS = {"namespace": "production", "pod": "kronosd-7d9f8-abcde", "service": "kronosd",
                          "container": "kronosd", "endpoint": "http"}


def snake(key):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def scrape_job(name, endpoint, port, honor, relabelings):
    """The scrape job the operator generates for one ServiceMonitor endpoint (service discovery
    replaced by a static target carrying the labels discovery would give it)."""
    job = {"job_name": name, "honor_labels": honor, "metrics_path": endpoint["path"],
           "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": dict(OPERATOR_TARGET_LABELS)}],
           "relabel_configs": [{snake(key): v for key, v in r.items()} for r in relabelings]}
    return job


def static_checks(fails):
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
    endpoints = {}
    for fname, kind, key in (("kronos-servicemonitor.yaml", "ServiceMonitor", "endpoints"),
                             ("kronos-podmonitor.yaml", "PodMonitor", "podMetricsEndpoints")):
        doc = k.load_yaml(os.path.join(KUBE, fname))
        fails.check(doc.get("kind") == kind and doc.get("apiVersion") == "monitoring.coreos.com/v1",
                    f"{fname}: not a monitoring.coreos.com/v1 {kind}")
        eps = doc.get("spec", {}).get(key) or []
        fails.check(eps, f"{fname}: no {key}")
        for ep in eps:
            fails.check(ep.get("path") == "/v1/metrics", f"{fname}: path must be /v1/metrics")
            fails.check(ep.get("honorLabels") is True,
                        f"{fname}: honorLabels must be true (else container/endpoint become exported_*)")
            fails.check(any(r.get("targetLabel") == "job" and r.get("replacement") == "kronos-api"
                            for r in ep.get("relabelings", [])), f"{fname}: job is not set to kronos-api")
            fails.check(any(r.get("action") == "labeldrop" and re.fullmatch(r.get("regex", ""), "container")
                            and re.fullmatch(r.get("regex", ""), "endpoint") for r in ep.get("relabelings", [])),
                        f"{fname}: the operator's container/endpoint target labels are not dropped")
        fails.check(doc["spec"].get("selector", {}).get("matchLabels"), f"{fname}: no selector")
        endpoints[kind] = eps[0] if eps else None
    print(f"PrometheusRule: {len(got)} groups, {sum(len(g['rules']) for g in got)} rules")
    return endpoints


def live_labels(endpoint, fails):
    with live.Stack() as stack:
        kproc, port = stack.kronosd({"KRONOS_CONTAINER_WHITELIST": "localhost,caller-a,caller-b",
                                     "KRONOS_RATE_LIMIT_PER_MINUTE": "6", "KRONOS_RATE_LIMIT_BURST": "1"})
        fast = stack.path("kronos-slo-rules.fast.yml")
        fast_rules.main(["fast_rules", k.SLO_RULES, fast, "--factor", "60", "--eval-interval", "1s"])
        control_relabel = [{"targetLabel": "job", "replacement": "kronos-control", "action": "replace"}]
        cfg = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
               "rule_files": [fast],
               "scrape_configs": [
                   scrape_job("serviceMonitor/production/kronosd/0", endpoint, port, endpoint["honorLabels"],
                              endpoint["relabelings"]),
                   scrape_job("control-without-honor-labels", endpoint, port, False, control_relabel)]}
        prom = stack.prometheus(k.yaml.safe_dump(cfg))
        live.wait_until("both jobs up", lambda: prom.value("sum(up)") == 2, 20)
        for caller in ("caller-a", "caller-b"):
            for _ in range(4):
                live.http_request(port, "POST", "/v1/predict/single", body=b"{}",
                                  headers={"Content-Type": "application/json", "X-Container-Name": caller})
        body = json.dumps({"candles": [{"open": 1, "high": 1.2, "low": 0.9, "close": 1.1}] * 3,
                           "timestamps": ["2025-10-14T10:00:00Z", "2025-10-14T10:05:00Z", "2025-10-14T10:10:00Z"],
                           "prediction_timestamps": ["2025-10-14T10:15:00Z"]}).encode()
        live.http_request(port, "POST", "/v1/predict/single", body=body, headers={"Content-Type": "application/json"})
        sel = '{job="kronos-api", __name__=~"kronos_.*|process_.*"}'
        live.wait_until("rate-limit hits scraped", lambda: (prom.value(
            'sum(kronos_rate_limit_hits_total{job="kronos-api", container=~"caller-.*"})') or 0) >= 4, 20)

        series = prom.api("series", **{"match[]": sel})
        names = sorted({lbl for s in series for lbl in s})
        fails.check(not [n for n in names if n.startswith("exported_")], f"renamed labels under honorLabels: {names}")
        for s in series:
            for key in ("namespace", "pod", "service"):
                if s.get(key) != OPERATOR_TARGET_LABELS[key]:
                    fails.check(False, f"{s['__name__']} lost the target label {key}: {s}")
                    break
        callers = {s["metric"]["container"] for s in prom.query(
            'kronos_rate_limit_hits_total{job="kronos-api"} > 0')}
        fails.check(callers == {"caller-a", "caller-b"}, f"callers as scraped: {callers}, want two callers")
        endpoints = {s["metric"].get("endpoint") for s in prom.query('kronos_model_inference_seconds_count{job="kronos-api"}')}
        fails.check(endpoints == {"/v1/predict/single", "/v1/predict/batch"}, f"endpoint label values {endpoints}")
        req = prom.query('kronos_requests_total{job="kronos-api", route="/v1/predict/single", status="success"}')
        fails.check(req and not {"container", "endpoint"} & set(req[0]["metric"]),
                    f"kronos_requests_total carries the operator's container/endpoint: {req[:1]}")

        # the control: without honorLabels the callers become exported_container under the pod's name
        try:
            ctl = live.wait_until("the control job scraped the hits", lambda: prom.query(
                'kronos_rate_limit_hits_total{job="kronos-control"} > 0'), 10)
        except TimeoutError:
            ctl = []
        fails.check(ctl and all(s["metric"].get("container") == "kronosd" and "exported_container" in s["metric"]
                                for s in ctl), f"control job did not show the renaming: {ctl[:2]}")

        def slo_namespace():
            r = prom.query('kronos:slo_requests:rate5m{slo="availability", job="kronos-api"}')
            return r and r[0]["metric"]
        got = live.wait_until("SLO recording rule evaluated", slo_namespace, 20)
        fails.check(got.get("namespace") == "production" and "pod" not in got,
                    f"SLO aggregation labels {got}, want namespace kept and pods summed")
        print(f"as scraped through the ServiceMonitor: callers {sorted(callers)}, endpoints {sorted(endpoints)}, "
              f"SLO series {got}")
        fails.check(stack.stop(kproc) == 0, "kronosd did not exit cleanly")


def main():
    fails = k.Failures()
    endpoints = static_checks(fails)
    if endpoints.get("ServiceMonitor"):
        live_labels(endpoints["ServiceMonitor"], fails)
    fails.finish("kubernetes manifests")


if __name__ == "__main__":
    main()
