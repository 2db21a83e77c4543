"""The systemd notification protocol (issue 11, Type=notify) through the real binary, with a real
NOTIFY_SOCKET listener (AF_UNIX datagrams, as systemd's): READY=1 only once readiness is ready (the
Kronos model load is held open until the test releases it), WATCHDOG=1 at half of WATCHDOG_USEC,
STOPPING=1 on SIGTERM; abstract socket names ("@name") work too."""
import os
import shutil
import signal
import socket
import tempfile
import time

from harness import Checker, HeldLoad, Kronosd, have_tiny_model, kronos_env

c = Checker()


class Listener:
    """A NOTIFY_SOCKET: collects (monotonic time, datagram) pairs."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="kronos-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "kronos-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(self.dir, "notify")
            self.sock.bind(self.address)
        self.messages = []

    def receive(self, until, timeout):
        """Collects datagrams until one contains `until` (a line) or timeout; returns that one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append((time.monotonic(), data))
            if until in data.split("\n"):
                return data
        return None

    def lines(self):
        return [line for _, m in self.messages for line in m.split("\n")]

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# 1. Baseline engine, abstract socket: READY=1 soon after start, STOPPING=1 on SIGTERM, no
#    watchdog pings without WATCHDOG_USEC.
n = Listener(abstract=True)
try:
    with Kronosd(env={"NOTIFY_SOCKET": n.address}) as k:
        ready = n.receive("READY=1", 30)
        c.check(ready is not None, "baseline: READY=1 received (%r)" % n.messages)
        c.eq(k.get("/v1/readyz").status, 200, "baseline: readyz 200 once READY=1 was sent")
        time.sleep(0.5)
        k.proc.send_signal(signal.SIGTERM)
        c.check(n.receive("STOPPING=1", 10) is not None, "baseline: STOPPING=1 on SIGTERM")
        c.eq(k.proc.wait(30), 0, "baseline: exit 0")
    c.check("WATCHDOG=1" not in n.lines(), "no WATCHDOG=1 without WATCHDOG_USEC")
    c.eq(n.lines().count("READY=1"), 1, "READY=1 is sent once")
finally:
    n.close()

# 2. WATCHDOG_PID naming another process: no pings (the variable is not meant for kronosd).
n = Listener()
try:
    with Kronosd(env={"NOTIFY_SOCKET": n.address, "WATCHDOG_USEC": "200000",
                      "WATCHDOG_PID": "1"}) as k:
        n.receive("READY=1", 30)
        n.receive("never", 1.0)
    c.check("WATCHDOG=1" not in n.lines(), "WATCHDOG_PID of another process: no pings")
finally:
    n.close()

# 3. Kronos engine with the model load held: no READY=1 while loading; READY=1 after release,
#    when readiness is ready; WATCHDOG=1 every WATCHDOG_USEC/2; STOPPING=1 with readyz draining.
if have_tiny_model("READY=1 only after a held model load"):
    n = Listener()
    try:
        with HeldLoad() as held:
            env = kronos_env(held_load=held, NOTIFY_SOCKET=n.address, WATCHDOG_USEC="400000",
                             KRONOS_DRAIN_DELAY="2")
            with Kronosd(env=env) as k:
                c.eq(k.get("/v1/readyz").json()["status"], "loading", "the load is held")
                early = n.receive("READY=1", 1.5)
                c.check(early is None, "no READY=1 while readiness is loading (%r)" % n.messages)
                c.check(n.lines().count("WATCHDOG=1") >= 2,
                        "watchdog pings while loading (%d in 1.5 s)"
                        % n.lines().count("WATCHDOG=1"))
                c.check(held.release(), "the held load is released")
                ready = n.receive("READY=1", 30)
                c.check(ready is not None, "READY=1 after the load (%r)" % n.messages[-3:])
                c.eq(k.get("/v1/readyz").status, 200, "readyz is 200 once READY=1 arrived")
                t0 = time.monotonic()
                n.receive("never", 2.0)
                pings = [t for t, m in n.messages if t >= t0 and m == "WATCHDOG=1"]
                print("WATCHDOG_USEC=400000: %d pings in 2.0 s" % len(pings))
                # every 0.2 s: about 10; a loaded machine may delay some, never add any
                c.check(6 <= len(pings) <= 11, "about one ping per 0.2 s (%d in 2 s)" % len(pings))
                k.proc.send_signal(signal.SIGTERM)
                stopping = n.receive("STOPPING=1", 10)
                c.check(stopping is not None, "STOPPING=1 on SIGTERM")
                c.eq(k.get("/v1/readyz").json()["status"], "draining",
                     "readyz says draining once STOPPING=1 was sent")
                c.eq(k.proc.wait(30), 0, "exit 0")
    finally:
        n.close()

c.done()
