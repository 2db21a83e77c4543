"""Identity, whitelist, API keys and the rate limit through the real binary."""
import http.client
import json
import os
import subprocess
import tempfile

from harness import BIN, Checker, Kronosd

c = Checker()
ADMITTED = lambda r: r.status not in (401, 403, 429)


def envelope_code(r):
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


def raw_get(port, path, headers, source="127.0.0.1", host="127.0.0.1", method="GET", body=b""):
    """A request with header lines sent as given (repeats kept), from a chosen loopback source."""
    conn = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
    try:
        conn.putrequest(method, path)
        for name, value in headers:
            conn.putheader(name, value)
        if method == "POST":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if method == "POST" else None)
        resp = conn.getresponse()
        body = resp.read()
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


def err_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def completed(k, path):
    return [r for r in k.log_records() if r.get("message") == "request completed" and
            r.get("path") == path]


# Whitelist and the trusted-proxy header (127.0.0.1 is a trusted proxy by default).
with Kronosd(env={"KRONOS_CONTAINER_WHITELIST": "localhost,svc-a", "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
    c.check(ADMITTED(k.get("/v1/healthz/detailed")), "loopback caller is localhost, whitelisted")
    r = k.get("/v1/healthz/detailed", headers={"X-Container-Name": "svc-a"})
    c.check(ADMITTED(r), "whitelisted container via trusted proxy")
    r = k.get("/v1/healthz/detailed", headers={"X-Container-Name": "intruder"})
    c.eq((r.status, envelope_code(r)), (403, "forbidden"), "non-whitelisted container")
    r = k.post("/v1/predict/single", {"candles": []}, headers={"X-Container-Name": "intruder"})
    c.eq(r.status, 403, "predict refused before the body is looked at")
    r = k.get("/v1/healthz/detailed", headers={"X-Container-Name": "bad name!"})
    c.eq((r.status, envelope_code(r)), (400, "bad_request"), "invalid header from trusted proxy")
    c.eq(k.get("/v1/healthz", headers={"X-Container-Name": "intruder"}).status, 200,
         "liveness has no auth")
    c.eq(k.get("/v1/metrics", headers={"X-Container-Name": "intruder"}).status, 200,
         "metrics have no auth")
events = [r for r in k.log_records() if r["message"] == "security event"]
c.check(any(e["event"] == "blocked" and e["container"] == "intruder" for e in events),
        "blocked event logged with identity")

# The header is not believed from an untrusted peer. With no trusted proxies no loopback peer is
# localhost either: 127.0.0.1 is known by its address, which can be whitelisted as such.
with Kronosd(env={"KRONOS_TRUSTED_PROXIES": "", "KRONOS_CONTAINER_WHITELIST": "127.0.0.1,svc-a",
                  "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
    r = k.get("/v1/healthz/detailed", headers={"X-Container-Name": "anything"})
    c.check(ADMITTED(r), "spoofed header from untrusted peer ignored (identity 127.0.0.1)")
    r = k.get("/v1/healthz/detailed", headers={"X-Container-Name": "svc-a"})
    c.check(ADMITTED(r), "whitelisted name from untrusted peer: admitted as its address")
    status, _ = raw_get(k.port, "/v1/healthz/detailed", [("X-Container-Name", "svc-a")],
                        source="127.0.0.6")
    c.eq(status, 403, "untrusted 127.0.0.6 claiming a whitelisted name is refused")
c.eq(sorted(r.get("container") for r in completed(k, "/v1/healthz/detailed")),
     ["127.0.0.1", "127.0.0.1", "127.0.0.6"], "identities are the peer addresses")

# Issue 9: a same-host forwarder that is not a trusted proxy (Istio's sidecar connects from
# 127.0.0.6 and sets no header) is not "localhost", so it does not admit every external caller.
# With the defaults, clients on 127.0.0.1 and ::1 keep working.
with Kronosd(env={"KRONOS_RATE_LIMIT_PER_MINUTE": "60", "KRONOS_RATE_LIMIT_BURST": "2"}) as k:
    status, body = raw_get(k.port, "/v1/healthz/detailed", [], source="127.0.0.6")
    c.eq((status, err_code(body)), (403, "forbidden"),
         "untrusted loopback peer 127.0.0.6 refused with the default whitelist")
    status, _ = raw_get(k.port, "/v1/healthz/detailed", [("X-Container-Name", "localhost")],
                        source="127.0.0.6")
    c.eq(status, 403, "untrusted loopback peer cannot claim localhost by header")
    c.check(ADMITTED(k.get("/v1/healthz/detailed")), "127.0.0.1 is still localhost")
    c.check(ADMITTED(k.get("/v1/healthz/detailed")), "127.0.0.1 within its burst")
sec = [r for r in k.log_records() if r.get("message") == "security event"]
c.check(any(e.get("event") == "blocked" and e.get("client_ip") == "127.0.0.6" for e in sec),
        "blocked event for 127.0.0.6: %r" % sec)
c.eq(sorted(r.get("container") for r in completed(k, "/v1/healthz/detailed")),
     ["127.0.0.6", "127.0.0.6", "localhost", "localhost"], "identities")
# ::1 is localhost too with the defaults.
k6 = Kronosd(env={"KRONOS_HOST": "::1", "KRONOS_RATE_LIMIT_ENABLED": "false"})
k6.client_host = "::1"
with k6 as k:
    c.check(ADMITTED(k.get("/v1/healthz/detailed")), "::1 is localhost")
c.eq([(r.get("container"), r.get("client_ip")) for r in completed(k, "/v1/healthz/detailed")],
     [("localhost", "::1")], "::1 identity")

# Issue 9: two X-Container-Name headers from a trusted proxy are a 400 naming the header; a proxy
# that appends would otherwise let the client's own (first) value win.
with Kronosd(env={"KRONOS_CONTAINER_WHITELIST": "svc-a", "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
    for values in (["admin", "svc-a"], ["svc-a", "svc-a"], ["svc-a", "intruder", "svc-b"]):
        status, body = raw_get(k.port, "/v1/healthz/detailed",
                               [("X-Container-Name", v) for v in values])
        c.eq((status, err_code(body)), (400, "bad_request"),
             "repeated X-Container-Name %r" % values)
        c.check("X-Container-Name" in str((body or {}).get("detail")), "400 names the header: %r" % body)
    status, _ = raw_get(k.port, "/v1/healthz/detailed",
                        [("X-Container-Name", "svc-a"), ("x-container-name", "svc-a")])
    c.eq(status, 400, "repeated header in another case")
    status, _ = raw_get(k.port, "/v1/predict/single", [("X-Container-Name", "svc-a")] * 2,
                        method="POST", body=b"{}")
    c.eq(status, 400, "repeated header on predict (refused before the body)")
    status, _ = raw_get(k.port, "/v1/healthz/detailed", [("X-Container-Name", "svc-a")])
    c.check(status not in (400, 401, 403), "a single header is believed")
    status, _ = raw_get(k.port, "/v1/readyz", [("X-Container-Name", "a")] * 2)
    c.check(status in (200, 503), "unchecked routes do not look at identity headers")

# API keys: Bearer required; identity is the key's name.
with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
    f.write("# team keys\nsvc-a:0123456789abcdef0123\nsvc-b:fedcba9876543210fedc\n")
    keys = f.name
try:
    with Kronosd(env={"KRONOS_API_KEYS_FILE": keys, "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
        r = k.get("/v1/healthz/detailed")
        c.eq((r.status, envelope_code(r)), (401, "unauthorized"), "missing key")
        c.eq(r.header("WWW-Authenticate"), "Bearer", "401 challenge")
        r = k.get("/v1/healthz/detailed", headers={"Authorization": "Bearer wrong-key-wrong-key"})
        c.eq((r.status, envelope_code(r)), (401, "unauthorized"), "wrong key")
        r = k.get("/v1/healthz/detailed", headers={"Authorization": "Bearer 0123456789abcdef0123"})
        c.check(ADMITTED(r), "valid key admitted")
        c.eq(k.get("/v1/readyz").status in (200, 503), True, "readiness needs no key")
    recs = k.log_records()
    c.check(not any("0123456789abcdef0123" in line for line in k.lines), "keys never logged")
    c.check(any(r.get("event") == "invalid_api_key" for r in recs), "invalid_api_key event")
    c.check(any(r.get("message") == "request completed" and r.get("container") == "svc-a"
                for r in recs), "identity is the key name")
finally:
    os.unlink(keys)

# SPEC section 2: with a keys file, a key is required even with KRONOS_SECURITY_ENABLED=false
# (that switch turns off the whitelist and header checks only).
with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
    f.write("svc-a:0123456789abcdef0123\n")
    keys = f.name
try:
    with Kronosd(env={"KRONOS_API_KEYS_FILE": keys, "KRONOS_SECURITY_ENABLED": "false",
                      "KRONOS_CONTAINER_WHITELIST": "nobody",
                      "KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
        r = k.get("/v1/healthz/detailed")
        c.eq((r.status, envelope_code(r)), (401, "unauthorized"), "security off: key still needed")
        r = k.get("/v1/healthz/detailed", headers={"Authorization": "Bearer wrong-key-wrong-key"})
        c.eq(r.status, 401, "security off: wrong key refused")
        r = k.get("/v1/healthz/detailed", headers={"Authorization": "Bearer 0123456789abcdef0123"})
        c.check(ADMITTED(r), "security off: valid key admitted (whitelist not applied)")
    c.check(any(r.get("level") == "WARNING" and "still required" in r.get("message", "")
                for r in k.log_records()), "start-up says the keys are still required")
finally:
    os.unlink(keys)

# A bad keys file stops start-up with exit 2 naming the variable.
with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
    f.write("svc-a:short\n")
    bad = f.name
p = subprocess.run([BIN], env=dict(os.environ, KRONOS_API_KEYS_FILE=bad), capture_output=True,
                   timeout=10)
os.unlink(bad)
c.eq(p.returncode, 2, "bad keys file exit code")
c.check(b"KRONOS_API_KEYS_FILE" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
        "bad keys file: one line naming the variable")

# Rate limit: burst 2, then 429 with Retry-After and RateLimit headers.
with Kronosd(env={"KRONOS_RATE_LIMIT_PER_MINUTE": "6", "KRONOS_RATE_LIMIT_BURST": "2"}) as k:
    codes = [k.get("/v1/healthz/detailed").status for _ in range(2)]
    c.check(all(s != 429 for s in codes), "burst admitted")
    r = k.get("/v1/healthz/detailed")
    c.eq((r.status, envelope_code(r)), (429, "rate_limited"), "over the rate")
    c.check(int(r.header("Retry-After")) >= 1, "Retry-After")
    c.eq(r.header("RateLimit-Limit"), "2", "RateLimit-Limit")
    c.eq(r.header("RateLimit-Remaining"), "0", "RateLimit-Remaining")
    c.check(int(r.header("RateLimit-Reset")) >= 1, "RateLimit-Reset")
    c.eq(k.get("/v1/healthz").status, 200, "liveness not rate limited")

c.done()
