"""Starts the real kronosd binary on a free port and talks to it over HTTP (stdlib only)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

BIN = os.environ.get("KRONOSD_BIN", "build/test/kronosd")
GOLDEN = os.environ.get("KRONOS_GOLDEN_DIR", "")
SANITIZE = os.environ.get("KRONOS_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
REQUIRED_LOG_FIELDS = ("timestamp", "level", "logger", "message")
# Every answer request() receives is checked against the OpenAPI document (contract.py);
# KRONOS_CONTRACT_CHECK=0 turns it off.
CONTRACT_CHECK = os.environ.get("KRONOS_CONTRACT_CHECK", "1") != "0"


def contract_check(method, path, answer):
    import contract
    contract.check(method, path, answer.status, {k.lower(): v for k, v in answer.headers},
                   answer.body)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


class Kronosd:
    """A running kronosd; use as a context manager. stdout lines are collected in self.lines."""

    def __init__(self, env=None, args=(), wait_ready=False, startup_timeout=30):
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update({"KRONOS_HOST": "127.0.0.1", "KRONOS_PORT": str(self.port),
                         "KRONOS_INSTANCE": "itest"})
        self.env.update(env or {})
        self.args = list(args)
        self.wait_ready = wait_ready
        self.startup_timeout = startup_timeout
        self.lines = []
        self.proc = None
        self.client_host = "127.0.0.1"  # where request() connects; set before entering

    def __enter__(self):
        self.proc = subprocess.Popen([BIN] + self.args, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        deadline = time.time() + self.startup_timeout
        path = "/v1/readyz" if self.wait_ready else "/v1/healthz"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kronosd exited early: %s" % self.proc.stderr.read().decode())
            try:
                r = self.request("GET", path)
                if r.status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("kronosd did not become %s" % ("ready" if self.wait_ready else "live"))

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode("utf-8"))

    def __exit__(self, *exc):
        self.stop()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._reader.join(5)
        return self.proc.returncode if self.proc else None

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection(self.client_host, self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            answer = Response(resp.status, resp.getheaders(), resp.read())
            if CONTRACT_CHECK:
                contract_check(method, path, answer)
            return answer
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def log_records(self):
        return [json.loads(line) for line in self.lines]


class Checker:
    """Collects failures so one run reports all of them; exit code 1 if any."""

    def __init__(self):
        self.failures = 0
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failures += 1
            print("FAIL: %s" % what, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failures))
        sys.exit(1 if self.failures else 0)
