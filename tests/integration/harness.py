"""Starts the real kronosd binary on a free port and talks to it over HTTP (stdlib only).

kronosd has no test hooks: the binary under test is the one a release build makes. What a test
needs to control comes from outside it: the Kronos engine on the tiny reference model, made slow
by an LD_PRELOAD shim (shim/slow_sgemm.c) or with its model load held open by another
(shim/hold_open.c); see kronos_env()."""
import collections
import errno
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from ports import free_port, holds_listening_port  # noqa: E402,F401 (free_port: for the suites)

BIN = os.environ.get("KRONOSD_BIN", "build/test/kronosd")
GOLDEN = os.environ.get("KRONOS_GOLDEN_DIR", "")
SANITIZE = os.environ.get("KRONOS_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
REQUIRED_LOG_FIELDS = ("timestamp", "level", "logger", "message")
SHIM_SLOW_SGEMM = os.environ.get("KRONOS_SHIM_SLOW_SGEMM", "")
SHIM_HOLD_OPEN = os.environ.get("KRONOS_SHIM_HOLD_OPEN", "")
TINY = os.path.join(GOLDEN, "tiny") if GOLDEN else ""

# With kronos_env(sgemm_delay_us=SGEMM_DELAY_US) each sample of slow_single() takes at least
# this long: 128 sgemm calls (counted) of >= 2 ms each; a loaded machine only makes it longer.
# The engine checks its cancel token every ~8 calls, so a cancelled forecast stops within ~20 ms.
SGEMM_DELAY_US = 2000
SECONDS_PER_SAMPLE = 0.25
# Every answer request() receives is checked against the OpenAPI document (contract.py);
# KRONOS_CONTRACT_CHECK=0 turns it off.
CONTRACT_CHECK = os.environ.get("KRONOS_CONTRACT_CHECK", "1") != "0"


def contract_check(method, path, answer):
    import contract
    contract.check(method, path, answer.status, {k.lower(): v for k, v in answer.headers},
                   answer.body)


def wait_healthz(port, proc, timeout):
    """For a kronosd a suite starts itself: the status of GET /v1/healthz on 127.0.0.1:port once
    it answers, or None when proc exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/v1/healthz")
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            time.sleep(0.05)
    return None


def cpu_flags():
    """The CPU's feature flags as /proc/cpuinfo lists them."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_avx2_fma():
    flags = cpu_flags()
    return "avx2" in flags and "fma" in flags


def have_tiny_model(what):
    """True when the tiny reference model is there; else prints a SKIP line for `what`."""
    if TINY and os.path.isdir(TINY) and SHIM_SLOW_SGEMM and SHIM_HOLD_OPEN:
        return True
    print("SKIP: %s (needs the golden data and the test shims)" % what, flush=True)
    return False


def sanitizer_runtime():
    """The ASan or TSan runtime kronosd is linked with, if any: it must come first in LD_PRELOAD
    (ASan refuses to start otherwise, and the shims' calls must go through its interceptors)."""
    out = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*lib[at]san\.so\S* => (\S+)", line)
        if m:
            return m.group(1)
    return None


def kronos_env(sgemm_delay_us=0, held_load=None, **overrides):
    """Environment running the shipped kronosd on the Kronos engine with the tiny reference model
    and one inference thread; with sgemm_delay_us every matrix product sleeps that long first
    (slow_sgemm.so), with held_load (a HeldLoad) the model load waits for its release()."""
    env = {"KRONOS_MODEL_PATH": os.path.join(TINY, "model"),
           "KRONOS_TOKENIZER_PATH": os.path.join(TINY, "tokenizer"), "KRONOS_MAX_CONTEXT": "16",
           "KRONOS_INFERENCE_THREADS": "1", "KRONOS_MAX_SAMPLE_COUNT": "1024"}
    preload = []
    if sgemm_delay_us:
        preload.append(SHIM_SLOW_SGEMM)
        env["KRONOS_SHIM_SGEMM_DELAY_US"] = str(sgemm_delay_us)
        # The shim slows OpenBLAS's sgemm. The avx512 set multiplies with its own packed product
        # and never calls it, so slow forecasts run on the avx2 set (or portable without AVX2),
        # whose products of more than a few rows are sgemm calls.
        env["KRONOS_SIMD"] = "avx2" if cpu_has_avx2_fma() else "portable"
    if held_load:
        preload.append(SHIM_HOLD_OPEN)
        env.update(held_load.env())
    if preload:
        first = sanitizer_runtime()
        env["LD_PRELOAD"] = " ".join(([first] if first else []) + preload)
    env.update(overrides)
    return env


def slow_single(seconds, series_id="SLOW"):
    """A /v1/predict/single body that, under kronos_env(sgemm_delay_us=SGEMM_DELAY_US), takes at
    least `seconds` (more on a loaded machine): 32 bars, so the 16-bar window slides from the
    first step, 16 steps, and as many samples as needed."""
    from predict_data import single
    samples = max(1, math.ceil(seconds / SECONDS_PER_SAMPLE))
    return single(32, 16, series_id=series_id, overrides={"sample_count": samples})


class HeldLoad:
    """Holds the Kronos model load of a kronosd until release(): hold_open.so makes the engine's
    open() of the model weights wait on a FIFO that release() opens and closes. Use as a context
    manager (it removes the FIFO)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kronos-held-load-")
        self.fifo = os.path.join(self.dir, "release")
        os.mkfifo(self.fifo)

    def env(self):
        return {"KRONOS_SHIM_HOLD_PATH": os.path.join(TINY, "model", "model.safetensors"),
                "KRONOS_SHIM_HOLD_RELEASE": self.fifo}

    def release(self, timeout=30):
        """Lets the load go on; False when kronosd never got to it within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:  # without a reader yet (the load has not reached the open), ENXIO
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
                return True
            except OSError as e:
                if e.errno != errno.ENXIO or time.monotonic() > deadline:
                    return False
            time.sleep(0.02)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


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


# What report() prints of a kronosd's output: bounded, so a failing run stays readable.
REPORT_STDOUT_LINES = 40
REPORT_STDERR_HEAD = 20  # an ASan report names the error in its first lines ...
REPORT_STDERR_TAIL = 80  # ... and ends with its SUMMARY line
REPORT_LINE_CHARS = 1000
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                              r"WARNING: ThreadSanitizer")
_started = []  # every Kronosd this script started, newest last (report() on a failed check)


def describe_exit(returncode):
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        return "killed by signal %d (%s)" % (-returncode, name)
    return "exit code %d" % returncode


class _Process(subprocess.Popen):
    """Popen that remembers the signals sent through it, for Kronosd.report()."""

    def __init__(self, *args, **kw):
        self.t0 = time.monotonic()
        self.signals_sent = []  # (seconds since start, signal, by whom)
        self.sender = "the test"
        super().__init__(*args, **kw)

    def send_signal(self, sig):
        if self.poll() is None:
            self.signals_sent.append((time.monotonic() - self.t0, sig, self.sender))
        super().send_signal(sig)


class Kronosd:
    """A running kronosd; use as a context manager. stdout lines are collected in self.lines,
    stderr (where sanitizer reports go) in self.stderr_head and self.stderr_tail. When the script
    fails while one runs or after it ended (a failed check, an exception), report() prints its
    exit status, the signals sent to it, the end of its stdout log and its stderr."""

    def __init__(self, env=None, args=(), wait_ready=False, startup_timeout=30):
        self.port = free_port()
        self.env = dict(os.environ)
        # Tests stop kronosd with SIGTERM all the time: no drain delay unless a test asks for one.
        self.env.update({"KRONOS_HOST": "127.0.0.1", "KRONOS_PORT": str(self.port),
                         "KRONOS_INSTANCE": "itest", "KRONOS_DRAIN_DELAY": "0"})
        self.env.update(env or {})
        self.args = list(args)
        self.wait_ready = wait_ready
        self.startup_timeout = startup_timeout
        self.lines = []
        self.proc = None
        self.client_host = "127.0.0.1"  # where request() connects; set before entering
        self.reported = False
        self.report_wanted = False
        self.exited_before_stop = False  # ended before the harness's stop()

    def _listening(self):
        return holds_listening_port(self.proc.pid, self.port)

    def _spawn(self):
        self.lines = []
        self.stderr_head, self.stderr_tail = [], collections.deque(maxlen=REPORT_STDERR_TAIL)
        self.stderr_lines = 0
        self.stdout_eof = self.stderr_eof = None
        self.proc = _Process([BIN] + self.args, env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # Both pipes are drained all the time: a kronosd blocked on a full pipe would look hung.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    def stderr_text(self):
        """kronosd's stderr as far as kept: the first and last lines (all of it when short)."""
        self._err_reader.join(5 if self.proc.poll() is not None else 0)
        skipped = self.stderr_lines - len(self.stderr_head) - len(self.stderr_tail)
        lines = self.stderr_head + (["[... %d lines ...]\n" % skipped] if skipped > 0 else [])
        return "".join(lines + list(self.stderr_tail))

    def __enter__(self):
        _started.append(self)
        for attempt in range(5):
            self._spawn()
            deadline = time.time() + self.startup_timeout
            path = "/v1/readyz" if self.wait_ready else "/v1/healthz"
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    err = self.stderr_text()
                    if "cannot listen" in err and self.env["KRONOS_PORT"] == str(self.port):
                        break  # the port was taken meanwhile: try another one
                    self.report("exited while starting")
                    raise RuntimeError("kronosd exited early (%s); its stderr is in the report "
                                       "above" % describe_exit(self.proc.returncode))
                try:
                    r = self.request("GET", path)
                    if r.status == 200 and self._listening():
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            else:
                self.stop()
                self.report("did not become %s" % ("ready" if self.wait_ready else "live"))
                raise RuntimeError("kronosd did not become %s"
                                   % ("ready" if self.wait_ready else "live"))
            self.port = free_port()
            self.env["KRONOS_PORT"] = str(self.port)
        raise RuntimeError("kronosd found no free port")

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode("utf-8"))
        self.stdout_eof = time.monotonic() - self.proc.t0

    def _read_stderr(self):
        for line in self.proc.stderr:
            text = line.decode("utf-8", "replace")
            if len(self.stderr_head) < REPORT_STDERR_HEAD:
                self.stderr_head.append(text)
            else:
                self.stderr_tail.append(text)
            self.stderr_lines += 1
        self.stderr_eof = time.monotonic() - self.proc.t0

    def __exit__(self, exc_type, exc, tb):
        why = None
        if exc_type is not None and not issubclass(exc_type, SystemExit):
            why = "the test raised %s: %s" % (exc_type.__name__, exc)
        elif self.report_wanted:
            why = "a check failed while it ran"
        self.stop(why=why)

    def stop(self, sig=signal.SIGTERM, timeout=30, why=None):
        """Stops kronosd (sig, then SIGKILL after timeout s) unless it ended already; returns
        its exit code. Reports it when `why` is given or the stop itself went wrong."""
        reasons = [why] if why else []
        if self.proc and self.proc.poll() is None:
            # After a failure this may be kronosd's second stop signal, which ends it at once:
            # report() says who sent which.
            self.proc.sender = "the harness's stop()"
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                reasons.append("did not stop within %d s of %s; killed"
                               % (timeout, signal.Signals(sig).name))
        elif self.proc:
            self.exited_before_stop = True
        if not self.proc:
            return None
        self._reader.join(5)
        self._err_reader.join(5)
        if self.proc.returncode < 0 and not self.proc.signals_sent:
            reasons.append("killed by a signal not sent through the harness")
        if SANITIZER_REPORT.search(self.stderr_text()):
            reasons.append("a sanitizer reported an error")
        if reasons:
            self.report("; ".join(reasons))
        return self.proc.returncode

    def report(self, why):
        """Prints (once) why this kronosd may have failed the test, bounded to ~150 lines."""
        if self.reported or not self.proc:
            return
        self.reported = True
        p = self.proc
        if p.poll() is not None:
            self._reader.join(2)
        out = ["---- kronosd report (%s) ----" % why,
               "pid %d, port %d, %s after %.2f s%s" % (
                   p.pid, self.port, describe_exit(p.returncode), time.monotonic() - p.t0,
                   "; it had ended before the harness's stop()" if self.exited_before_stop else ""),
               "signals sent through the harness: %s" % (", ".join(
                   "%s at %.2f s by %s" % (signal.Signals(s).name, t, who)
                   for t, s, who in p.signals_sent)
                   or "none"),
               "stdout closed at %s, stderr closed at %s" % (
                   "%.2f s" % self.stdout_eof if self.stdout_eof is not None else "-",
                   "%.2f s" % self.stderr_eof if self.stderr_eof is not None else "-")]
        if p.returncode is None:
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    out.append("process state: %s" % f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass
        lines = list(self.lines)
        out.append("-- stdout: last %d of %d lines --" % (min(len(lines), REPORT_STDOUT_LINES),
                                                         len(lines)))
        out.extend(line.rstrip("\n")[:REPORT_LINE_CHARS] for line in lines[-REPORT_STDOUT_LINES:])
        out.append("-- stderr (%d lines) --" % self.stderr_lines)
        out.append(self.stderr_text().rstrip("\n"))
        out.append("---- end of kronosd report ----")
        print("\n".join(out), flush=True)

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

    def wait_forecasts_received(self, n=1, endpoint="/v1/predict/single", timeout=30):
        """Waits until the server has taken in n forecast requests on `endpoint` since it started
        (kronos_prediction_input_size_count: parsed, now queued or running); returns whether it
        had before the timeout. Unlike kronos_concurrent_requests, which a request leaves only
        after its answer was sent, this cannot count an earlier request."""
        pattern = re.compile(r'^kronos_prediction_input_size_count\{endpoint="%s"\} (\S+)$'
                             % endpoint, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = pattern.search(self.get("/v1/metrics").body.decode())
            if m and float(m.group(1)) >= n:
                return True
            time.sleep(0.02)
        return False

    def wait_until_ready(self, timeout=30):
        """Waits until readiness answers 200; returns whether it did before the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/v1/readyz").status == 200:
                return True
            time.sleep(0.02)
        return False


def on_failure():
    """A check failed: a kronosd still running is reported when it stops, the newest one that
    already stopped at once."""
    running = [k for k in _started if k.proc and k.proc.poll() is None]
    for k in running:
        k.report_wanted = True
    if not running and _started:
        _started[-1].report("a check failed after it ended")


def _report_on_uncaught(exc_type, exc, tb):
    if _started:
        _started[-1].report("uncaught %s" % exc_type.__name__)
    _default_excepthook(exc_type, exc, tb)


_default_excepthook, sys.excepthook = sys.excepthook, _report_on_uncaught


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
            on_failure()
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failures))
        sys.exit(1 if self.failures else 0)
