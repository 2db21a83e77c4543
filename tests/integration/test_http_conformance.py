"""Issue 9: raw-socket HTTP/1.1 conformance of kronosd's server (the rules: docs/SECURITY.md, "The HTTP
server: what it accepts and how it protects itself").

Every case writes raw bytes (never http.client for the request under test) and checks: the status; one
well-formed header block with Content-Length and exactly that many body bytes, nothing else before
close; X-Request-ID and traceparent; the SPEC section 1 envelope for non-2xx; exactly the expected
kronos_requests_total{route,status} increments; kronos_concurrent_requests back to idle; the
connection closed or kept as the behaviour contract says; one `request completed` log line per answer.

Three server processes: the protocol cases (one configuration, ended by SIGTERM after a query-argument
flood), the connection-cap flood, and the per-IP cap.
"""
import json
import re
import select
import signal
import socket
import subprocess
import threading
import time

import predict_data
from harness import Checker, Kronosd


class CaseChecker(Checker):
    """A Checker that also remembers which cases failed, for a one-line summary at the end."""

    def __init__(self):
        super().__init__()
        self.failed_cases = []

    def check(self, cond, what):
        case = what.split(":")[0]
        if not cond and case not in self.failed_cases:
            self.failed_cases.append(case)
        return super().check(cond, what)


c = CaseChecker()
READ_TIMEOUT = 2.0
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) [\x20-\x7e\x80-\xff]*$")
HEADER_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$")
OTHER = ("other",)
SCRAPE_KEY = ("/v1/metrics", "success")  # the scrapes themselves; never a case under test


def show(data, n=160):
    return repr(bytes(data[:n])) + ("...(%d bytes)" % len(data) if len(data) > n else "")


def status_label(status):
    """SPEC section 3: the status label of kronos_requests_total."""
    if 200 <= status < 400:
        return "success"
    if status == 429:
        return "rate_limited"
    if status == 499:
        return "cancelled"
    if 400 <= status < 500:
        return "invalid"
    return {503: "unavailable", 504: "timeout"}.get(status, "error")


class Answer:
    def __init__(self, status, headers, body, problems):
        self.status = status
        self.headers = headers
        self.body = body
        self.problems = problems

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Conn:
    """A raw client connection with its own receive buffer."""

    def __init__(self, port, src=None, timeout=READ_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(src, 0) if src else None)
        self.buf = b""
        self.eof = False
        self.reset = False
        self.send_error = None

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError as e:  # the server may refuse and close while we still write
            self.send_error = e
            return False

    def half_close(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()

    def _fill(self, timeout):
        if self.eof or timeout <= 0:
            return False
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def readable_within(self, timeout):
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])

    def state(self):
        return "received %s%s" % (show(self.buf), ", reset" if self.reset else
                                  ", closed" if self.eof else ", still open")

    def read_answer(self, timeout=READ_TIMEOUT, head_request=False):
        """One framed answer (1xx answers included), or None if none arrived complete in time."""
        deadline = time.time() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline - time.time()):
                return None
        end = self.buf.index(b"\r\n\r\n")
        lines = self.buf[:end].split(b"\r\n")
        rest = self.buf[end + 4:]
        problems = []
        m = STATUS_LINE.match(lines[0])
        if not m:
            problems.append("malformed status line %s" % show(lines[0]))
            status = None
        else:
            status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            h = HEADER_LINE.match(line)
            if not h or b"\n" in line or b"\r" in line:
                problems.append("malformed header line %s" % show(line))
                continue
            headers.append((h.group(1).decode("latin-1"), h.group(2).decode("latin-1")))
        a = Answer(status, headers, b"", problems)
        if status is not None and 100 <= status < 200:
            self.buf = rest
            return a
        lengths = a.headers_named("Content-Length")
        if a.headers_named("Transfer-Encoding"):
            problems.append("answer has Transfer-Encoding %r" % a.headers_named("Transfer-Encoding"))
        if len(lengths) != 1 or not lengths[0].isdigit():
            problems.append("Content-Length headers %r, want exactly one number" % lengths)
            n = 0
        else:
            n = int(lengths[0])
        if head_request:
            n = 0
        while len(rest) < n and self._fill(deadline - time.time()):
            rest = self.buf[end + 4:]
        if len(rest) < n:
            problems.append("body has %d of %d bytes" % (len(rest), n))
        a.body = rest[:n]
        self.buf = rest[n:]
        return a

    def read_to_eof(self, timeout=READ_TIMEOUT):
        """(closed, trailing bytes): whether the server closed within timeout, and what it sent first."""
        deadline = time.time() + timeout
        while not self.eof and time.time() < deadline:
            self._fill(deadline - time.time())
        trailing, self.buf = self.buf, b""
        return self.eof, trailing


def parse_metrics(text):
    counts, concurrent = {}, None
    for line in text.splitlines():
        if line.startswith("kronos_requests_total{"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line[line.index("{"):line.index("}")]))
            counts[(labels.get("route"), labels.get("status"))] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("kronos_concurrent_requests "):
            concurrent = float(line.split()[1])
    return counts, concurrent


def scrape(k):
    return parse_metrics(k.get("/v1/metrics", timeout=10).body.decode())


def delta_of(before, after):
    d = {key: after.get(key, 0) - before.get(key, 0) for key in set(before) | set(after)}
    d.pop(SCRAPE_KEY, None)
    return {key: v for key, v in d.items() if v}


def matches(delta, expected):
    """expected: [(routes, status_label, n)]; routes is a tuple of acceptable route labels."""
    left = dict(delta)
    for routes, label, n in expected:
        for r in routes:
            take = min(n, left.get((r, label), 0))
            n -= take
            if take:
                left[(r, label)] -= take
        if n:
            return False
    return not any(left.values())


class Server:
    """A Kronosd plus the idle value of kronos_concurrent_requests and the request ids it answered."""

    def __init__(self, k):
        self.k = k
        self.port = k.port
        self.ids = []
        # the start-up probe's request may still be completing: its gauge drops after the answer
        deadline = time.time() + 2
        _, self.idle = scrape(k)
        while self.idle not in (0, 1) and time.time() < deadline:
            time.sleep(0.05)
            _, self.idle = scrape(k)
        c.check(self.idle in (0, 1), "idle kronos_concurrent_requests is 0 (or 1: the scrape itself), "
                "got %r" % self.idle)

    def before(self):
        return scrape(self.k)[0]

    def check_metrics(self, before, expected, name):
        """Polls briefly: the count may land just after the answer is written."""
        want = [(r if isinstance(r, tuple) else (r,), label, n) for r, label, n in expected]
        deadline = time.time() + 2
        while True:
            counts, concurrent = scrape(self.k)
            delta = delta_of(before, counts)
            ok_count, ok_conc = matches(delta, want), concurrent == self.idle
            if (ok_count and ok_conc) or time.time() > deadline:
                break
            time.sleep(0.05)
        c.check(ok_count, "%s: kronos_requests_total increments %s, want %s" % (
            name, sorted(delta.items()), ["%s{route=%s,status=%s}" % ("+%d" % n, "|".join(r), s)
                                          for r, s, n in want]))
        c.check(ok_conc, "%s: kronos_concurrent_requests back to %s, got %r" % (name, self.idle, concurrent))

    def check_answer(self, a, conn, name, status, code=None, allow=None):
        """Checks one final answer; returns True when an answer arrived."""
        if not c.check(a is not None, "%s: no complete answer (%s)" % (name, conn.state())):
            return False
        for p in a.problems:
            c.check(False, "%s: %s" % (name, p))
        c.eq(a.status, status, "%s: status" % name)
        rid = a.header("X-Request-ID")
        c.check(rid, "%s: X-Request-ID present (headers %r)" % (name, a.headers))
        if rid:
            self.ids.append(rid)
        c.check(TRACEPARENT.match(a.header("traceparent") or ""),
                "%s: traceparent valid, got %r" % (name, a.header("traceparent")))
        if a.status is None:
            return True
        c.check((a.header("Content-Type") or "").startswith("application/json"),
                "%s: Content-Type JSON, got %r" % (name, a.header("Content-Type")))
        if a.status < 300:
            return True
        try:
            env = json.loads(a.body)
            err = env["error"]
            # 422: SPEC shows FastAPI's list; today's binary and test_bad_requests use the message string
            ok = (isinstance(env.get("detail"), (list, str) if a.status == 422 else str)
                  and isinstance(err.get("message"), str) and isinstance(err.get("details"), list))
            c.check(ok, "%s: envelope fields, got %s" % (name, show(a.body)))
            if code:
                c.eq(err.get("code"), code, "%s: error.code" % name)
            c.eq(err.get("request_id"), rid, "%s: error.request_id == X-Request-ID" % name)
        except (ValueError, KeyError, TypeError, AttributeError):
            c.check(False, "%s: body is the error envelope, got %s" % (name, show(a.body)))
        if allow:
            got = [m.strip() for m in (a.header("Allow") or "").split(",")]
            c.check(all(m in got for m in allow),
                    "%s: Allow lists %s, got %r" % (name, allow, a.header("Allow")))
        if a.status in (429, 503):
            c.check((a.header("Retry-After") or "").isdigit(),
                    "%s: Retry-After seconds, got %r" % (name, a.header("Retry-After")))
        return True

    def check_closed(self, conn, a, name, close_header=True):
        if a is not None and close_header:
            c.check("close" in (a.header("Connection") or "").lower(),
                    "%s: Connection: close, got %r" % (name, a.header("Connection")))
        closed, trailing = conn.read_to_eof()
        c.check(closed, "%s: server closes the connection after the answer" % name)
        c.check(trailing == b"", "%s: nothing after the framed answer, got %s" % (name, show(trailing)))

    def check_kept(self, conn, a, name, version=b"HTTP/1.1"):
        """A second request on the connection is answered: it was kept and the first answer was framed."""
        if a is not None:
            c.check("close" not in (a.header("Connection") or "").lower(),
                    "%s: connection kept, got Connection: %r" % (name, a.header("Connection")))
        extra = b"Connection: keep-alive\r\n" if version == b"HTTP/1.0" else b""
        conn.send(b"GET /v1/healthz " + version + b"\r\nHost: x\r\n" + extra + b"\r\n")
        b = conn.read_answer()
        ok = c.check(b is not None and b.status == 200 and b.body == b'{"status":"ok"}',
                     "%s: second request on the kept connection answered 200, %s" % (
                         name, "got %r %s" % (b.status, show(b.body)) if b else conn.state()))
        if b is not None and b.header("X-Request-ID"):
            self.ids.append(b.header("X-Request-ID"))
        return ok

    def case(self, name, data, status, code=None, route=OTHER, close=True, allow=None,
             head_request=False, close_header=True):
        """One request on a fresh connection. close: True (closed), False (kept), None (not judged)."""
        before = self.before()
        conn = Conn(self.port)
        conn.send(data)
        a = conn.read_answer(head_request=head_request)
        self.check_answer(a, conn, name, status, code, allow)
        expected = [(route, status_label(status), 1)]
        if close:
            self.check_closed(conn, a, name, close_header)
        elif close is False and a is not None:
            self.check_kept(conn, a, name)
            expected.append(("/v1/healthz", "success", 1))
        conn.close()
        self.check_metrics(before, expected, name)
        return a

    def check_logs(self, what):
        completed = {}
        for rec in self.k.log_records():
            if rec.get("message") == "request completed":
                completed[rec.get("request_id")] = completed.get(rec.get("request_id"), 0) + 1
        wrong = [rid for rid in self.ids if completed.get(rid, 0) != 1]
        c.check(not wrong, "%s: one `request completed` line per answer; %d of %d answers have %s" % (
            what, len(wrong), len(self.ids), [completed.get(rid, 0) for rid in wrong[:5]]))


def req(line, headers=b"Host: x\r\n", body=b""):
    return line + b"\r\n" + headers + b"\r\n" + body


def post(headers, body=b"", path=b"/v1/predict/single", version=b"HTTP/1.1"):
    return b"POST " + path + b" " + version + b"\r\nHost: x\r\nContent-Type: application/json\r\n" + \
        headers + b"\r\n" + body


VALID = json.dumps(predict_data.single(n=32, pred=4)).encode()
PREDICT = ("other", "/v1/predict/single")  # framing errors after a good request line: either label
HEALTHZ = ("other", "/v1/healthz")


def request_line_cases(s):
    s.case("garbage request line", b"GARBAGE\r\n\r\n", 400, "bad_request")
    s.case("missing version", b"GET /v1/healthz\r\nHost: x\r\n\r\n", 400, "bad_request")
    s.case("lower-case version", req(b"GET /v1/healthz http/1.1"), 400, "bad_request")
    s.case("two spaces", req(b"GET  /v1/healthz HTTP/1.1"), 400, "bad_request")
    s.case("target not origin-form", req(b"GET v1/healthz HTTP/1.1"), 400, "bad_request")
    s.case("https absolute-form", req(b"GET https://x/v1/healthz HTTP/1.1"), 200,
           route="/v1/healthz", close=False)  # absolute-form names the path either way
    s.case("http absolute-form", req(b"GET http://x/v1/healthz HTTP/1.1"), 200,
           route="/v1/healthz", close=False)
    for v in (b"HTTP/2.0", b"HTTP/1.2", b"HTTP/3"):
        s.case("version " + v.decode(), req(b"GET /v1/healthz " + v), 505, "http_version_not_supported")
    s.case("non-token method", req(b"GE{T /v1/healthz HTTP/1.1"), 400, "bad_request")
    s.case("method byte 0xe9", req(b"G\xc3\xa9T /v1/healthz HTTP/1.1"), 400, "bad_request")
    s.case("method byte 0xff", req(b"\xffGET /v1/healthz HTTP/1.1"), 400, "bad_request")
    s.case("unknown method BREW", req(b"BREW /v1/healthz HTTP/1.1"), 405, "method_not_allowed",
           route="/v1/healthz", close=False, allow=["GET", "HEAD"])
    s.case("PUT on predict", req(b"PUT /v1/predict/single HTTP/1.1", b"Host: x\r\nContent-Length: 0\r\n"),
           405, "method_not_allowed", route="/v1/predict/single", close=False, allow=["POST"])
    s.case("unknown path", req(b"GET /v1/nope HTTP/1.1"), 404, "not_found", close=False)
    s.case("query ignored by routing", req(b"GET /v1/healthz?a=1 HTTP/1.1"), 200, route="/v1/healthz",
           close=False)
    s.case("target 8192 bytes", req(b"GET /" + b"a" * 8191 + b" HTTP/1.1"), 404, "not_found", close=False)
    s.case("target 8193 bytes", req(b"GET /" + b"a" * 8192 + b" HTTP/1.1"), 414, "uri_too_long")
    s.case("%00 in path", req(b"GET /v1/healthz%00 HTTP/1.1"), 400, "bad_request")
    s.case("%00 inside path", req(b"GET /v1/%00/healthz HTTP/1.1"), 400, "bad_request")
    s.case("raw NUL in path", req(b"GET /v1/health\x00z HTTP/1.1"), 400, "bad_request")


def header_cases(s):
    g = b"GET /v1/healthz HTTP/1.1"
    s.case("100 header lines", req(g, b"Host: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(99))),
           200, route="/v1/healthz", close=False)
    s.case("101 header lines", req(g, b"Host: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100))),
           431, "headers_too_large")
    s.case("15000-byte header", req(g, b"Host: x\r\nX-Big: " + b"a" * 15000 + b"\r\n"), 200,
           route="/v1/healthz", close=False)
    s.case("17000-byte header", req(g, b"Host: x\r\nX-Big: " + b"a" * 17000 + b"\r\n"), 431,
           "headers_too_large")
    for name, line in [("NUL in header value", b"X-A: a\x00b"), ("bare CR in header value", b"X-A: a\rb"),
                       ("bare LF in header value", b"X-A: a\nb"), ("obs-fold", b"X-A: a\r\n  b"),
                       ("space before colon", b"X-A : a"), ("non-token header name", b"X(A): a"),
                       ("header line without colon", b"X-A")]:
        s.case(name, req(g, b"Host: x\r\n" + line + b"\r\n"), 400, "bad_request", route=HEALTHZ)
    s.case("HTTP/1.1 without Host", req(g, b""), 400, "bad_request", route=HEALTHZ)
    s.case("two Host headers", req(g, b"Host: x\r\nHost: y\r\n"), 400, "bad_request", route=HEALTHZ)
    s.case("HTTP/1.0 without Host", req(b"GET /v1/healthz HTTP/1.0", b""), 200, route="/v1/healthz",
           close_header=False)
    s.case("two X-Container-Name", post(b"X-Container-Name: a\r\nX-Container-Name: localhost\r\n"
                                        b"Content-Length: %d\r\n" % len(VALID), VALID),
           400, "bad_request", route="/v1/predict/single", close=None)


def body_framing_cases(s):
    for cl in (b"-1", b"abc", b"+5", b"0x10", b"1, 1", b"18446744073709551616", b"9223372036854775808"):
        s.case("Content-Length %s" % cl.decode(), post(b"Content-Length: " + cl + b"\r\n"), 400,
               "bad_request", route=PREDICT)
    s.case("Content-Length twice, equal", post(b"Content-Length: 2\r\nContent-Length: 2\r\n", b"{}"),
           400, "bad_request", route=PREDICT)
    s.case("Content-Length twice, different",
           post(b"Content-Length: 2\r\nContent-Length: 40\r\n",
                b"{}GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n\r\n"), 400, "bad_request", route=PREDICT)
    s.case("Content-Length with OWS", post(b"Content-Length:  2 \r\n", b"{}"), 422, "validation_error",
           route="/v1/predict/single", close=False)
    s.case("Content-Length 2^63-1", post(b"Content-Length: 9223372036854775807\r\n"), 413,
           "payload_too_large", route="/v1/predict/single")
    s.case("Content-Length and Transfer-Encoding",
           post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400, "bad_request",
           route=PREDICT)
    for te in (b"gzip", b"identity", b"chunked, chunked", b"gzip, chunked"):
        s.case("Transfer-Encoding %s" % te.decode(), post(b"Transfer-Encoding: " + te + b"\r\n"), 501,
               "not_implemented", route=PREDICT)
    s.case("Transfer-Encoding on HTTP/1.0",
           post(b"Transfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n", version=b"HTTP/1.0"), 400,
           "bad_request", route=PREDICT)
    te = b"Transfer-Encoding: chunked\r\n"
    s.case("chunked, case-insensitive", post(b"Transfer-Encoding: Chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
           422, "validation_error", route="/v1/predict/single", close=False)
    s.case("chunk extension", post(te, b"2;name=value\r\n{}\r\n0\r\n\r\n"), 422, "validation_error",
           route="/v1/predict/single", close=False)
    for name, body in [("chunk size bad hex", b"zz\r\n{}\r\n0\r\n\r\n"),
                       ("chunk size 17 hex digits", b"00000000000000002\r\n{}\r\n0\r\n\r\n"),
                       ("64 KiB chunk extension", b"2;" + b"a" * 65536 + b"\r\n{}\r\n0\r\n\r\n"),
                       ("no CRLF after chunk data", b"2\r\n{}XX0\r\n\r\n"),
                       ("17000-byte trailer", b"2\r\n{}\r\n0\r\nX-T: " + b"a" * 17000 + b"\r\n\r\n")]:
        s.case(name, post(te, body), 400, "bad_request", route=PREDICT)
    s.case("413 from Content-Length", post(b"Content-Length: 2000000\r\n"), 413, "payload_too_large",
           route="/v1/predict/single")
    s.case("413 on a GET route", req(b"GET /v1/healthz HTTP/1.1", b"Host: x\r\nContent-Length: 2000000\r\n"),
           413, "payload_too_large", route="/v1/healthz")

    name = "413 while a chunked body streams"
    before = s.before()
    conn = Conn(s.port)
    conn.send(post(te))
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    for _ in range(24):  # 1.5 MiB, over the 1 MiB limit; stop when the server stops reading
        if not conn.send(chunk) or conn.readable_within(0):
            break
    a = conn.read_answer()
    s.check_answer(a, conn, name, 413, "payload_too_large")
    s.check_closed(conn, a, name)
    conn.close()
    s.check_metrics(before, [("/v1/predict/single", "invalid", 1)], name)


def pipelining_cases(s):
    name = "pipelined GETs"
    before = s.before()
    conn = Conn(s.port)
    conn.send(req(b"GET /v1/healthz HTTP/1.1") + req(b"GET /v1/nope HTTP/1.1") +
              req(b"GET /v1/readyz HTTP/1.1"))
    for i, (status, marker) in enumerate([(200, b'"ok"'), (404, b'"not_found"'), (200, b'"model_loaded"')]):
        a = conn.read_answer()
        if s.check_answer(a, conn, "%s #%d" % (name, i + 1), status, "not_found" if status == 404 else None):
            c.check(marker in a.body, "%s #%d: answers in order, got %s" % (name, i + 1, show(a.body)))
    s.check_kept(conn, None, name)
    conn.close()
    s.check_metrics(before, [("/v1/healthz", "success", 2), ("other", "invalid", 1),
                             ("/v1/readyz", "success", 1)], name)

    name = "pipelined GET then POST predict"
    before = s.before()
    conn = Conn(s.port)
    conn.send(req(b"GET /v1/healthz HTTP/1.1") + post(b"Content-Length: %d\r\n" % len(VALID), VALID))
    a = conn.read_answer()
    if s.check_answer(a, conn, name + " #1", 200):
        c.eq(a.body, b'{"status":"ok"}', name + " #1 body")
    a = conn.read_answer(timeout=10)
    if s.check_answer(a, conn, name + " #2", 200):
        c.check(b'"prediction"' in a.body, "%s #2: a forecast, got %s" % (name, show(a.body)))
    s.check_kept(conn, None, name)
    conn.close()
    s.check_metrics(before, [("/v1/healthz", "success", 2), ("/v1/predict/single", "success", 1)], name)

    s.case("pipelined after a parse error", b"GARBAGE\r\n\r\n" + req(b"GET /v1/healthz HTTP/1.1"), 400,
           "bad_request")


def expect_cases(s):
    for body, status in ((VALID, 200), (b"{}", 422)):
        name = "Expect: 100-continue, then %d" % status
        before = s.before()
        conn = Conn(s.port)
        conn.send(post(b"Expect: 100-continue\r\nContent-Length: %d\r\n" % len(body)))
        interim = conn.read_answer()
        got = conn.state() if interim is None else "got %r %r" % (interim.status, interim.problems)
        c.check(interim is not None and interim.status == 100 and not interim.problems,
                "%s: 100 Continue before the body (%s)" % (name, got))
        conn.send(body)
        a = conn.read_answer(timeout=10)
        s.check_answer(a, conn, name, status, "validation_error" if status == 422 else None)
        if a is not None:
            s.check_kept(conn, a, name)
        conn.close()
        s.check_metrics(before, [("/v1/predict/single", status_label(status), 1),
                                 ("/v1/healthz", "success", 1)], name)

    for name, data, status, code, route in [
            ("Expect refused by 413", post(b"Expect: 100-continue\r\nContent-Length: 2000000\r\n"), 413,
             "payload_too_large", "/v1/predict/single"),
            ("Expect refused by 404",
             post(b"Expect: 100-continue\r\nContent-Length: 10\r\n", path=b"/v1/nope"), 404, "not_found",
             "other")]:
        before = s.before()
        conn = Conn(s.port)
        conn.send(data)
        a = conn.read_answer()
        if a is not None and a.status == 100:
            c.check(False, "%s: no 100 Continue when the request is refused" % name)
            a = conn.read_answer()
        s.check_answer(a, conn, name, status, code)
        s.check_closed(conn, a, name)
        conn.close()
        s.check_metrics(before, [(route, "invalid", 1)], name)


def connection_cases(s):
    for name, data, status, route in [
            ("half-close after GET healthz", req(b"GET /v1/healthz HTTP/1.1"), 200, "/v1/healthz"),
            ("half-close after a 404", req(b"GET /v1/nope HTTP/1.1"), 404, "other"),
            ("half-close after a 422", post(b"Content-Length: 2\r\n", b"{}"), 422, "/v1/predict/single")]:
        before = s.before()
        conn = Conn(s.port)
        conn.send(data)
        conn.half_close()
        a = conn.read_answer()
        s.check_answer(a, conn, name, status, {404: "not_found", 422: "validation_error"}.get(status))
        s.check_closed(conn, a, name, close_header=False)
        conn.close()
        s.check_metrics(before, [(route, status_label(status), 1)], name)

    s.case("HTTP/1.0 closes by default", req(b"GET /v1/healthz HTTP/1.0", b""), 200, route="/v1/healthz",
           close_header=False)
    name = "HTTP/1.0 keep-alive"
    before = s.before()
    conn = Conn(s.port)
    conn.send(req(b"GET /v1/healthz HTTP/1.0", b"Connection: keep-alive\r\n"))
    a = conn.read_answer()
    s.check_answer(a, conn, name, 200)
    s.check_kept(conn, a, name, version=b"HTTP/1.0")
    conn.close()
    s.check_metrics(before, [("/v1/healthz", "success", 2)], name)

    name = "HEAD /v1/healthz"
    before = s.before()
    conn = Conn(s.port)
    conn.send(req(b"GET /v1/healthz HTTP/1.1"))
    g = conn.read_answer()
    conn.send(req(b"HEAD /v1/healthz HTTP/1.1"))
    a = conn.read_answer(head_request=True)
    if s.check_answer(a, conn, name, 200) and g is not None:
        c.eq(a.header("Content-Length"), g.header("Content-Length"),
             name + ": Content-Length of the GET body")
        c.eq(a.header("Content-Type"), g.header("Content-Type"), name + ": Content-Type of GET")
    s.check_kept(conn, a, name)  # body bytes after the HEAD head would garble this answer
    conn.close()
    s.check_metrics(before, [("/v1/healthz", "success", 3)], name)


def timeout_cases(s):
    name = "keep-alive idle 3 s then a 2 s upload"
    before = s.before()
    conn = Conn(s.port, timeout=10)
    conn.send(req(b"GET /v1/healthz HTTP/1.1"))
    s.check_answer(conn.read_answer(), conn, name + " (first request)", 200)
    time.sleep(3)
    data = post(b"Content-Length: %d\r\n" % len(VALID), VALID)
    pieces = [data[i * len(data) // 5:(i + 1) * len(data) // 5] for i in range(5)]
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(0.5)
        conn.send(piece)
    c.check(conn.send_error is None, "%s: upload not reset (%r)" % (name, conn.send_error))
    a = conn.read_answer(timeout=10)
    s.check_answer(a, conn, name, 200)
    conn.close()
    s.check_metrics(before, [("/v1/healthz", "success", 1), ("/v1/predict/single", "success", 1)], name)

    name = "trickled headers past KRONOS_HEADER_TIMEOUT"
    before = s.before()
    conn = Conn(s.port, timeout=10)
    t0 = time.time()
    conn.send(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    while time.time() - t0 < 5 and conn.send(b"a") and not conn.readable_within(0.2):
        pass
    a = conn.read_answer()
    took = time.time() - t0
    s.check_answer(a, conn, name, 408, "request_timeout")
    c.check(1.8 < took < 3.5, "%s: answered after about 2 s, took %.1f s" % (name, took))
    s.check_closed(conn, a, name)
    conn.close()
    s.check_metrics(before, [(HEALTHZ, "invalid", 1)], name)

    name = "silent fresh connection"
    before = s.before()
    conn = Conn(s.port, timeout=10)
    t0 = time.time()
    closed, got = conn.read_to_eof(timeout=5)
    took = time.time() - t0
    c.check(closed and 1.8 < took < 3.5, "%s: closed after KRONOS_HEADER_TIMEOUT=2 (%s after %.1f s)" % (
        name, "closed" if closed else "still open", took))
    c.check(got == b"", "%s: closed without an answer, got %s" % (name, show(got)))
    conn.close()
    s.check_metrics(before, [], name)


def query_flood_then_sigterm(s):
    target = b"GET /v1/readyz?" + b"&" * 2000 + b" HTTP/1.1"
    s.case("query-argument flood", req(target, b"Host: x\r\nConnection: close\r\n"), 200, route="/v1/readyz")
    before = s.before()
    slowest, answered = 0.0, 0
    for i in range(200):
        t0 = time.time()
        conn = Conn(s.port)
        conn.send(req(target, b"Host: x\r\nConnection: close\r\n"))
        a = conn.read_answer(timeout=1)
        took = time.time() - t0
        conn.close()
        if not c.check(a is not None and a.status == 200 and took < 1, "query-argument flood #%d: 200 within "
                       "1 s, got %s after %.2f s" % (i + 1, a.status if a else conn.state(), took)):
            break
        answered += 1
        slowest = max(slowest, took)
        s.ids.append(a.header("X-Request-ID"))
    print("query-argument flood: %d answered, slowest %.3f s" % (answered, slowest))
    s.check_metrics(before, [("/v1/readyz", "success", answered)], "query-argument flood x200")
    t0 = time.time()
    s.k.proc.send_signal(signal.SIGTERM)
    try:
        rc = s.k.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    c.check(rc == 0, "SIGTERM after the flood: clean exit 0 within 5 s, got %r after %.1f s"
            % (rc, time.time() - t0))


PROTOCOL_ENV = {"KRONOS_MAX_REQUEST_SIZE_MB": "1", "KRONOS_RATE_LIMIT_ENABLED": "false",
                "KRONOS_HEADER_TIMEOUT": "2", "KRONOS_CONNECTION_TIMEOUT": "4",
                "KRONOS_DRAIN_DELAY": "0", "KRONOS_SHUTDOWN_GRACE": "6"}
t_start = time.time()
with Kronosd(env=PROTOCOL_ENV, wait_ready=True) as k:
    s = Server(k)
    for group in (request_line_cases, header_cases, body_framing_cases, pipelining_cases, expect_cases,
                  connection_cases, timeout_cases, query_flood_then_sigterm):
        t0 = time.time()
        group(s)
        print("%s: %.1f s" % (group.__name__, time.time() - t0), flush=True)
s.check_logs("protocol cases")


class Flood:
    """Idle sockets from 127.0.0.2..127.0.0.40; each one the server closes is opened again."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.socks, self.reopened, self.failed = [], 0, 0
        self.stop = threading.Event()
        for i in range(n):
            self.socks.append(self.open(i))
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def open(self, i):
        try:
            return socket.create_connection(("127.0.0.1", self.port), timeout=1,
                                            source_address=("127.0.0.%d" % (2 + i % 39), 0))
        except OSError:
            self.failed += 1
            return None

    def run(self):
        """At most 5 reopens per 50 ms (100/s): steady pressure that keeps every slot taken, without
        spinning a shared machine's cores. (Far faster reopening makes a probe's connection the
        oldest idle one before its first byte arrives on a loaded box, and evicts it.)"""
        while not self.stop.is_set():
            live = [x for x in self.socks if x is not None]
            ready = set(select.select(live, [], [], 0.05)[0] if live else [])
            todo = [i for i, x in enumerate(self.socks) if x is None or x in ready][:5]
            for i in todo:
                if self.socks[i] is not None:
                    self.socks[i].close()
                self.socks[i] = self.open(i)
                self.reopened += 1
            if todo:
                time.sleep(0.05)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for x in self.socks:
            if x is not None:
                x.close()


with Kronosd(env={"KRONOS_MAX_CONNECTIONS": "64", "KRONOS_MAX_CONNECTIONS_PER_IP": "64"}) as k:
    s = Server(k)
    before = s.before()
    flood = Flood(k.port, 200)
    latencies, missed = [], []
    time.sleep(0.3)
    for i in range(50):
        time.sleep(0.05)  # probes spread over 2.5 s of flood, as a kubelet's would be
        t0 = time.time()
        try:
            conn = Conn(k.port)
            conn.send(req(b"GET /v1/healthz HTTP/1.1", b"Host: x\r\nConnection: close\r\n"))
            a = conn.read_answer()
            got = conn.state() if a is None else "%s %s" % (a.status, show(a.body, 80))
            conn.close()
        except OSError as e:
            a, got = None, repr(e)
        if a is not None and a.status == 200:
            latencies.append(time.time() - t0)
            s.ids.append(a.header("X-Request-ID"))
        else:
            missed.append("probe %d: %s" % (i + 1, got))
            if a is not None and a.header("X-Request-ID"):
                s.ids.append(a.header("X-Request-ID"))
            if len(missed) == 3:
                break
    flood.close()
    lat = sorted(latencies)
    p50 = lat[len(lat) // 2] if lat else float("nan")
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
    print("connection flood: 200 idle sockets, %d reopened after the server closed them, %d connects "
          "failed; /v1/healthz answered %d/50, p50 %.1f ms, p99 %.1f ms"
          % (flood.reopened, flood.failed, len(lat), p50 * 1000, p99 * 1000))
    c.check(not missed, "connection flood: every /v1/healthz probe answered 200; missed %s" % missed)
    c.check(lat and p99 < 1, "connection flood: /v1/healthz p99 %.3f s < 1 s" % p99)
    time.sleep(0.3)
    s.check_metrics(before, [("/v1/healthz", "success", len(lat))], "connection flood")
s.check_logs("connection flood")

with Kronosd(env={"KRONOS_MAX_CONNECTIONS_PER_IP": "4"}) as k:
    s = Server(k)
    before = s.before()
    src = "127.0.0.5"
    held = [Conn(k.port, src=src) for _ in range(4)]
    for h in held:  # a started request makes sure the server has accepted each connection
        h.send(b"GET /v1/healthz HTTP/1.1\r\n")
    time.sleep(0.3)
    name = "5th connection from one address"
    conn = Conn(k.port, src=src)
    conn.send(req(b"GET /v1/healthz HTTP/1.1"))
    a = conn.read_answer()
    s.check_answer(a, conn, name, 429, "rate_limited")
    s.check_closed(conn, a, name)
    conn.close()
    for i, h in enumerate(held):
        h.send(b"Host: x\r\n\r\n")
        s.check_answer(h.read_answer(), h, "held connection %d under the per-IP cap" % (i + 1), 200)
        h.close()
    time.sleep(0.3)
    s.case("a new connection once the others closed", req(b"GET /v1/healthz HTTP/1.1"), 200,
           route="/v1/healthz", close=False)
    s.check_metrics(before, [(HEALTHZ, "rate_limited", 1), ("/v1/healthz", "success", 6)], "per-IP cap")
s.check_logs("per-IP cap")

print("conformance suite: %.1f s" % (time.time() - t_start))
if c.failed_cases:
    print("failed cases (%d): %s" % (len(c.failed_cases), "; ".join(c.failed_cases)))
c.done()
