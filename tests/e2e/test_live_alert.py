"""One alert end to end: kronosd stops, KronosServiceDown reaches a webhook through a real Alertmanager.

A real Prometheus (Debian package) scrapes the real kronosd on 127.0.0.1 every second and evaluates a
time-compressed copy of monitoring/prometheus/kronos-alerts.yml (made by lib/fast_rules.py from the
real file: `for: 1m` becomes 1s). A real Alertmanager runs the routing tree and inhibit rules of
monitoring/alertmanager/alertmanager.yml with each receiver pointed at a webhook served by this test.
Then kronosd is stopped and the test waits for the critical alert to arrive at the `pager` receiver;
while it fires, a warning of the same instance must be inhibited and one of another instance delivered.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import fast_rules  # noqa: E402
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402

AM_CONFIG = os.path.join(k.MON, "alertmanager/alertmanager.yml")


def test_alertmanager_config(webhook_port):
    """The example config with fast timers and every receiver replaced by our webhook (/<receiver>)."""
    cfg = k.load_yaml(AM_CONFIG)
    cfg["global"] = {"resolve_timeout": "1m"}

    def speed_up(route):
        for key in ("group_wait", "group_interval"):
            if key in route or route is cfg["route"]:
                route[key] = "1s"
        if "repeat_interval" in route or route is cfg["route"]:
            route["repeat_interval"] = "1h"
        for child in route.get("routes", []):
            speed_up(child)
    speed_up(cfg["route"])
    cfg["receivers"] = [{"name": r["name"], "webhook_configs": [
        {"url": f"http://127.0.0.1:{webhook_port}/{r['name']}", "send_resolved": True}]}
        for r in cfg["receivers"]]
    return k.yaml.safe_dump(cfg, sort_keys=False)


def main():
    fails = k.Failures()
    with live.Stack() as stack:
        kronosd, kport = stack.kronosd()
        status, _, _ = live.http_request(kport, "GET", "/v1/metrics")
        if status != 200:
            live.skip(f"kronosd does not serve /v1/metrics (HTTP {status})")

        fast = stack.path("kronos-alerts.fast.yml")
        fast_rules.main(["fast_rules", k.ALERTS, fast, "--factor", "60", "--eval-interval", "1s"])
        rc, out = k.run(["promtool", "check", "rules", fast])
        if not fails.check(rc == 0, f"compressed rules do not pass promtool:\n{out}"):
            fails.finish("live alert")

        hook = stack.webhook()
        am_port = stack.alertmanager(test_alertmanager_config(hook.port))
        prom = stack.prometheus(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]
rule_files: ["{fast}"]
scrape_configs:
  - job_name: kronos-api
    metrics_path: /v1/metrics
    static_configs: [{{targets: ["127.0.0.1:{kport}"]}}]
""")
        instance = f"127.0.0.1:{kport}"
        live.wait_until("up == 1", lambda: prom.value(f'up{{job="kronos-api", instance="{instance}"}}') == 1, 20)
        fails.check(not prom.query('ALERTS{alertname="KronosServiceDown"}'), "KronosServiceDown active while up")

        stopped_at = time.monotonic()
        fails.check(stack.stop(kronosd) == 0, "kronosd did not exit cleanly on SIGTERM")

        def delivered():
            for path, note in hook.received():
                for alert in note.get("alerts", []):
                    if alert["labels"].get("alertname") == "KronosServiceDown" and alert["status"] == "firing":
                        return path, note, alert
            return None
        try:
            path, note, alert = live.wait_until("KronosServiceDown at the webhook", delivered, 45, interval=0.25)
        except TimeoutError as e:
            fails.check(False, f"{e}; alerts in Prometheus: {prom.query('ALERTS')}")
            stack.dump_logs()
            fails.finish("live alert")
        took = time.monotonic() - stopped_at
        print(f"KronosServiceDown delivered to {path} {took:.1f} s after kronosd stopped")
        fails.check(path == "/pager", f"critical alert went to {path}, want /pager")
        fails.check(note.get("receiver") == "pager", f"receiver {note.get('receiver')}, want pager")
        labels, ann = alert["labels"], alert["annotations"]
        fails.check(labels.get("severity") == "critical", f"severity {labels.get('severity')}")
        fails.check(labels.get("instance") == instance and labels.get("job") == "kronos-api", f"labels {labels}")
        fails.check(ann.get("summary") == f"kronosd {instance} is down", f"summary {ann.get('summary')!r}")
        fails.check(ann.get("runbook_url", "").endswith("docs/RUNBOOK.md#kronosservicedown"),
                    f"runbook_url {ann.get('runbook_url')!r}")
        fails.check(set(note.get("groupLabels", {})) <= {"alertname", "instance"},
                    f"grouped by {note.get('groupLabels')}, want alertname/instance")
        fails.check(not any(a["labels"].get("alertname") == "KronosTargetMissing"
                            for _, n in hook.received() for a in n.get("alerts", [])),
                    "KronosTargetMissing fired although the target is configured")

        # While KronosServiceDown fires, a warning of the same instance is inhibited (not sent to chat),
        # a warning of another instance is not.
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        warnings = [{"labels": {"alertname": "KronosHighLatency", "severity": "warning", "job": "kronos-api",
                                "instance": inst}, "annotations": {"summary": "synthetic"}, "startsAt": now}
                    for inst in (instance, "other:8000")]
        status, _, body = live.http_request(am_port, "POST", "/api/v2/alerts", body=json.dumps(warnings).encode(),
                                            headers={"Content-Type": "application/json"})
        fails.check(status == 200, f"posting synthetic warnings to Alertmanager: HTTP {status} {body[:200]}")

        def chat_got_other():
            return any(p == "/chat" and a["labels"].get("instance") == "other:8000"
                       for p, n in hook.received() for a in n.get("alerts", []))
        try:
            live.wait_until("the uninhibited warning at /chat", chat_got_other, 20, interval=0.25)
        except TimeoutError as e:
            fails.check(False, str(e))
        fails.check(not any(p == "/chat" and a["labels"].get("instance") == instance
                            for p, n in hook.received() for a in n.get("alerts", [])),
                    "a warning of the down instance reached /chat: inhibition does not work")
        _, _, body = live.http_request(am_port, "GET", "/api/v2/alerts?filter=alertname%3D%22KronosHighLatency%22")
        states = {a["labels"]["instance"]: a["status"] for a in json.loads(body)}
        fails.check(states.get(instance, {}).get("state") == "suppressed" and states[instance].get("inhibitedBy"),
                    f"warning of the down instance not inhibited: {states.get(instance)}")
    fails.finish("live alert")


if __name__ == "__main__":
    main()
