"""Scripted faults: each new alert that can be provoked on one machine fires against the real kronosd.

A real Prometheus scrapes four kronosd processes and a real blackbox exporter every second and evaluates
a time-compressed copy of monitoring/prometheus/kronos-alerts.yml (lib/fast_rules.py: a minute becomes
2 seconds); a real Alertmanager runs the example routing and inhibit rules with its receivers pointed at
this test. The faults:
- a model folder that does not load -> KronosModelLoadFailed at once; its 503s -> KronosAllPredictionsFailing
  and KronosModelNotLoaded (both inhibited in Alertmanager by the load failure); the blackbox module
  probing it -> KronosSyntheticCheckFailed, while the probe of a healthy kronosd succeeds;
- a kronosd restarted twice on the same address -> KronosCrashLooping (up never stays 0);
- a kronosd with a low open-files limit holding many idle connections -> KronosFileDescriptorsNearLimit.
Not provoked here: memory near the cgroup limit (needs a cgroup of the test's own), cAdvisor, kubelet and
node_exporter alerts (no such exporters); promtool scenarios cover them (e2e_alert_rules).
"""
import json
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import fast_rules  # noqa: E402
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402

AM_CONFIG = os.path.join(k.MON, "alertmanager/alertmanager.yml")
BLACKBOX = os.path.join(k.MON, "blackbox/kronos-blackbox.yml")
# kronosd needs KRONOS_MAX_CONNECTIONS + 64 descriptors; 880 idle connections (under each worker's share
# of the cap, so none is evicted) and kronosd's own descriptors make about 84% of 1064.
FD_LIMIT, FD_CONNECTIONS, FD_OPEN = 1064, 1000, 880
PREDICT = {"candles": [{"open": 100, "high": 101, "low": 99, "close": 100.5}] * 4,
           "timestamps": [f"2025-10-14T10:0{i}:00Z" for i in range(4)],
           "prediction_timestamps": ["2025-10-14T10:05:00Z"]}


def low_fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def firing(prom, alertname):
    return {a["metric"].get("instance") for a in prom.query(f'ALERTS{{alertname="{alertname}", alertstate="firing"}}')}


def main():
    fails = k.Failures()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < FD_OPEN + 256:  # this test holds FD_OPEN sockets itself
        want = FD_OPEN + 256 if hard == resource.RLIM_INFINITY else min(hard, FD_OPEN + 256)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with live.Stack() as stack:
        good, good_port = stack.kronosd(name="kronosd-good")
        broken_dir = stack.path("broken-model")
        os.makedirs(broken_dir)
        with open(os.path.join(broken_dir, "config.json"), "w") as f:
            f.write("{ not a model config")
        broken, broken_port = stack.kronosd({"KRONOS_MODEL_PATH": broken_dir}, name="kronosd-broken")
        loop_env = {"KRONOS_DRAIN_DELAY": "0", "KRONOS_SHUTDOWN_GRACE": "2"}
        loop, loop_port = stack.kronosd(loop_env, name="kronosd-loop")
        fd_env = {"KRONOS_MAX_CONNECTIONS": str(FD_CONNECTIONS), "KRONOS_MAX_CONNECTIONS_PER_IP": str(FD_CONNECTIONS),
                  "KRONOS_CONNECTION_TIMEOUT": "600", "KRONOS_HEADER_TIMEOUT": "600"}  # idle sockets stay
        fdk, fd_port = stack.kronosd(fd_env, name="kronosd-fds", preexec_fn=low_fd_limit)
        status, _, body = live.http_request(broken_port, "GET", "/v1/readyz")
        fails.check(status == 503 and b"failed" in body, f"broken model: readyz {status} {body[:120]}")

        fast = stack.path("kronos-alerts.fast.yml")
        # Minutes become 2 s: fast, yet with room for a loaded 2-core machine (a 15-minute window is 30 s).
        fast_rules.main(["fast_rules", k.ALERTS, fast, "--factor", "30", "--eval-interval", "1s"])
        hook = stack.webhook()
        am_port = stack.alertmanager(live.alertmanager_test_config(AM_CONFIG, hook.port, k.yaml))
        bb_port = stack.blackbox(BLACKBOX)
        targets = [f"127.0.0.1:{p}" for p in (good_port, broken_port, loop_port, fd_port)]
        probe = {p: f"http://127.0.0.1:{p}/v1/predict/single" for p in (good_port, broken_port)}
        prom = stack.prometheus(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]
rule_files: ["{fast}"]
scrape_configs:
  - job_name: kronos-api
    metrics_path: /v1/metrics
    static_configs: [{{targets: {json.dumps(targets)}}}]
  - job_name: kronos-synthetic
    metrics_path: /probe
    params: {{module: [kronos_predict]}}
    scrape_timeout: 1s
    static_configs: [{{targets: {json.dumps(list(probe.values()))}}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{bb_port}"}}
""")
        live.wait_until("every kronosd scraped", lambda: prom.value('sum(up{job="kronos-api"})') == 4, 30)
        live.wait_until("the healthy probe succeeds",
                        lambda: prom.value(f'probe_success{{instance="{probe[good_port]}"}}') == 1, 30)

        # idle connections up to the descriptor limit
        conns = []
        for _ in range(FD_OPEN):
            conns.append(socket.create_connection(("127.0.0.1", fd_port), timeout=5))
        fd_q = f'process_open_fds{{instance="127.0.0.1:{fd_port}"}} / process_max_fds{{instance="127.0.0.1:{fd_port}"}}'
        try:
            live.wait_until("open fds above 80% of the limit", lambda: (prom.value(fd_q) or 0) > 0.8, 20)
        except TimeoutError as e:
            fd_sel = f'{{instance="127.0.0.1:{fd_port}"}}'
            fails.check(False, f"{e}: open {prom.value('process_open_fds' + fd_sel)} of "
                               f"{prom.value('process_max_fds' + fd_sel)}, {len(conns)} connections opened")
        print(f"kronosd-fds: {prom.value(fd_q) or 0:.2f} of its descriptors open")

        # crash loop: two restarts on the same address, each seen by a scrape (last, because the alert
        # holds only while both restarts are inside its compressed 15-minute window)
        loop_instance = f"127.0.0.1:{loop_port}"
        start_q = f'process_start_time_seconds{{instance="{loop_instance}"}}'
        for restart in range(2):
            before = prom.value(start_q)
            fails.check(stack.stop(loop) == 0, "kronosd-loop did not stop cleanly")
            time.sleep(0.3)
            loop, _ = stack.kronosd(loop_env, port=loop_port, name=f"kronosd-loop-{restart + 1}")
            live.wait_until(f"restart {restart + 1} scraped", lambda: (prom.value(start_q) or before) != before, 20)

        # predictions against the broken model answer 503, a few, as a quiet service would see them
        expected = {
            "KronosModelLoadFailed": f"127.0.0.1:{broken_port}",
            "KronosModelNotLoaded": f"127.0.0.1:{broken_port}",
            "KronosAllPredictionsFailing": f"127.0.0.1:{broken_port}",
            "KronosSyntheticCheckFailed": probe[broken_port],
            "KronosCrashLooping": loop_instance,
            "KronosFileDescriptorsNearLimit": f"127.0.0.1:{fd_port}",
        }
        deadline = time.monotonic() + 90
        seen = {}
        while time.monotonic() < deadline and len(seen) < len(expected):
            status = live.http_request(broken_port, "POST", "/v1/predict/single", body=json.dumps(PREDICT).encode(),
                                       headers={"Content-Type": "application/json"})[0]
            fails.check(status == 503, f"prediction against the broken model answered {status}, want 503")
            for name, instance in expected.items():
                if name not in seen and instance in firing(prom, name):
                    seen[name] = time.monotonic()
            time.sleep(1)
        for name, instance in expected.items():
            fails.check(name in seen, f"{name} did not fire for {instance}; firing: "
                        f"{sorted((a['metric']['alertname'], a['metric'].get('instance')) for a in prom.query('ALERTS'))}")
        print("fired:", ", ".join(sorted(seen)))
        fails.check(probe[good_port] not in firing(prom, "KronosSyntheticCheckFailed"),
                    "the synthetic check of the healthy kronosd fails")
        fails.check(not firing(prom, "KronosServiceDown"), "KronosServiceDown fired while other instances were up")

        # Alertmanager: the pages arrive, the consequences of the failed load are inhibited
        def page(name):
            return any(p == "/kronos-page" and a["labels"].get("alertname") == name and a["status"] == "firing"
                       for p, n in hook.received() for a in n.get("alerts", []))
        try:
            live.wait_until("the pages at /kronos-page", lambda: all(page(n) for n in (
                "KronosModelLoadFailed", "KronosCrashLooping", "KronosSyntheticCheckFailed")), 20, interval=0.25)
        except TimeoutError as e:
            fails.check(False, f"{e}: {[(p, a['labels']['alertname']) for p, n in hook.received() for a in n['alerts']]}")
        try:
            live.wait_until("KronosFileDescriptorsNearLimit at /kronos-ticket", lambda: any(
                p == "/kronos-ticket" and a["labels"].get("alertname") == "KronosFileDescriptorsNearLimit"
                for p, n in hook.received() for a in n.get("alerts", [])), 20, interval=0.25)
        except TimeoutError as e:
            fails.check(False, str(e))
        _, _, body = live.http_request(am_port, "GET", "/api/v2/alerts")
        states = {a["labels"]["alertname"]: a["status"] for a in json.loads(body)
                  if a["labels"].get("instance") == f"127.0.0.1:{broken_port}"}
        for name in ("KronosModelNotLoaded", "KronosAllPredictionsFailing"):
            fails.check(states.get(name, {}).get("state") == "suppressed",
                        f"{name} of the instance whose load failed is {states.get(name)}, want inhibited")
            fails.check(not page(name), f"{name} paged beside KronosModelLoadFailed")
        for c in conns:
            c.close()
    fails.finish("live faults")


if __name__ == "__main__":
    main()
