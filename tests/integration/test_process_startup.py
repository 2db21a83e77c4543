"""Start-up refusals and adjustments through the real binary (issue 9): the open-files limit
against KRONOS_MAX_CONNECTIONS, rate-limit settings beyond the limiter, and an API keys file that
others may read or change. Each refusal is exit code 2 with one line naming the variable."""
import os
import resource
import subprocess
import tempfile

from harness import BIN, Checker, Kronosd, free_port, wait_healthz

c = Checker()
FD_MARGIN = 64  # open files kronosd reserves beyond one per connection


def run_refused(env, preexec_fn=None):
    """Runs kronosd expecting it to refuse to start: (exit code, stderr lines)."""
    try:
        p = subprocess.run([BIN], env=dict(os.environ, KRONOS_HOST="127.0.0.1",
                                           KRONOS_PORT=str(free_port()), **env),
                           capture_output=True, timeout=10, preexec_fn=preexec_fn)
    except subprocess.TimeoutExpired:
        return None, ["still running after 10 s"]
    return p.returncode, p.stderr.decode().strip().splitlines()


def soft_nofile(pid):
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return None


# --- RLIMIT_NOFILE ---------------------------------------------------------------------------
soft0, hard0 = resource.getrlimit(resource.RLIMIT_NOFILE)
low = 256

# Soft limit too low, hard limit high enough: kronosd raises its soft limit and starts.
if hard0 == resource.RLIM_INFINITY or hard0 >= 1024 + FD_MARGIN:
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard0))  # inherited by the child
    try:
        with Kronosd() as k:
            got = soft_nofile(k.proc.pid)
            c.check(got is not None and got >= 1024 + FD_MARGIN,
                    "soft RLIMIT_NOFILE %d raised to >= %d (got %s)" % (low, 1024 + FD_MARGIN, got))
            start = [r for r in k.log_records() if r["message"] == "kronosd starting"]
            c.check(start and start[0].get("open_files_limit") == got,
                    "start-up line shows the open-files limit")
        # Enough already: left as it is.
        with Kronosd(env={"KRONOS_MAX_CONNECTIONS": "128"}) as k:
            c.eq(soft_nofile(k.proc.pid), low, "a sufficient soft limit is left alone")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft0, hard0))
else:
    print("SKIP: hard RLIMIT_NOFILE %d too low to test raising the soft limit" % hard0)


def cap_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, low))


# Hard limit too low: refused, naming the variable and the limit.
rc, lines = run_refused({}, cap_nofile)
c.eq(rc, 2, "hard RLIMIT_NOFILE below KRONOS_MAX_CONNECTIONS + margin: exit code 2")
c.check(len(lines) == 1 and "KRONOS_MAX_CONNECTIONS" in lines[0] and "RLIMIT_NOFILE is %d" % low
        in lines[0], "refusal names KRONOS_MAX_CONNECTIONS and the limit: %r" % lines)
# The same limit with fewer connections starts and serves.
port = free_port()
p = subprocess.Popen([BIN], env=dict(os.environ, KRONOS_HOST="127.0.0.1", KRONOS_PORT=str(port),
                                     KRONOS_DRAIN_DELAY="0",
                                     KRONOS_MAX_CONNECTIONS=str(low - FD_MARGIN),
                                     KRONOS_MAX_CONNECTIONS_PER_IP="16"),
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=cap_nofile)
status = wait_healthz(port, p, 20)
if p.poll() is None:
    p.terminate()
p.wait(30)
c.eq(status, 200, "connections + margin within a hard limit of %d: starts (%r)"
     % (low, p.stderr.read()[-300:]))

# --- Rate-limit settings beyond what the limiter accepts ----------------------------------------
for var, value in [("KRONOS_RATE_LIMIT_PER_MINUTE", "1000001"),
                   ("KRONOS_RATE_LIMIT_PER_MINUTE", "10000000"),
                   ("KRONOS_RATE_LIMIT_BURST", "1000001")]:
    rc, lines = run_refused({var: value})
    c.eq(rc, 2, "%s=%s: exit code 2" % (var, value))
    c.check(len(lines) == 1 and var in lines[0] and value in lines[0],
            "%s=%s: one line naming the variable and value: %r" % (var, value, lines))
with Kronosd(env={"KRONOS_RATE_LIMIT_PER_MINUTE": "1000000",
                  "KRONOS_RATE_LIMIT_BURST": "1000000"}) as k:
    c.eq(k.get("/v1/healthz/detailed").status, 200, "the limiter's maximum settings start and serve")

# --- API keys file mode ------------------------------------------------------------------------
fd, keys = tempfile.mkstemp(suffix=".keys")
os.write(fd, b"svc-a:0123456789abcdef0123\n")
os.close(fd)
try:
    for mode in (0o644, 0o604, 0o620, 0o666):
        os.chmod(keys, mode)
        rc, lines = run_refused({"KRONOS_API_KEYS_FILE": keys})
        c.eq(rc, 2, "keys file mode %04o: exit code 2" % mode)
        c.check(len(lines) == 1 and "KRONOS_API_KEYS_FILE" in lines[0] and
                "mode %04o" % mode in lines[0] and "chmod 600" in lines[0],
                "keys file mode %04o: one line naming the variable, mode and chmod 600: %r"
                % (mode, lines))
        c.check(not any("0123456789abcdef0123" in l for l in lines), "no key in the message")
    for mode, warned in ((0o600, False), (0o400, False), (0o640, True)):
        os.chmod(keys, mode)
        with Kronosd(env={"KRONOS_API_KEYS_FILE": keys}) as k:
            r = k.get("/v1/healthz/detailed",
                      headers={"Authorization": "Bearer 0123456789abcdef0123"})
            c.eq(r.status, 200, "keys file mode %04o: starts and admits the key" % mode)
        warnings = [r for r in k.log_records() if r["level"] == "WARNING" and
                    "KRONOS_API_KEYS_FILE" in r["message"]]
        c.eq(bool(warnings), warned, "keys file mode %04o: group-read warning" % mode)
        if warned:
            c.check(warnings[0].get("mode") == "%04o" % mode and warnings[0].get("path") == keys,
                    "warning names the mode and path: %r" % warnings[0])
finally:
    os.unlink(keys)

c.done()
