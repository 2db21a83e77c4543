"""Scale-out behind nginx: three kronosd replicas, a real nginx running deploy/nginx/kronosd.conf, a
real Prometheus discovering the replicas through file_sd and evaluating the repo's alert rules.

Layout (needs root for `ip netns`; skips otherwise):
  root namespace: nginx on 127.0.0.1:<free port>, Prometheus on 127.0.0.1:<free port>, the load
                  clients, and the root end of three veth pairs: 10.B.C.1, .5, .9 (/30 each)
  namespace i:    kronosd (baseline engine) on 10.B.C.(4i+2):8000, loopback and that address only
B.C is chosen per run, so parallel runs do not collide.

nginx runs deploy/nginx/kronosd.conf as shipped; the test writes only what that file includes as
site data (deploy/nginx/kronosd-upstream.conf with the replicas' addresses put in, the callers and
the listen/log file) and a main nginx.conf of its own prefix, pid and temp paths (daemon off).

Scenario A: steady forecast load through nginx; one replica is SIGKILLed, later restarted in the
same namespace. No client sees a failure, equal input + seed gives equal JSON from every replica,
KronosInstanceDown fires for the killed replica only and resolves after the restart,
KronosServiceDown stays silent (two replicas are up), and the dashboard's aggregate queries count
what the clients sent.
Identity and headers through nginx: the caller name comes from nginx, never from the client.
Scenario B: rolling restart of all three through SIGTERM under load, each replica ready and taking
traffic before the next: no client-visible failure, each exits 0.
"""
import grp
import http.client
import json
import math
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import fast_rules  # noqa: E402
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402
from netns import ip, remove_stale_namespaces  # noqa: E402 (tests/support, on the path live sets)
import predict_data  # noqa: E402

NGINX_DIR = os.path.join(k.ROOT, "deploy/nginx")
FILE_SD_EXAMPLE = os.path.join(k.MON, "prometheus/scrape/kronos-file-sd.yml")
PREFIX = "kronos-so-"
PID = os.getpid()
NAMESPACES = [f"{PREFIX}{PID}-{i}" for i in range(3)]
VETH_ROOT = [f"kso{PID % 10000000}r{i}" for i in range(3)]  # <= 15 characters
VETH_NS = [f"kso{PID % 10000000}n{i}" for i in range(3)]
PORT = 8000  # each replica's namespace is private: a fixed port cannot clash
CALLER = "loadgen"
SCRAPE = 1.0  # seconds: scrape and rule evaluation interval
PREDICT_ROUTES = "/v1/predict/single|/v1/predict/batch"


def pick_subnet():
    """10.B.C.0/24 not routed in the root namespace yet, derived from the pid."""
    routes = ip("-4", "route", "show", "table", "all", check=False).stdout
    for n in range(PID, PID + 2000):
        b, c = 200 + n % 50, (n // 50) % 256
        if f"10.{b}.{c}." not in routes:
            return f"10.{b}.{c}."
    raise RuntimeError("no free 10.x.y.0/24 in the root namespace")


class Net:
    def __init__(self, base):
        self.root_addr = [f"{base}{4 * i + 1}" for i in range(3)]
        self.ns_addr = [f"{base}{4 * i + 2}" for i in range(3)]

    def build(self):
        for i in range(3):
            ip("netns", "add", NAMESPACES[i])
            ip("link", "add", "name", VETH_ROOT[i], "type", "veth", "peer", "name", VETH_NS[i],
               "netns", NAMESPACES[i])
            ip("addr", "add", self.root_addr[i] + "/30", "dev", VETH_ROOT[i])
            # no IPv6 link-local address either: these addresses are the only ones
            ip("link", "set", VETH_ROOT[i], "addrgenmode", "none")
            ip("-n", NAMESPACES[i], "link", "set", VETH_NS[i], "addrgenmode", "none")
            ip("link", "set", VETH_ROOT[i], "up")
            ip("-n", NAMESPACES[i], "link", "set", "lo", "up")
            ip("-n", NAMESPACES[i], "addr", "add", self.ns_addr[i] + "/30", "dev", VETH_NS[i])
            ip("-n", NAMESPACES[i], "link", "set", VETH_NS[i], "up")

    @staticmethod
    def destroy():
        for i in range(3):
            for pid in ip("netns", "pids", NAMESPACES[i], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ip("link", "del", VETH_ROOT[i], check=False)  # deletes its peer too
            ip("netns", "del", NAMESPACES[i], check=False)

    def addresses(self, i):
        """Every address in namespace i, loopback included."""
        out = ip("-n", NAMESPACES[i], "-o", "addr", "show", check=False).stdout
        return sorted(re.findall(r"inet6? (\S+)", out))


def request(host, port, method, path, body=None, headers=None, timeout=30, source=None):
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k_.lower(): v for k_, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Replica:
    """kronosd in namespace i; each start writes its own log file (generation g)."""

    def __init__(self, stack, net, i):
        self.stack, self.net, self.i = stack, net, i
        self.proc, self.gen, self.logs = None, 0, []
        self.addr = net.ns_addr[i]
        self.instance = f"{self.addr}:{PORT}"

    def start(self):
        self.gen += 1
        env = dict(os.environ, KRONOS_HOST=self.addr, KRONOS_PORT=str(PORT), KRONOS_ENGINE="baseline",
                   KRONOS_INSTANCE=f"kronos-api-{self.i + 1}", KRONOS_LOG_LEVEL="INFO",
                   # nginx reaches this replica from the root end of its veth pair
                   KRONOS_TRUSTED_PROXIES=self.net.root_addr[self.i] + "/32",
                   KRONOS_CONTAINER_WHITELIST=CALLER, KRONOS_RATE_LIMIT_PER_MINUTE="100000",
                   KRONOS_RATE_LIMIT_BURST="10000", KRONOS_DRAIN_DELAY="1", KRONOS_SHUTDOWN_GRACE="10",
                   KRONOS_INFERENCE_THREADS="1")
        name = f"kronosd-{self.i + 1}.{self.gen}"
        self.proc = self.stack.spawn(name, ["ip", "netns", "exec", NAMESPACES[self.i], live.KRONOSD_BIN],
                                     env=env)
        self.logs.append(self.stack.path(f"{name}.log"))

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}")
            return request(self.addr, PORT, "GET", "/v1/readyz", timeout=2)[0] == 200
        live.wait_until(f"{name} ready", ready, 30 if live.SANITIZE else 15)

    def records(self, gen=None):
        out = []
        for path in self.logs if gen is None else [self.logs[gen - 1]]:
            with open(path, errors="replace") as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        return out

    def forecasts_served(self, gen):
        return [r for r in self.records(gen) if r.get("message") == "request completed"
                and r.get("path", "").startswith("/v1/predict/") and r.get("status_code") == 200]


# ---------------------------------------------------------------- nginx
def start_nginx(stack, net, listen_port):
    """nginx as a child (daemon off) with its own prefix, running deploy/nginx/kronosd.conf."""
    prefix = stack.path("nginx")
    conf = os.path.join(prefix, "conf")
    for d in ("conf", "logs", "temp"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    # The shipped upstream file with only the replicas' addresses put in.
    with open(os.path.join(NGINX_DIR, "kronosd-upstream.conf")) as f:
        shipped = f.read()
    servers = iter(f"{a}:{PORT}" for a in net.ns_addr)
    upstream, n = re.subn(r"(?m)^(server\s+)kronos-api-\d+:8000", lambda m: m.group(1) + next(servers), shipped)
    if n != 3:
        raise RuntimeError(f"deploy/nginx/kronosd-upstream.conf: {n} server lines, the test expects 3")
    with open(os.path.join(conf, "kronosd-upstream.conf"), "w") as f:
        f.write(upstream)
    with open(os.path.join(conf, "kronosd-callers.conf"), "w") as f:
        f.write(f"127.0.0.1/32 {CALLER};\n")
    with open(os.path.join(conf, "kronosd-site.conf"), "w") as f:
        f.write(f"listen 127.0.0.1:{listen_port};\nserver_name kronos-api;\n"
                f"access_log {prefix}/logs/kronosd.access.log kronosd;\n")
    # nginx's workers drop root for an unprivileged user: they buffer large bodies in temp/, so
    # they must be able to reach and write it.
    temp = os.path.join(prefix, "temp")
    worker = pwd.getpwnam("nobody")
    os.chown(temp, worker.pw_uid, worker.pw_gid)
    for d in (stack.dir, prefix):
        os.chmod(d, 0o711)
    with open(os.path.join(conf, "nginx.conf"), "w") as f:
        f.write(f"""daemon off;
user nobody {grp.getgrgid(worker.pw_gid).gr_name};
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    access_log off;
    include {NGINX_DIR}/kronosd.conf;
}}
""")
    argv = ["nginx", "-p", prefix + "/", "-c", os.path.join(conf, "nginx.conf"), "-e", f"{prefix}/logs/error.log"]
    rc, out = k.run(argv + ["-t"])
    if rc != 0:
        raise RuntimeError(f"nginx -t refuses the config:\n{out}")
    proc = stack.spawn("nginx", argv)
    live.wait_until("nginx listening", lambda: proc.poll() is None and
                    request("127.0.0.1", listen_port, "GET", "/v1/healthz", timeout=2)[0] == 200, 15)
    return prefix, proc


def access_log(prefix):
    out = []
    with open(os.path.join(prefix, "logs/kronosd.access.log")) as f:
        for line in f:
            out.append(json.loads(line))
    return out


# ---------------------------------------------------------------- load
def bodies():
    """(key, path, body): singles and a batch, each with a seed; sampling makes the seed matter."""
    out = []
    for n, seed in ((48, 7), (64, 11), (96, 23)):
        b = predict_data.single(n, 12, series_id=f"S{n}", seed=n,
                                overrides={"seed": seed, "sample_count": 4, "quantiles": [0.1, 0.9]})
        out.append((f"single-{n}-{seed}", "/v1/predict/single", json.dumps(b)))
    items = [predict_data.single(40 + 8 * j, 6, series_id=f"B{j}", seed=100 + j,
                                 overrides={"seed": 5 + j, "sample_count": 2}) for j in range(4)]
    out.append(("batch-4", "/v1/predict/batch", json.dumps({"items": items})))
    return out


def canonical(body):
    """The answer without its request_id (per request by design), as comparable text."""
    doc = json.loads(body)
    for d in doc if isinstance(doc, list) else [doc]:
        d.pop("request_id", None)
    return json.dumps(doc, sort_keys=True)


class Load:
    """Client threads posting forecasts through nginx on keep-alive connections, paced."""

    def __init__(self, port, tag, threads=3, pause=0.05):
        self.port, self.tag, self.pause = port, tag, pause
        self.results = []  # (rid, key, start, end, status or error text, canonical body or None)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.bodies = bodies()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(threads)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def run(self, t):
        conn, n = None, 0
        while not self.stopping.is_set():
            key, path, body = self.bodies[(t + n) % len(self.bodies)]
            rid = f"{self.tag}-{t}-{n}"
            n += 1
            start = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                                "X-Request-ID": rid})
                resp = conn.getresponse()
                data = resp.read()
                outcome = resp.status
                text = canonical(data) if resp.status == 200 else data[:300].decode(errors="replace")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError) as e:
                outcome, text = f"{type(e).__name__}: {e}", None
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.results.append((rid, key, start, time.monotonic(), outcome, text))
            time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def snapshot(self):
        with self.lock:
            return list(self.results)

    def count(self):
        with self.lock:
            return len(self.results)


def check_load(load, what, fails, reference):
    """Every answer 200; equal input + seed, equal JSON (reference: key -> canonical answer)."""
    results = load.snapshot()
    failed = [(rid, outcome, text) for rid, _, _, _, outcome, text in results if outcome != 200]
    fails.check(not failed, f"{what}: {len(failed)} of {len(results)} requests failed, first: {failed[:3]}")
    differing = 0
    for rid, key, _, _, outcome, text in results:
        if outcome == 200:
            reference.setdefault(key, text)
            differing += reference[key] != text
    fails.check(differing == 0, f"{what}: {differing} answers differ from the first answer to the same input and seed")
    return results


def served_by(replicas):
    """request id -> [(replica index, status)] from every replica's log lines."""
    out = {}
    for r in replicas:
        for rec in r.records():
            if rec.get("message") == "request completed" and rec.get("request_id"):
                out.setdefault(rec["request_id"], []).append((r.i, rec.get("status_code")))
    return out


# ---------------------------------------------------------------- Prometheus
def prometheus_config(stack, fast_rules_path, targets_glob):
    """The shipped file_sd scrape job, with the target file path and intervals of this test."""
    job = k.load_yaml(FILE_SD_EXAMPLE)[0]
    job["scrape_interval"] = job["scrape_timeout"] = f"{SCRAPE:g}s"
    job["file_sd_configs"][0]["files"] = [targets_glob]
    job["file_sd_configs"][0]["refresh_interval"] = "1s"
    cfg = {"global": {"scrape_interval": f"{SCRAPE:g}s", "evaluation_interval": f"{SCRAPE:g}s"},
           "rule_files": [fast_rules_path], "scrape_configs": [job]}
    return k.yaml.safe_dump(cfg, sort_keys=False)


def write_targets(stack, replicas):
    """The file_sd target file, in the format of monitoring/prometheus/scrape/kronos-targets.json."""
    os.makedirs(stack.path("targets"), exist_ok=True)
    tmp = stack.path("targets/.kronos-scale-out.json")
    with open(tmp, "w") as f:
        json.dump([{"targets": [r.instance for r in replicas], "labels": {"service": "kronosd", "env": "e2e"}}], f)
    os.rename(tmp, stack.path("targets/kronos-scale-out.json"))


def panel_exprs():
    """title -> {refId: expr} of the dashboard's panels."""
    out = {}
    for p in k.dashboard_panels(k.dashboard()):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.setdefault(p.get("title"), {})[t["refId"]] = t["expr"]
    return out


def firing(prom, alertname):
    return {a["metric"].get("instance") for a in prom.query(f'ALERTS{{alertname="{alertname}", alertstate="firing"}}')}


def dashboard_checks(prom, panels, window_s, client, lost_bound, fails):
    """The dashboard's aggregate panels over the window of a load phase, summed over the replicas."""
    sub = dict(job="kronos-api", instance=".*", rate_interval=f"{window_s}s", cluster=".*", namespace=".*")
    total = panels["Total request rate"]["A"]
    served = prom.value(k.substitute(total, endpoint=PREDICT_ROUTES, status="success", **sub))
    served = served * window_s if served is not None else None
    unavailable = prom.value(k.substitute(total, endpoint=PREDICT_ROUTES, status="unavailable", **sub))
    unavailable = unavailable * window_s if unavailable is not None else 0.0
    # rate() extrapolates at the window's ends by up to about a scrape interval each; a replica's
    # requests after its last scrape before a SIGKILL are never scraped (lost_bound).
    upper = client * (1 + 2.5 * SCRAPE / window_s) + 2
    ok = served is not None and client - lost_bound - 2 <= served <= upper
    fails.check(ok, f"dashboard 'Total request rate' (status success) over {window_s}s x {window_s}s = {served}, "
                    f"the clients got {client} forecasts (allowed {client - lost_bound - 2:.0f}..{upper:.0f})")
    ratios = panels["Error and timeout rate"]
    for ref, what in (("A", "error"), ("B", "timeout")):
        v = prom.value(k.substitute(ratios[ref], **sub))
        fails.check(v == 0, f"dashboard 'Error and timeout rate' {what} ratio = {v}, want 0")
    p95 = prom.value(k.substitute(panels["p95 single-prediction latency"]["A"], **sub))
    return served, unavailable, p95


def check_docs_excerpt(fails):
    """Every line of the nginx excerpt in docs/DEPLOYMENT.md is a line of deploy/nginx/kronosd.conf."""
    with open(os.path.join(k.ROOT, "docs/DEPLOYMENT.md")) as f:
        blocks = re.findall(r"```nginx\n(.*?)```", f.read(), re.S)
    with open(os.path.join(NGINX_DIR, "kronosd.conf")) as f:
        conf = {re.sub(r"\s+#.*$", "", line).strip() for line in f}
    shown = [line.strip() for b in blocks for line in b.splitlines() if line.strip() not in ("", "}")]
    fails.check(blocks and shown, "docs/DEPLOYMENT.md shows no ```nginx excerpt of kronosd.conf")
    for line in shown:
        fails.check(line in conf, f"docs/DEPLOYMENT.md shows {line!r}, which deploy/nginx/kronosd.conf does not have")


def main():
    fails = k.Failures()
    check_docs_excerpt(fails)
    if os.geteuid() != 0:
        live.skip("needs root to create network namespaces (ip netns)")
    for tool in ("ip", "nginx", "prometheus", "promtool"):
        if not shutil.which(tool):
            live.skip(f"{tool} is not installed (scripts/install-deps.sh test)")
    if not live.KRONOSD_BIN or not os.access(live.KRONOSD_BIN, os.X_OK):
        live.skip(f"KRONOSD_BIN={live.KRONOSD_BIN!r} is not an executable kronosd")
    live.KRONOSD_BIN = os.path.abspath(live.KRONOSD_BIN)
    remove_stale_namespaces(PREFIX)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the cleanup below on ctest's kill
    began = time.monotonic()
    figures = {}
    net = Net(pick_subnet())
    try:
        with live.Stack() as stack:
            net.build()
            replicas = [Replica(stack, net, i) for i in range(3)]
            for i, r in enumerate(replicas):
                addrs = net.addresses(i)
                fails.check(addrs in (sorted(["127.0.0.1/8", "::1/128", r.addr + "/30"]),
                                      sorted(["127.0.0.1/8", r.addr + "/30"])),
                            f"namespace {i} has addresses {addrs}, want loopback and {r.addr} only")
                r.start()
            nginx_port = live.free_port()
            nginx_prefix, _ = start_nginx(stack, net, nginx_port)

            fast = stack.path("kronos-alerts.fast.yml")
            fast_rules.main(["fast_rules", k.ALERTS, fast, "--factor", "60", "--eval-interval", f"{SCRAPE:g}s"])
            write_targets(stack, replicas)
            prom = stack.prometheus(prometheus_config(stack, fast, stack.path("targets/kronos-*.json")))
            panels = panel_exprs()
            up = {t: k.substitute(e, job="kronos-api", instance=".*") for t, e in panels["Instances up"].items()}
            live.wait_until("Prometheus scraping the three replicas through file_sd",
                            lambda: prom.value(up["A"]) == 3 and prom.value(up["B"]) == 3, 30)
            time.sleep(2 * SCRAPE)  # every counter has samples from before the load

            # ---------------------------------------------------------- scenario A: SIGKILL one replica
            victim = replicas[1]
            reference = {}
            a_start = time.time()
            with Load(nginx_port, "a") as load:
                time.sleep(4)
                before_kill = load.count()
                victim.proc.kill()
                killed_at = time.monotonic()
                victim.proc.wait()
                try:
                    live.wait_until("KronosInstanceDown firing for the killed replica",
                                    lambda: victim.instance in firing(prom, "KronosInstanceDown"), 40, interval=0.25)
                    figures["alert_fired_s"] = time.monotonic() - killed_at
                except TimeoutError as e:
                    fails.check(False, f"{e}; ALERTS: {prom.query('ALERTS')}")
                fails.check(firing(prom, "KronosInstanceDown") == {victim.instance},
                            f"KronosInstanceDown fires for {firing(prom, 'KronosInstanceDown')}, want {victim.instance} only")
                fails.check(not firing(prom, "KronosServiceDown") and not prom.query(
                    'ALERTS{alertname="KronosServiceDown"}'), "KronosServiceDown pending or firing with two replicas up")
                fails.check((prom.value(up["A"]), prom.value(up["B"])) == (2, 3),
                            f"dashboard 'Instances up' = {prom.value(up['A'])} of {prom.value(up['B'])}, want 2 of 3")
                during_kill = load.count() - before_kill

                victim.start()
                restarted_at = time.monotonic()
                try:
                    live.wait_until("KronosInstanceDown resolved after the restart",
                                    lambda: not prom.query('ALERTS{alertname="KronosInstanceDown"}'), 30, interval=0.25)
                    figures["alert_resolved_s"] = time.monotonic() - restarted_at
                except TimeoutError as e:
                    fails.check(False, f"{e}; ALERTS: {prom.query('ALERTS')}")
                # nginx takes the restarted replica back (after fail_timeout) without any client noticing
                try:
                    live.wait_until("nginx sending forecasts to the restarted replica",
                                    lambda: victim.forecasts_served(victim.gen), 30, interval=0.25)
                    figures["readmitted_s"] = time.monotonic() - restarted_at
                except TimeoutError as e:
                    fails.check(False, str(e))
                time.sleep(1)
            fails.check(not firing(prom, "KronosServiceDown"), "KronosServiceDown fired during scenario A")
            results = check_load(load, "scenario A", fails, reference)
            figures["a_requests"] = len(results)
            figures["a_during_kill"] = during_kill
            figures["a_failures"] = sum(1 for x in results if x[4] != 200)
            ok_forecasts = sum(1 for x in results if x[4] == 200)
            per_key_replicas = {}
            owners = served_by(replicas)
            for rid, key, *_ in results:
                for i, status in owners.get(rid, []):
                    if status == 200:
                        per_key_replicas.setdefault(key, set()).add(i)
            fails.check(all(len(v) == 3 for v in per_key_replicas.values()) and len(per_key_replicas) == 4,
                        f"each input answered by every replica (identical JSON checked above): {per_key_replicas}")
            # Requests the killed replica may have counted after its last scrape: at most what all
            # replicas finished in the 2 scrape intervals before the kill.
            kill_mono = killed_at
            lost_bound = sum(1 for x in results if kill_mono - 2 * SCRAPE <= x[3] <= kill_mono)
            time.sleep(3 * SCRAPE)  # the last counts scraped, counters flat again
            window = math.ceil(time.time() - a_start) + 2
            served, unavailable, p95 = dashboard_checks(prom, panels, window, ok_forecasts, lost_bound, fails)
            single_lat = [x[3] - x[2] for x in results if x[1].startswith("single") and x[4] == 200]
            bounds = sorted({float(s["metric"]["le"]) for s in prom.query(
                'kronos_request_duration_seconds_bucket{route="/v1/predict/single"}')})
            ceiling = next((b for b in bounds if b >= max(single_lat)), math.inf)
            fails.check(p95 is not None and 0 < p95 <= ceiling,
                        f"dashboard p95 single latency {p95}, want within (0, {ceiling}] (slowest client-side "
                        f"single: {max(single_lat):.3f}s)")
            figures.update(a_served=served, a_unavailable=unavailable, a_p95=p95, a_window=window,
                           a_lost_bound=lost_bound, a_clients=ok_forecasts)

            # ---------------------------------------------------------- identity and headers through nginx
            body = bodies()[0][2]
            status, hdrs, _ = request("127.0.0.1", nginx_port, "POST", "/v1/predict/single", body,
                                      {"Content-Type": "application/json", "X-Container-Name": "admin",
                                       "X-Request-ID": "so-forged",
                                       "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
            fails.check(status == 200, f"forecast claiming X-Container-Name admin: HTTP {status}, want 200 as {CALLER}")
            fails.check(hdrs.get("x-request-id") == "so-forged", f"X-Request-ID not kept: {hdrs.get('x-request-id')}")
            fails.check(hdrs.get("traceparent", "").startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                        f"trace id not kept through nginx: {hdrs.get('traceparent')}")
            time.sleep(0.3)
            line = [rec for r in replicas for rec in r.records() if rec.get("request_id") == "so-forged"
                    and rec.get("message") == "request completed"]
            fails.check(len(line) == 1 and line[0].get("container") == CALLER and
                        line[0].get("client_ip") in net.root_addr and
                        line[0].get("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736",
                        f"kronosd saw the forged request as {line}: want container {CALLER} from nginx's address")
            status, hdrs, _ = request("127.0.0.1", nginx_port, "POST", "/v1/predict/single", body,
                                      {"Content-Type": "application/json", "X-Container-Name": CALLER},
                                      source="127.0.0.2")
            fails.check(status == 403, f"a caller nginx does not know (127.0.0.2) claiming {CALLER}: HTTP {status}, want 403")
            status, hdrs, _ = request("127.0.0.1", nginx_port, "GET", "/v1/readyz")
            rid = hdrs.get("x-request-id", "")
            fails.check(re.fullmatch(r"[0-9a-f]{32}", rid) is not None,
                        f"without X-Request-ID, nginx's $request_id should reach kronosd and come back: {rid!r}")
            fails.check(any(e.get("request_id") == rid for e in access_log(nginx_prefix)),
                        "nginx's access log does not show the request id kronosd answered with")
            conn = http.client.HTTPConnection("127.0.0.1", nginx_port, timeout=10)
            conn.putrequest("POST", "/v1/predict/single")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
            conn.endheaders()
            status = conn.getresponse().status
            conn.close()
            fails.check(status == 413, f"a body 1 byte over 10 MiB: HTTP {status}, want 413 from nginx")
            head = b'{"series_id": "BIG"'
            big = head + b" " * (10 * 1024 * 1024 - len(head) - 1) + b"}"
            status, _, answer = request("127.0.0.1", nginx_port, "POST", "/v1/predict/single", big,
                                        {"Content-Type": "application/json"})
            fails.check(len(big) == 10 * 1024 * 1024 and status == 422,
                        f"a body of exactly 10 MiB: HTTP {status}, want kronosd's own 422 (nginx lets it through): "
                        f"{answer[:200]}")

            # ---------------------------------------------------------- scenario B: rolling restart
            with Load(nginx_port, "b") as load:
                time.sleep(2)
                for r in replicas:
                    t0 = time.monotonic()
                    r.proc.send_signal(signal.SIGTERM)
                    try:
                        rc = r.proc.wait(30)
                    except subprocess.TimeoutExpired:
                        rc = "still running after 30 s"
                    stopped = [x for x in r.records(r.gen) if x.get("message") == "kronosd stopped"]
                    fails.check(rc == 0 and stopped and stopped[-1].get("clean") is True,
                                f"replica {r.i + 1} after SIGTERM: exit {rc}, stop line {stopped}")
                    r.start()
                    live.wait_until(f"nginx sending forecasts to replica {r.i + 1} again",
                                    lambda: r.forecasts_served(r.gen), 30, interval=0.25)
                    figures.setdefault("b_step_s", []).append(round(time.monotonic() - t0, 1))
                time.sleep(1)
            results = check_load(load, "scenario B", fails, reference)
            owners = served_by(replicas)
            figures["b_requests"] = len(results)
            figures["b_failures"] = sum(1 for x in results if x[4] != 200)
            figures["b_hidden_503"] = sum(1 for rid, *_ in results
                                          if any(s == 503 for _, s in owners.get(rid, [])))
            figures["b_retried"] = sum(1 for rid, *_ in results if len(owners.get(rid, [])) > 1)
            fails.check(not firing(prom, "KronosServiceDown"), "KronosServiceDown fired during the rolling restart")
            # Requests nginx sent to more than one replica (its access log lists each try).
            for tag in ("a", "b"):
                figures[f"{tag}_nginx_retried"] = sum(1 for e in access_log(nginx_prefix)
                                                      if e["request_id"].startswith(tag + "-")
                                                      and "," in e.get("upstream_addr", ""))
    finally:
        Net.destroy()
    figures["wall_s"] = round(time.monotonic() - began, 1)
    print("figures:", json.dumps({key: (round(v, 3) if isinstance(v, float) else v) for key, v in figures.items()}))
    fails.finish("scale-out behind nginx")


if __name__ == "__main__":
    main()
