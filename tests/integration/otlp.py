"""The OTLP receiver of the tracing tests (tests/js/otlp_receiver.js, decoding with the official
opentelemetry-proto schema) as a context manager, and helpers to read what it received."""
import json
import os
import re
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "..", "js")
SCRIPT = os.path.join(JS, "otlp_receiver.js")


def receiver_available():
    return os.path.isdir(os.path.join(JS, "node_modules", "@opentelemetry", "otlp-transformer"))


class Receiver:
    """mode: ok | fail (answers `status`, with Retry-After when retry_after is set) | slow
    (answers 200 after delay_ms)."""

    def __init__(self, mode="ok", status=503, retry_after=None, delay_ms=0):
        fd, self.out = tempfile.mkstemp(prefix="otlp-", suffix=".jsonl")
        os.close(fd)
        self.args = ["node", SCRIPT, "--out", self.out, "--mode", mode, "--status", str(status),
                     "--delay-ms", str(delay_ms)]
        if retry_after is not None:
            self.args += ["--retry-after", str(retry_after)]
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, cwd=JS)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening (\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("the OTLP receiver did not start: %r" % line)
        self.port = int(m.group(1))
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)
        os.unlink(self.out)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def exports(self):
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def spans(self, trace_id=None):
        """Every span received (decoded), with its export's resource and scope."""
        out = []
        for e in self.exports():
            for rs in e.get("resourceSpans") or []:
                for s in rs["spans"]:
                    if trace_id is None or s["traceId"] == trace_id:
                        out.append(dict(s, resource=rs["resource"], scope=rs["scope"],
                                        protocol=e.get("protocol"), path=e.get("path"),
                                        headers=e.get("headers")))
        return out

    def wait_spans(self, pred, timeout=15):
        """Waits until pred(spans) is true; returns the spans then (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if pred(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)


def metrics(k, *names):
    """Counters' values from one scrape of kronosd's /v1/metrics (0 when absent). The scrape is
    a request with spans of its own: they come after the values it reads."""
    body = k.get("/v1/metrics").body.decode()
    out = []
    for name in names:
        m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
        out.append(float(m.group(1)) if m else 0.0)
    return out


def metric(k, name):
    return metrics(k, name)[0]
