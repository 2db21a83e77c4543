"""Issue 9: identity, whitelist and API keys from peers that are not loopback, over IPv4 and IPv6.

Two network namespaces joined by a veth pair, both created (and deleted) by this test:
  server namespace: kronosd, 10.213.0.1/24 and fd00:213::1/64
  client namespace: 10.213.0.2 and fd00:213::2 (configured as trusted proxies where a run says so),
                    10.213.0.3 and fd00:213::3 (never trusted)
Requests are sent from the client namespace by netns_client.py. Needs root and `ip netns`
(iproute2); skips with the reason otherwise."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading

import harness
from netns import ip, remove_stale_namespaces  # tests/support, on the path harness sets
from harness import Checker

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "netns_client.py")
PY = "/usr/bin/python3"
PREFIX = "kronos-it-"
TAG = "%s%d-" % (PREFIX, os.getpid())
SRV_NS, CLI_NS = TAG + "s", TAG + "c"
SRV_IF, CLI_IF = "krs%d" % os.getpid(), "krc%d" % os.getpid()  # <= 15 characters
SRV4, PROXY4, OTHER4 = "10.213.0.1", "10.213.0.2", "10.213.0.3"
SRV6, PROXY6, OTHER6 = "fd00:213::1", "fd00:213::2", "fd00:213::3"
PORT = 8000  # the server namespace is private, so a fixed port cannot clash
KEY = "0123456789abcdef0123"


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(0)


def build_namespaces():
    ip("netns", "add", SRV_NS)
    ip("netns", "add", CLI_NS)
    ip("link", "add", "name", SRV_IF, "netns", SRV_NS, "type", "veth", "peer", "name", CLI_IF,
       "netns", CLI_NS)
    for ns, dev, addrs in ((SRV_NS, SRV_IF, [SRV4]), (CLI_NS, CLI_IF, [PROXY4, OTHER4])):
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", dev, "up")
        for a in addrs:
            ip("-n", ns, "addr", "add", a + "/24", "dev", dev)
    for ns, dev, addrs in ((SRV_NS, SRV_IF, [SRV6]), (CLI_NS, CLI_IF, [PROXY6, OTHER6])):
        for a in addrs:
            ip("-n", ns, "-6", "addr", "add", a + "/64", "dev", dev, "nodad")


def delete_namespaces():
    for ns in (SRV_NS, CLI_NS):
        ip("netns", "del", ns, check=False)


class Server:
    """kronosd inside the server namespace; stdout lines collected."""

    def __init__(self, env):
        self.env = dict(os.environ, KRONOS_PORT=str(PORT), KRONOS_INSTANCE="netns",
                        KRONOS_DRAIN_DELAY="0")  # stopped by SIGTERM
        self.env.update(env)
        self.lines = []

    def __enter__(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", SRV_NS, harness.BIN], env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(json.loads(line))
                if self.lines[-1].get("message") == "kronosd starting":
                    started.set()
            started.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not started.wait(30) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("kronosd did not start: %s" % self.proc.stderr.read().decode())
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)

    def __exit__(self, *exc):
        self.stop()

    def identities(self, answers):
        """(container, client_ip) of each answered request, from its log line: lines are written
        when a request completes, so they are matched by request id, not by order."""
        done = {r.get("request_id"): (r.get("container"), r.get("client_ip")) for r in self.lines
                if r.get("message") == "request completed"}
        return [done.get(a["rid"]) for a in answers]


SENT = [0]


def ask(ns, requests):
    """Sends requests from namespace ns, each with its own X-Request-ID; returns the answers,
    in order, each with "rid"."""
    rids = []
    for r in requests:
        SENT[0] += 1
        rids.append("netns-%d" % SENT[0])
        r["headers"] = r["headers"] + [["X-Request-ID", rids[-1]]]
    p = subprocess.run(["ip", "netns", "exec", ns, PY, CLIENT], input=json.dumps(requests),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("client failed: %s" % p.stderr)
    answers = json.loads(p.stdout)
    for a, rid in zip(answers, rids):
        a["rid"] = rid
    return answers


def req(host, source, headers=(), path="/v1/healthz/detailed"):
    return {"host": host, "port": PORT, "source": source, "method": "GET", "path": path,
            "headers": [list(h) for h in headers]}


def code(answer):
    try:
        return json.loads(answer["body"])["error"]["code"]
    except (KeyError, ValueError, TypeError):
        return None


def expect(answers, wants):
    """wants: (what, status, error code or None) per answer."""
    for a, (what, status, err) in zip(answers, wants):
        got = (a.get("status"), code(a) if err else None)
        c.eq(got, (status, err), "%s%s" % (what, " (%s)" % a["error"] if "error" in a else ""))


c = Checker()
if os.geteuid() != 0:
    skip("needs root to create network namespaces")
if not shutil.which("ip"):
    skip("`ip` (iproute2) is not installed")
harness.BIN = os.path.abspath(harness.BIN)
remove_stale_namespaces(PREFIX)
probe = ip("netns", "add", SRV_NS, check=False)
if probe.returncode != 0:
    skip("`ip netns add` is unavailable here: %s" % probe.stderr.strip())
ip("netns", "del", SRV_NS, check=False)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the cleanup below on ctest's kill

try:
    try:
        build_namespaces()
    except RuntimeError as e:
        skip("cannot build the namespace pair: %s" % e)
    NOLIMIT = {"KRONOS_RATE_LIMIT_ENABLED": "false"}

    # 1. Defaults (IPv4 listener): a non-loopback peer is its address and not whitelisted; its
    #    X-Container-Name is not believed; loopback inside the server namespace is still localhost.
    with Server(dict(NOLIMIT, KRONOS_HOST="0.0.0.0")) as s:
        answers = ask(CLI_NS, [req(SRV4, OTHER4),
                               req(SRV4, OTHER4, [("X-Container-Name", "localhost")]),
                               req(SRV4, OTHER4, path="/v1/healthz")])
        expect(answers, [("defaults: untrusted peer not whitelisted", 403, "forbidden"),
                         ("defaults: untrusted peer claiming localhost", 403, "forbidden"),
                         ("defaults: liveness needs no identity", 200, None)])
        answers += ask(SRV_NS, [req("127.0.0.1", None)])
        expect(answers[3:], [("defaults: loopback is localhost", 200, None)])
    c.eq(s.identities(answers),
         [(OTHER4, OTHER4), (OTHER4, OTHER4), (OTHER4, OTHER4), ("localhost", "127.0.0.1")],
         "defaults: identities in the log (the header was not believed)")

    # 2. Dual-stack listener, a trusted proxy on each family, whitelist svc-a.
    env = dict(NOLIMIT, KRONOS_HOST="::", KRONOS_CONTAINER_WHITELIST="svc-a",
               KRONOS_TRUSTED_PROXIES="127.0.0.1/32,::1/128,%s/32,%s/128" % (PROXY4, PROXY6))
    with Server(env) as s:
        svc, bad = ("X-Container-Name", "svc-a"), ("X-Container-Name", "intruder")
        answers = ask(CLI_NS, [
            req(SRV4, PROXY4, [svc]), req(SRV4, PROXY4, [bad]), req(SRV4, PROXY4, [bad, svc]),
            req(SRV4, PROXY4), req(SRV4, OTHER4, [svc]),
            req(SRV6, PROXY6, [svc]), req(SRV6, PROXY6, [bad]), req(SRV6, PROXY6, [svc, svc]),
            req(SRV6, OTHER6, [svc]), req(SRV4, PROXY4, [svc, ("x-container-name", "svc-a")])])
        expect(answers, [
            ("IPv4 trusted proxy: header believed", 200, None),
            ("IPv4 trusted proxy: name not whitelisted", 403, "forbidden"),
            ("IPv4 trusted proxy: two X-Container-Name lines", 400, "bad_request"),
            ("IPv4 trusted proxy without header: its own address, not listed", 403, "forbidden"),
            ("IPv4 untrusted peer: header ignored", 403, "forbidden"),
            ("IPv6 trusted proxy: header believed", 200, None),
            ("IPv6 trusted proxy: name not whitelisted", 403, "forbidden"),
            ("IPv6 trusted proxy: two X-Container-Name lines", 400, "bad_request"),
            ("IPv6 untrusted peer: header ignored", 403, "forbidden"),
            ("IPv4 trusted proxy: two lines in different case", 400, "bad_request")])
        c.check("X-Container-Name" in json.loads(answers[2]["body"]).get("detail", ""),
                "the 400 names the header: %r" % answers[2]["body"])
    c.eq(s.identities(answers),
         [("svc-a", PROXY4), ("intruder", PROXY4), (PROXY4, PROXY4), (PROXY4, PROXY4),
          (OTHER4, OTHER4), ("svc-a", PROXY6), ("intruder", PROXY6), (PROXY6, PROXY6),
          (OTHER6, OTHER6), (PROXY4, PROXY4)],
         "dual stack: identities and client addresses in the log")

    # 3. API keys, from peers that are neither loopback nor proxies, on both families.
    keys = os.path.join("/tmp", TAG + "keys")
    with open(keys, "w") as f:
        f.write("ci:%s\n" % KEY)
    os.chmod(keys, 0o600)  # kronosd refuses a keys file other users can read
    try:
        with Server(dict(NOLIMIT, KRONOS_HOST="::", KRONOS_API_KEYS_FILE=keys)) as s:
            good = ("Authorization", "Bearer " + KEY)
            wrong = ("Authorization", "Bearer " + "x" * 20)
            answers = ask(CLI_NS, [req(SRV4, OTHER4), req(SRV4, OTHER4, [wrong]),
                                   req(SRV4, OTHER4, [good]), req(SRV6, OTHER6, [good]),
                                   req(SRV6, OTHER6),
                                   req(SRV4, PROXY4, [good, ("X-Container-Name", "intruder")])])
            expect(answers, [("keys: IPv4 peer without a key", 401, "unauthorized"),
                             ("keys: IPv4 peer with a wrong key", 401, "unauthorized"),
                             ("keys: IPv4 peer with a key", 200, None),
                             ("keys: IPv6 peer with a key", 200, None),
                             ("keys: IPv6 peer without a key", 401, "unauthorized"),
                             ("keys: the key names the caller, not the header", 200, None)])
        c.eq([i and i[0] for i in s.identities(answers)],
             [OTHER4, OTHER4, "ci", "ci", OTHER6, "ci"], "keys: identities in the log")
        c.eq(sorted(r.get("event") for r in s.lines if r.get("message") == "security event"),
             ["invalid_api_key", "unauthorized", "unauthorized"], "keys: security events")
    finally:
        os.unlink(keys)

    # 4. Peers whitelisted by address (no proxies): listed ones pass, the others are refused.
    env = dict(NOLIMIT, KRONOS_HOST="::", KRONOS_TRUSTED_PROXIES="",
               KRONOS_CONTAINER_WHITELIST="%s,%s" % (OTHER4, OTHER6.upper()))
    with Server(env) as s:
        expect(ask(CLI_NS, [req(SRV4, OTHER4), req(SRV6, OTHER6), req(SRV4, PROXY4),
                            req(SRV6, PROXY6)]),
               [("whitelisted IPv4 address", 200, None), ("whitelisted IPv6 address", 200, None),
                ("IPv4 address not in the whitelist", 403, "forbidden"),
                ("IPv6 address not in the whitelist", 403, "forbidden")])
finally:
    delete_namespaces()
left = [l for l in ip("netns", "list", check=False).stdout.splitlines() if l.startswith(TAG)]
c.eq(left, [], "namespaces deleted")
c.done()
