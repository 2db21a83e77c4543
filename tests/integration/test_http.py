"""Issue 2: routes, envelopes, request context, logs, size limits, shutdown, bad configuration."""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time

import predict_data
from harness import (BIN, SGEMM_DELAY_US, Checker, HeldLoad, Kronosd, have_tiny_model, kronos_env,
                     slow_single)

c = Checker()
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")


def check_context_headers(r, what):
    c.check(r.header("X-Request-ID"), "%s: X-Request-ID present" % what)
    c.check(TRACEPARENT.match(r.header("traceparent") or ""), "%s: traceparent valid" % what)


def check_envelope(r, status, code, what):
    c.eq(r.status, status, what + " status")
    c.eq(r.header("Content-Type"), "application/json", what + " content type")
    body = r.json()
    c.eq(body["error"]["code"], code, what + " code")
    c.eq(body["detail"], body["error"]["message"], what + " detail == message")
    c.eq(body["error"]["request_id"], r.header("X-Request-ID"), what + " request_id")
    c.check(isinstance(body["error"]["details"], list), what + " details is a list")
    check_context_headers(r, what)


def raw_request(port, data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


with Kronosd(env={"KRONOS_MAX_REQUEST_SIZE_MB": "0.01"}) as k:
    # every route answers with the context headers
    r = k.get("/")
    c.eq(r.status, 200, "/ status")
    c.eq(r.json(), {"message": "Kronos Forecasting API", "version": r.json()["version"]}, "/ body")
    c.check(re.match(r"^\d+\.\d+\.\d+$", r.json()["version"]), "/ version is semver")
    check_context_headers(r, "/")

    r = k.get("/v1/healthz")
    c.eq((r.status, r.json()), (200, {"status": "ok"}), "healthz")
    c.eq(r.header("Content-Type"), "application/json", "healthz content type")
    check_context_headers(r, "healthz")

    r = k.request("HEAD", "/v1/healthz")
    c.eq((r.status, r.body), (200, b""), "HEAD healthz has no body")

    r = k.get("/v1/readyz")
    body = r.json()
    c.check(r.status in (200, 503), "readyz status 200/503")
    c.eq(sorted(body), sorted(["status", "model_loaded", "engine", "model", "tokenizer", "device"]
                              + (["reason"] if "reason" in body else [])), "readyz keys")
    c.eq(body["device"], "cpu", "readyz device")
    c.check(body["status"] in ("ready", "loading", "failed"), "readyz status value")
    c.eq(r.status == 200, body["status"] == "ready", "readyz 200 iff ready")

    r = k.get("/v1/healthz/detailed")
    c.eq(r.header("Content-Type"), "application/health+json", "detailed content type")
    d = r.json()
    c.check(d["status"] in ("pass", "warn", "fail"), "detailed status")
    c.eq(sorted(d["checks"]), ["disk", "memory", "model", "queue"], "detailed checks")
    c.check(d["checks"]["memory"]["rss_bytes"] > 1000000, "detailed rss from /proc")
    c.check(d["checks"]["disk"]["available_bytes"] > 0, "detailed disk figures")
    c.check(d["uptime_seconds"] >= 0, "detailed uptime")
    c.eq(d["version"], k.get("/").json()["version"], "detailed version")

    # 404 and 405 envelopes
    check_envelope(k.get("/v1/nope"), 404, "not_found", "404")
    check_envelope(k.get("/v1/healthz/x"), 404, "not_found", "404 below a route")
    r = k.post("/v1/healthz", "")
    check_envelope(r, 405, "method_not_allowed", "405 POST healthz")
    c.eq(r.header("Allow"), "GET, HEAD", "405 Allow for GET route")
    r = k.get("/v1/predict/single")
    check_envelope(r, 405, "method_not_allowed", "405 GET predict")
    c.eq(r.header("Allow"), "POST", "405 Allow for POST route")
    check_envelope(k.request("DELETE", "/v1/metrics"), 405, "method_not_allowed", "405 DELETE")

    # request id: valid taken, invalid replaced
    r = k.get("/v1/healthz", headers={"X-Request-ID": "client-id_1.2:3"})
    c.eq(r.header("X-Request-ID"), "client-id_1.2:3", "valid X-Request-ID echoed")
    for bad in ["has space", "x" * 129, "semi;colon", ""]:
        r = k.get("/v1/healthz", headers={"X-Request-ID": bad})
        c.check(UUID.match(r.header("X-Request-ID")), "invalid X-Request-ID %r replaced" % bad[:20])
    c.check(UUID.match(k.get("/").header("X-Request-ID")), "X-Request-ID generated")

    # traceparent: continued when valid, new trace otherwise
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    m = TRACEPARENT.match(k.get("/", headers={"traceparent": parent}).header("traceparent"))
    c.eq(m.group(1), "4bf92f3577b34da6a3ce929d0e0e4736", "trace continued")
    c.check(m.group(2) != "00f067aa0ba902b7", "new span id")
    for bad in ["ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "junk"]:
        m = TRACEPARENT.match(k.get("/", headers={"traceparent": bad}).header("traceparent"))
        c.check(m and m.group(1) != "4bf92f3577b34da6a3ce929d0e0e4736", "bad traceparent %s" % bad[:8])
    future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
    m = TRACEPARENT.match(k.get("/", headers={"traceparent": future}).header("traceparent"))
    c.eq(m.group(1), "4bf92f3577b34da6a3ce929d0e0e4736", "future version tolerated")

    # 413 from Content-Length before reading, and while streaming a chunked body
    r = k.post("/v1/predict/single", "x" * 20000, headers={"Content-Type": "application/json"})
    check_envelope(r, 413, "payload_too_large", "413 by Content-Length")
    chunk = b"a" * 4096
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"
    raw = raw_request(k.port, b"POST /v1/predict/single HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nConnection: close\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + body)
    c.check(raw.startswith(b"HTTP/1.1 413"), "413 while streaming chunked: %r" % raw[:40])
    c.check(b'"payload_too_large"' in raw, "413 streaming envelope")
    c.eq(k.get("/v1/healthz").status, 200, "healthy after oversized bodies")

    # malformed HTTP does not hurt the server
    raw_request(k.port, b"GARBAGE\r\n\r\n")
    raw_request(k.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    c.eq(k.get("/v1/healthz").status, 200, "healthy after malformed HTTP")

    sent_ids = ["log-check-%d" % i for i in range(3)]
    for rid in sent_ids:
        k.get("/v1/healthz", headers={"X-Request-ID": rid})
    time.sleep(0.2)

# logs: every stdout line is JSON with the required fields; one completion line per request
records = k.log_records()
c.check(len(records) > 20, "many log lines")
for rec in records:
    for field in ("timestamp", "level", "logger", "message"):
        c.check(field in rec, "log field %s in %s" % (field, rec.get("message")))
    c.check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", rec["timestamp"]), "log timestamp")
completed = [r for r in records if r["message"] == "request completed"]
for rid in sent_ids:
    mine = [r for r in completed if r.get("request_id") == rid]
    c.eq(len(mine), 1, "one completion line for " + rid)
    if mine:
        for f in ("trace_id", "span_id", "client_ip", "method", "path", "status_code",
                  "latency_ms", "request_size_bytes", "response_size_bytes"):
            c.check(f in mine[0], "completion line has " + f)
c.check(records[0]["message"] == "kronosd starting" and "config" in records[0], "startup line")
c.eq(records[0]["config"]["KRONOS_MAX_REQUEST_SIZE_MB"], 0.01, "startup shows effective config")
c.eq(records[-1]["message"], "kronosd stopped", "shutdown line")
c.eq(k.proc.returncode, 0, "exit code 0 after SIGTERM")

# The cases that need a request in flight or a load in progress run the Kronos engine on the tiny
# reference model, slowed or held from outside the shipped binary (harness.kronos_env).
if have_tiny_model("drain, second signal and loading readiness"):
    # SIGTERM while a slow forecast is in flight: it completes, readiness drains, new connections
    # are refused, exit 0. The grace period is generous: a loaded machine under TSan stretched this
    # 5 s forecast past the default 30 s.
    with Kronosd(env=kronos_env(SGEMM_DELAY_US, KRONOS_SHUTDOWN_GRACE="300"), wait_ready=True) as k:
        result = {}

        def slow():
            result["r"] = k.post("/v1/predict/single", slow_single(5))

        keepalive = http.client.HTTPConnection("127.0.0.1", k.port, timeout=10)
        keepalive.request("GET", "/v1/healthz")
        keepalive.getresponse().read()
        t = threading.Thread(target=slow)
        t.start()
        c.check(k.wait_forecasts_received(1), "the slow forecast is in flight")
        k.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        # Ask only once kronosd logged the drain: it turns readiness to draining before that
        # line. Asked earlier, readyz can still be 200 with Connection: close (the flag flipped
        # between the readiness check and the answer); with no drain delay the listener is then
        # already closed and the next request is refused.
        while time.monotonic() < deadline and not any(
                r["message"] == "shutdown requested; draining" for r in k.log_records()):
            time.sleep(0.02)
        keepalive.request("GET", "/v1/readyz")
        rr = keepalive.getresponse()
        c.eq((rr.status, json.loads(rr.read())["status"], rr.getheader("Connection")),
             (503, "draining", "close"), "readyz draining, on a connection opened before SIGTERM")
        refused = False
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(("127.0.0.1", k.port), timeout=2).close()
                time.sleep(0.02)
            except OSError:
                refused = True
        c.check(refused, "new connections refused while draining")
        c.check(t.is_alive(), "the forecast was still running while draining (else the checks "
                "above proved nothing)")
        t.join(300)
        c.eq(result["r"].status if "r" in result else None, 200, "in-flight request finished")
        c.eq(k.proc.wait(60), 0, "exit 0 after draining")

    # A second signal ends at once, without waiting for the in-flight forecast (>= 60 s) or the
    # grace period (120 s).
    with Kronosd(env=kronos_env(SGEMM_DELAY_US, KRONOS_SHUTDOWN_GRACE="120"), wait_ready=True) as k:
        result = {}

        def doomed():
            try:
                result["r"] = k.post("/v1/predict/single", slow_single(60), timeout=180)
            except OSError:
                pass  # the server is meant to die under this request

        t = threading.Thread(target=doomed, daemon=True)
        t.start()
        c.check(k.wait_forecasts_received(1), "the doomed forecast is in flight")
        k.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                r["message"] == "shutdown requested; draining" for r in k.log_records()):
            time.sleep(0.02)
        t0 = time.monotonic()
        k.proc.send_signal(signal.SIGINT)
        rc = k.proc.wait(60)
        took = time.monotonic() - t0
        print("second signal: exit %d after %.2f s (forecast >= 60 s, grace 120 s)" % (rc, took))
        c.check(took < 30, "second signal exits at once (%.2f s)" % took)
        c.check(rc != 0, "second signal exit code non-zero")
        t.join(10)
        c.check("r" not in result, "the in-flight forecast was not waited for")

    # readiness: 503 loading until the engine reports ready, then 200; the load is held open
    # (hold_open.so) until the test lets it go.
    with HeldLoad() as held, Kronosd(env=kronos_env(held_load=held)) as k:
        r = k.get("/v1/readyz")
        c.eq((r.status, r.json()["status"], r.json()["model_loaded"]), (503, "loading", False),
             "readyz loading")
        c.check(r.header("Retry-After") is not None, "readyz 503 has Retry-After")
        d = k.get("/v1/healthz/detailed").json()
        c.eq(d["checks"]["model"]["state"], "loading", "detailed shows loading")
        c.eq(k.get("/v1/healthz").status, 200, "liveness while loading")
        c.check(held.release(), "the model load reached the held open()")
        c.check(k.wait_until_ready(), "readiness turns ready once the load is released")
        r = k.get("/v1/readyz")
        c.eq((r.status, r.json()["status"], r.json()["model_loaded"]), (200, "ready", True),
             "readyz ready after load")

# connection caps: a connection beyond the per-IP cap is answered 429 and closed
with Kronosd(env={"KRONOS_MAX_CONNECTIONS_PER_IP": "2"}) as k:
    time.sleep(0.5)  # let the server reap the start-up probe's connection first
    held = [socket.create_connection(("127.0.0.1", k.port)) for _ in range(2)]
    for h in held:  # a started request makes sure the server has accepted each connection
        h.sendall(b"GET /v1/healthz HTTP/1.1\r\n")
    time.sleep(0.5)
    extra = socket.create_connection(("127.0.0.1", k.port), timeout=3)
    got = b""
    try:
        extra.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    c.check(got.startswith(b"HTTP/1.1 429 "), "connection over the per-IP cap gets 429: %r" % got[:40])
    c.check(b'"code":"rate_limited"' in got and b"Retry-After: " in got,
            "the 429 carries the envelope and Retry-After")
    for s in held + [extra]:
        s.close()
    time.sleep(0.3)
    c.eq(k.get("/v1/healthz").status, 200, "served again once connections are released")

def seconds_until_408(port, head, trickle, interval):
    """Sends head, then trickle one byte per interval (len(trickle) * interval seconds in all);
    returns the seconds until the server answered 408, None when it let the client trickle to the
    end. The client never pauses long enough for an idle timeout: only an absolute deadline cuts."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    try:
        s.sendall(head)
        for ch in trickle:
            s.sendall(bytes([ch]))
            if select.select([s], [], [], interval)[0]:
                elapsed = time.monotonic() - t0
                return elapsed if s.recv(12) == b"HTTP/1.1 408" else None
        return None
    except OSError:
        return None
    finally:
        s.close()


# a trailing slash redirects (307, query kept) to the route without it, as FastAPI does
with Kronosd() as k:
    for path, want in [("/v1/healthz/", "/v1/healthz"), ("/v1/readyz/?x=1&y", "/v1/readyz?x=1&y"),
                       ("/v1/metrics/", "/v1/metrics")]:
        r = k.get(path)
        c.eq((r.status, r.header("Location")), (307, want), "redirect " + path)
    r = k.post("/v1/predict/single/", {"candles": []})
    c.eq((r.status, r.header("Location")), (307, "/v1/predict/single"), "POST keeps 307")
    c.eq(k.get("/nope/").status, 404, "no redirect to an unknown route")
    c.eq(k.get("/").status, 200, "the root is not redirected")

# the process-wide buffer budget: a body that would cross KRONOS_MAX_BUFFERED_MB is refused 503
with Kronosd(env={"KRONOS_MAX_BUFFERED_MB": "1", "KRONOS_MAX_REQUEST_SIZE_MB": "1",
                  "KRONOS_MAX_DECOMPRESSED_MB": "1"}) as k:
    head = (b"POST /v1/predict/single HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 900000\r\n\r\n")
    holder = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    holder.sendall(head + b" " * 800000)  # most of a body, held open
    time.sleep(0.5)
    second = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    try:
        second.sendall(head + b" " * 900000)
    except OSError:
        pass
    got = b""
    try:
        while True:
            chunk = second.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    c.check(got.startswith(b"HTTP/1.1 503 ") and b'"code":"overloaded"' in got,
            "a body past the buffer budget is refused 503 overloaded: %r" % got[:60])
    holder.sendall(b" " * 100000)
    holder.settimeout(10)
    first = holder.recv(12)
    c.eq(first, b"HTTP/1.1 400", "the held body, once complete, is served (400: not JSON)")
    holder.close()
    second.close()
    metrics = k.get("/v1/metrics").body.decode()
    c.check('kronos_requests_total{route="/v1/predict/single",status="unavailable"} 1' in metrics,
            "the budget refusal is counted as unavailable")

# a slow reader of a large answer is dropped once it falls below KRONOS_MIN_SEND_RATE_KB (after
# KRONOS_CONNECTION_TIMEOUT), and its request counts as cancelled: the answer does not stay in memory
with Kronosd(env={"KRONOS_CONNECTION_TIMEOUT": "1", "KRONOS_MIN_SEND_RATE_KB": "4096",
                  "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
    items = []
    for i in range(16):
        item = predict_data.single(n=32, pred=512, series_id="s%d" % i,
                                   overrides={"sample_count": 16, "quantiles": [0.1 * q for q in
                                                                               range(1, 10)]})
        items.append(item)
    body = json.dumps({"items": items}).encode()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", k.port))
    slow.sendall(b"POST /v1/predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    t0 = time.time()
    got, closed_after = 0, None
    slow.settimeout(1)
    while time.time() - t0 < 40:
        try:
            chunk = slow.recv(100)
        except socket.timeout:
            continue
        except OSError:
            closed_after = time.time() - t0
            break
        if not chunk:
            closed_after = time.time() - t0
            break
        got += len(chunk)
        time.sleep(0.05)  # about 2 KB/s
    slow.close()
    print("slow reader: cut after %s s having read %d bytes" % (closed_after, got))
    c.check(closed_after is not None, "a reader far below the minimum send rate is dropped")
    time.sleep(0.3)
    text = k.get("/v1/metrics").body.decode()
    c.check('kronos_requests_total{route="/v1/predict/batch",status="cancelled"} 1' in text,
            "the dropped slow reader counts as cancelled")
    c.eq(k.get("/v1/healthz").status, 200, "server fine after the slow reader")

# an absolute deadline to receive a request: trickling the body does not keep it alive ...
with Kronosd(env={"KRONOS_CONNECTION_TIMEOUT": "1"}) as k:
    cut = seconds_until_408(k.port, b"POST /v1/predict/single HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
                            b" " * 80, 0.25)
    print("slow body answered 408 after %s s (limit 1 s, trickle 20 s)" % cut)
    c.check(cut is not None,
            "slow body cut at the absolute deadline, before its 20 s trickle ended")

# ... and neither does trickling the headers (slowloris): KRONOS_HEADER_TIMEOUT bounds the head
with Kronosd(env={"KRONOS_HEADER_TIMEOUT": "1"}) as k:
    trickle = b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    cut = seconds_until_408(k.port, b"", trickle, 0.25)
    print("trickled head answered 408 after %s s (limit 1 s, trickle %g s)"
          % (cut, len(trickle) * 0.25))
    c.check(cut is not None, "trickled headers cut at the head deadline, before the trickle ended")
    c.eq(k.get("/v1/healthz").status, 200, "server fine after the slow client")

# bad configuration: exit 2, one line naming the variable and the value
for env, var in [({"KRONOS_PORT": "eighty"}, "KRONOS_PORT"),
                 ({"KRONOS_TRUSTED_PROXIES": "10.0.0.0/99"}, "KRONOS_TRUSTED_PROXIES"),
                 ({"KRONOS_DEFAULT_TOP_P": "1.5"}, "KRONOS_DEFAULT_TOP_P"),
                 ({"KRONOS_API_KEYS_FILE": "/nonexistent/keys"}, "KRONOS_API_KEYS_FILE"),
                 ({"KRONOS_LOG_LEVEL": "LOUD"}, "KRONOS_LOG_LEVEL")]:
    p = subprocess.run([BIN], env=dict(os.environ, **env), capture_output=True, timeout=10)
    lines = p.stderr.decode().strip().splitlines()
    c.eq(p.returncode, 2, "bad %s exit code" % var)
    c.check(len(lines) == 1 and var in lines[0] and list(env.values())[0] in lines[0],
            "bad %s message: %r" % (var, lines))
p = subprocess.run([BIN, "--version"], capture_output=True, timeout=10)
c.check(p.returncode == 0 and b"revision" in p.stdout and b"compiler" in p.stdout, "--version")
SPEC_VARIABLES = """HOST PORT LOG_LEVEL MODEL_PATH TOKENIZER_PATH MAX_CONTEXT DEFAULT_TEMPERATURE
    DEFAULT_TOP_K DEFAULT_TOP_P DEFAULT_SAMPLE_COUNT CLIP_VALUE INFERENCE_THREADS QUEUE_SIZE
    INFERENCE_TIMEOUT STARTUP_TIMEOUT SHUTDOWN_GRACE MAX_CANDLES MAX_PRED_LEN MAX_BATCH_ITEMS
    MAX_SAMPLE_COUNT MAX_REQUEST_SIZE_MB SECURITY_ENABLED CONTAINER_WHITELIST TRUSTED_PROXIES
    API_KEYS_FILE RATE_LIMIT_ENABLED RATE_LIMIT_PER_MINUTE RATE_LIMIT_BURST CONNECTION_TIMEOUT
    MAX_CONNECTIONS MAX_CONNECTIONS_PER_IP INSTANCE""".split()
p = subprocess.run([BIN, "--help"], capture_output=True, timeout=10)
help_text = p.stdout.decode()
c.eq(p.returncode, 0, "--help exit code")
for v in SPEC_VARIABLES:
    flag = "--" + v.lower().replace("_", "-")
    c.check(re.search(r"%s\s+KRONOS_%s\s" % (re.escape(flag), v), help_text),
            "--help lists %s with its flag" % v)

c.done()
