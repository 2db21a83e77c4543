"""Processes of the live e2e tests: kronosd, Prometheus, Alertmanager and a webhook receiver, each on
127.0.0.1 and a free port, each stopped by the Stack that started it (use `with Stack() as s:`)."""
import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from ports import free_port, holds_listening_port  # noqa: E402

KRONOSD_BIN = os.environ.get("KRONOSD_BIN", "")
SANITIZE = os.environ.get("KRONOS_SANITIZE", "0").lower() in ("1", "on", "true", "yes")


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(0)


def http_request(port, method, path, body=None, headers=None, timeout=30):
    """(status, headers dict with lower-case names, body bytes); raises OSError when unreachable."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def wait_until(what, predicate, timeout, interval=0.2):
    """Poll predicate() until it returns a true value; raise with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, KeyError) as e:
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" ({last_error})" if last_error else ""))


class Webhook:
    """An Alertmanager webhook receiver: records every POSTed notification with its path."""

    def __init__(self):
        self.port = free_port()
        self.notifications = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer._lock:
                    outer.notifications.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self._lock:
            return list(self.notifications)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Stack:
    """Owns a temp dir and every process started through it; stops them all on exit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kronos-e2e-")
        self.procs = []  # (name, Popen, log path)
        self.webhooks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name, proc, _ in reversed(self.procs):
            self.stop(proc)
        for w in self.webhooks:
            w.stop()
        if exc[0] is not None and not (exc[0] is SystemExit and exc[1].code in (0, None)):
            self.dump_logs()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def spawn(self, name, argv, env=None, preexec_fn=None):
        log = self.path(f"{name}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.dir,
                                    preexec_fn=preexec_fn)
        self.procs.append((name, proc, log))
        return proc

    @staticmethod
    def stop(proc, sig=signal.SIGTERM, timeout=15):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def dump_logs(self, tail=40):
        for name, _, log in self.procs:
            try:
                with open(log, errors="replace") as f:
                    lines = f.readlines()[-tail:]
            except OSError:
                continue
            print(f"---- last lines of {name} log ----")
            sys.stdout.write("".join(lines))

    # ------------------------------------------------------------ kronosd
    def kronosd(self, env=None, port=None, name="kronosd", preexec_fn=None):
        """Start kronosd on 127.0.0.1 (a free port unless given); returns (process, port) once live."""
        if not KRONOSD_BIN or not os.access(KRONOSD_BIN, os.X_OK):
            skip(f"KRONOSD_BIN={KRONOSD_BIN!r} is not an executable kronosd")
        given = port
        for attempt in range(5):
            port = given or free_port()
            full_env = dict(os.environ, KRONOS_HOST="127.0.0.1", KRONOS_PORT=str(port),
                            KRONOS_INSTANCE="e2e", KRONOS_LOG_LEVEL="INFO",
                            KRONOS_DRAIN_DELAY="0")  # stopped by SIGTERM
            full_env.update(env or {})
            proc = self.spawn(name, [KRONOSD_BIN], env=full_env, preexec_fn=preexec_fn)

            def live():
                if proc.poll() is not None:
                    return "exited"
                # another suite's server on the same port must not pass for ours
                return (http_request(port, "GET", "/v1/healthz", timeout=2)[0] == 200
                        and holds_listening_port(proc.pid, port))
            try:
                state = wait_until("kronosd /v1/healthz", live, 30 if SANITIZE else 15)
            except OSError:
                state = "exited" if proc.poll() is not None else None
            if state is True:
                return proc, port
            log = self.procs[-1][2]
            with open(log, errors="replace") as f:
                bind_failed = "cannot listen on" in f.read()
            if given or proc.poll() is None or not bind_failed:
                raise RuntimeError(f"kronosd did not start on port {port} (exit code {proc.poll()})")
            # the free port was taken meanwhile (kronosd could not bind): try another
        raise RuntimeError("kronosd found no free port")

    # ------------------------------------------------------------ Prometheus
    def prometheus(self, config_text, extra_args=()):
        if not shutil.which("prometheus"):
            skip("prometheus is not installed (Debian package prometheus)")
        port = free_port()
        cfg = self.write("prometheus.yml", config_text)
        proc = self.spawn("prometheus", [
            "prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.path('tsdb')}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            "--storage.tsdb.retention.time=1h", "--query.lookback-delta=30s", *extra_args])

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {proc.returncode}")
            return http_request(port, "GET", "/-/ready", timeout=2)[0] == 200
        wait_until("prometheus /-/ready", ready, 30)
        return Prometheus(port)

    # ------------------------------------------------------------ Alertmanager
    def alertmanager(self, config_text):
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if not binary:
            skip("Alertmanager is not installed (Debian package prometheus-alertmanager)")
        port = free_port()
        cfg = self.write("alertmanager.yml", config_text)
        proc = self.spawn("alertmanager", [
            binary, f"--config.file={cfg}", f"--storage.path={self.path('am')}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"])

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited with {proc.returncode}")
            return http_request(port, "GET", "/-/ready", timeout=2)[0] == 200
        wait_until("alertmanager /-/ready", ready, 30)
        return port

    # ------------------------------------------------------------ blackbox exporter
    def blackbox(self, config_path):
        binary = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
        if not binary:
            skip("the blackbox exporter is not installed (Debian package prometheus-blackbox-exporter)")
        port = free_port()
        proc = self.spawn("blackbox", [binary, f"--config.file={config_path}",
                                       f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"blackbox exporter exited with {proc.returncode}")
            return http_request(port, "GET", "/-/healthy", timeout=2)[0] == 200
        wait_until("blackbox exporter /-/healthy", ready, 30)
        return port

    def webhook(self):
        w = Webhook()
        self.webhooks.append(w)
        return w


class Prometheus:
    def __init__(self, port):
        self.port = port

    def api(self, path, **params):
        query = urllib.parse.urlencode(params)
        status, _, body = http_request(self.port, "GET", f"/api/v1/{path}" + (f"?{query}" if query else ""))
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise ValueError(f"{path} {params}: HTTP {status}: {doc.get('error', body[:200])}")
        return doc["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def value(self, expr):
        """The single value of an instant query, or None."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if len(result) == 1 else None


def alertmanager_test_config(example_path, webhook_port, yaml):
    """The example Alertmanager config with fast timers and every receiver replaced by a webhook at
    /<receiver name>; routes, grouping and inhibit rules are kept as shipped."""
    with open(example_path) as f:
        cfg = yaml.safe_load(f)
    cfg["global"] = {"resolve_timeout": "1m"}

    def speed_up(route, top):
        for key in ("group_wait", "group_interval"):
            if key in route or top:
                route[key] = "1s"
        if "repeat_interval" in route or top:
            route["repeat_interval"] = "1h"
        for child in route.get("routes", []):
            speed_up(child, False)
    speed_up(cfg["route"], True)
    cfg["receivers"] = [{"name": r["name"], "webhook_configs": [
        {"url": f"http://127.0.0.1:{webhook_port}/{r['name']}", "send_resolved": True}]}
        for r in cfg["receivers"]]
    return yaml.safe_dump(cfg, sort_keys=False)
