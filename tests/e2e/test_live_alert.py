"""One alert end to end: kronosd stops, KronosServiceDown reaches a webhook through a real Alertmanager.

A real Prometheus (Debian package) scrapes the real kronosd on 127.0.0.1 every second and evaluates a
time-compressed copy of monitoring/prometheus/kronos-alerts.yml (made by lib/fast_rules.py from the
real file: `for: 1m` becomes 1s). A real Alertmanager runs the routing tree and inhibit rules of
monitoring/alertmanager/alertmanager.yml with each receiver pointed at a webhook served by this test.
Then kronosd is stopped and the test waits for the critical alert to arrive at the `kronos-page`
receiver. While it fires, synthetic alerts posted to the Alertmanager check what makes the example safe
in a shared Alertmanager: a warning of the same instance is inhibited, one of another instance and
another team's alert on the same instance are delivered, two replicas down plus the SLO burn of one
namespace make one page group (the error-rate page inhibited by the SLO page), staging pages apart.
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


def post_alerts(am_port, alerts, fails):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for a in alerts:
        a.setdefault("startsAt", now)
        a.setdefault("annotations", {"summary": "synthetic"})
    status, _, body = live.http_request(am_port, "POST", "/api/v2/alerts", body=json.dumps(alerts).encode(),
                                        headers={"Content-Type": "application/json"})
    fails.check(status == 200, f"posting synthetic alerts to Alertmanager: HTTP {status} {body[:200]}")


def am_state(am_port, alertname):
    _, _, body = live.http_request(am_port, "GET", "/api/v2/alerts?filter=alertname%3D%22" + alertname + "%22")
    return {(a["labels"].get("namespace"), a["labels"].get("instance")): a["status"] for a in json.loads(body)}


def shared_alertmanager_checks(am_port, hook, instance, fails):
    """What makes the example safe in a shared Alertmanager, on the real Alertmanager: inhibition only
    within kronosd and the same job/namespace/instance, another team's alerts untouched, one page per
    incident (replicas and the SLO burn of one namespace in one notification group)."""
    kronos = {"service": "kronosd", "team": "ml-platform", "job": "kronos-api"}
    post_alerts(am_port, [
        # warnings of the down instance (inhibited) and of another instance (delivered)
        {"labels": dict(kronos, alertname="KronosHighLatency", severity="warning", instance=instance)},
        {"labels": dict(kronos, alertname="KronosHighLatency", severity="warning", instance="other:8000")},
        # another team's alert on the same instance name: not ours to inhibit or route
        {"labels": {"alertname": "NodeFilesystemAlmostFull", "severity": "warning", "job": "node",
                    "instance": instance, "team": "infra"}},
        # one incident in namespace prod: two replicas down, the SLO burn and an error-rate page
        {"labels": dict(kronos, alertname="KronosServiceDown", severity="critical", namespace="prod", instance="r1:8000")},
        {"labels": dict(kronos, alertname="KronosServiceDown", severity="critical", namespace="prod", instance="r2:8000")},
        {"labels": dict(kronos, alertname="KronosAvailabilityBudgetBurn", severity="critical", namespace="prod",
                        slo="availability", burn_rate="14.4", window="1h/5m")},
        {"labels": dict(kronos, alertname="KronosHighErrorRate", severity="critical", namespace="prod", instance="r1:8000")},
        # staging is another incident
        {"labels": dict(kronos, alertname="KronosServiceDown", severity="critical", namespace="staging", instance="s1:8000")},
    ], fails)

    def delivered(path, **labels):
        return [n for p, n in hook.received() if p == path
                for a in n.get("alerts", []) if all(a["labels"].get(key) == v for key, v in labels.items())]
    try:
        live.wait_until("the other instance's warning, the infra alert and both incidents delivered",
                        lambda: delivered("/kronos-ticket", instance="other:8000") and
                        delivered("/default", alertname="NodeFilesystemAlmostFull") and
                        delivered("/kronos-page", namespace="prod", instance="r2:8000") and
                        delivered("/kronos-page", namespace="staging"), 20, interval=0.25)
    except TimeoutError as e:
        fails.check(False, f"{e}; received: {[(p, n.get('groupLabels')) for p, n in hook.received()]}")
    time.sleep(2)  # group_interval 1s: let any late notification arrive before judging absences
    fails.check(not delivered("/kronos-ticket", instance=instance),
                "a warning of the down instance reached /kronos-ticket: inhibition does not work")
    st = am_state(am_port, "KronosHighLatency").get((None, instance), {})
    fails.check(st.get("state") == "suppressed" and st.get("inhibitedBy"), f"warning of the down instance not inhibited: {st}")
    st = am_state(am_port, "NodeFilesystemAlmostFull").get((None, instance), {})
    fails.check(st.get("state") == "active", f"another team's alert on the same instance is {st}, want active")
    fails.check(not delivered("/kronos-page", alertname="NodeFilesystemAlmostFull") and
                not delivered("/kronos-ticket", alertname="NodeFilesystemAlmostFull"),
                "another team's alert reached a kronosd receiver")
    prod_groups = {n["groupKey"] for p, n in hook.received() if p == "/kronos-page"
                   and n.get("groupLabels", {}).get("namespace") == "prod"}
    fails.check(len(prod_groups) == 1, f"one incident in prod paged as {len(prod_groups)} notification groups")
    staging_groups = {n["groupKey"] for p, n in hook.received() if p == "/kronos-page"
                      and n.get("groupLabels", {}).get("namespace") == "staging"}
    fails.check(len(staging_groups) == 1 and not staging_groups & prod_groups, "staging and prod not paged apart")
    st = am_state(am_port, "KronosHighErrorRate").get(("prod", "r1:8000"), {})
    fails.check(st.get("state") == "suppressed", f"error-rate page beside the SLO page of the same job: {st}")
    fails.check(not delivered("/kronos-page", alertname="KronosHighErrorRate"),
                "the error-rate alert paged beside the SLO burn alert of the same job")
    print(f"shared Alertmanager: prod incident in {len(prod_groups)} page group, staging apart, "
          "inhibition confined to kronosd and the same instance")


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
        am_port = stack.alertmanager(live.alertmanager_test_config(AM_CONFIG, hook.port, k.yaml))
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
        stopped_wall = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
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
        fails.check(path == "/kronos-page", f"critical alert went to {path}, want /kronos-page")
        fails.check(note.get("receiver") == "kronos-page", f"receiver {note.get('receiver')}, want kronos-page")
        labels, ann = alert["labels"], alert["annotations"]
        fails.check(labels.get("severity") == "critical", f"severity {labels.get('severity')}")
        fails.check(labels.get("instance") == instance and labels.get("job") == "kronos-api", f"labels {labels}")
        fails.check(labels.get("service") == "kronosd" and labels.get("team"), f"routing labels {labels}")
        fails.check(ann.get("summary") == f"kronosd {instance} is down and no other instance of kronos-api is up",
                    f"summary {ann.get('summary')!r}")
        fails.check(ann.get("runbook_url", "").endswith("docs/RUNBOOK.md#kronosservicedown"),
                    f"runbook_url {ann.get('runbook_url')!r}")
        fails.check(set(note.get("groupLabels", {})) <= {"service", "cluster", "namespace"},
                    f"page grouped by {note.get('groupLabels')}, want service/cluster/namespace")
        # A target that is down is not a missing target. (Under heavy load the first scrape can come
        # later than the compressed 5 s `for` of KronosTargetMissing: only what started after the stop counts.)
        late = [a for _, n in hook.received() for a in n.get("alerts", [])
                if a["labels"].get("alertname") == "KronosTargetMissing" and a["startsAt"][:19] >= stopped_wall]
        fails.check(not late, f"KronosTargetMissing fired although the target is configured: {late}")

        # While KronosServiceDown fires: inhibition and grouping as a shared Alertmanager needs them.
        shared_alertmanager_checks(am_port, hook, instance, fails)
    fails.finish("live alert")


if __name__ == "__main__":
    main()
