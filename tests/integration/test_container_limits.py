"""Container citizenship through the real binary (issue 11): the default KRONOS_INFERENCE_THREADS
follows the CPUs the process may run on (affinity) and a cgroup CPU quota, not the host's core
count; /v1/healthz/detailed reports memory against the cgroup memory limit. The quota and limit
are real cgroup v1 or v2 groups this test creates (it runs as root on these machines) and removes;
where none can be created the cgroup cases print SKIP. The parsing of every cgroup layout is
unit-tested on fake trees (unit_cpulimit, unit_memlimit)."""
import http.client
import json
import os
import subprocess
import time

from harness import BIN, Checker, free_port

c = Checker()
NAME = "kronos-itest-%d" % os.getpid()


def check_config(preexec_fn=None, env=None):
    """The effective configuration --check-config prints, or None."""
    p = subprocess.run([BIN, "--check-config"], env=dict(os.environ, **(env or {})),
                       capture_output=True, timeout=60, preexec_fn=preexec_fn)
    try:
        return json.loads(p.stdout)["config"]
    except ValueError:
        print("--check-config failed: %r %r" % (p.stdout[-300:], p.stderr[-300:]))
        return None


def make_group(controller_dir, files):
    """Creates a child group under controller_dir with the given files written; its path or
    None when cgroups cannot be written here."""
    path = os.path.join(controller_dir, NAME)
    try:
        os.mkdir(path)
        for name, value in files.items():
            with open(os.path.join(path, name), "w") as f:
                f.write(value)
        return path
    except OSError as e:
        print("SKIP: cannot set up cgroup %s (%s)" % (path, e))
        remove_group(path)
        return None


def remove_group(path):
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)  # the last process of the group is still being reaped


def join(path):
    def enter():
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    return enter


V2 = "/sys/fs/cgroup" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else None
V1_CPU = "/sys/fs/cgroup/cpu" if os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") else None
V1_MEM = ("/sys/fs/cgroup/memory"
          if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") else None)

# 1. Affinity: pinned to one CPU, the default is 1 thread.
cores = len(os.sched_getaffinity(0))
cfg = check_config()
c.eq(cfg and cfg.get("KRONOS_INFERENCE_THREADS"), cores,
     "default KRONOS_INFERENCE_THREADS = the %d CPUs this process may use" % cores)
if cores >= 2:
    cfg = check_config(preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    c.eq(cfg and cfg.get("KRONOS_INFERENCE_THREADS"), 1, "pinned to one CPU: default 1 thread")
else:
    print("SKIP: affinity case (one CPU only)")

# 2. A CPU quota of one CPU (cgroup v2 cpu.max, else v1 cfs_quota_us), on a machine with more.
group = None
if cores < 2:
    print("SKIP: CPU quota case (one CPU only)")
elif V2:
    group = make_group(V2, {"cpu.max": "100000 100000"})
elif V1_CPU:
    group = make_group(V1_CPU, {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "150000"})
else:
    print("SKIP: no cgroup CPU controller mounted")
if group:
    try:
        cfg = check_config(preexec_fn=join(group))
        c.eq(cfg and cfg.get("KRONOS_INFERENCE_THREADS"), 1,
             "in a cgroup with a quota of %s CPUs on %d: default 1 thread"
             % ("1" if V2 else "1.5", cores))
        cfg = check_config(preexec_fn=join(group), env={"KRONOS_INFERENCE_THREADS": "3"})
        c.eq(cfg and cfg.get("KRONOS_INFERENCE_THREADS"), 3, "an explicit value still wins")
    finally:
        remove_group(group)

# 3. A memory limit: the detailed health check and kronos_memory_limit_bytes report it.
LIMIT = 3 << 30
group = None
if V2:
    group = make_group(V2, {"memory.max": str(LIMIT)})
elif V1_MEM:
    group = make_group(V1_MEM, {"memory.limit_in_bytes": str(LIMIT)})
else:
    print("SKIP: no cgroup memory controller mounted")
if group:
    port = free_port()
    proc = subprocess.Popen([BIN], env=dict(os.environ, KRONOS_HOST="127.0.0.1",
                                            KRONOS_PORT=str(port), KRONOS_DRAIN_DELAY="0"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=join(group))
    try:
        mem, metric = None, None
        deadline = time.monotonic() + 30
        while mem is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/v1/healthz/detailed")
                mem = json.loads(conn.getresponse().read())["checks"]["memory"]
                conn.request("GET", "/v1/metrics")
                for line in conn.getresponse().read().decode().splitlines():
                    if line.startswith("kronos_memory_limit_bytes "):
                        metric = float(line.split()[1])
                conn.close()
            except OSError:
                time.sleep(0.05)
        c.check(mem is not None, "detailed health answered (%r)"
                % (proc.stderr.read()[-300:] if proc.poll() is not None else ""))
        mem = mem or {}
        print("memory check in a cgroup limited to %d bytes: %s" % (LIMIT, json.dumps(mem)))
        c.eq(mem.get("limit_bytes"), LIMIT, "memory check: limit_bytes is the cgroup limit")
        c.check("cgroup" in (mem.get("limit_source") or "") and NAME in mem["limit_source"],
                "memory check: limit_source names the cgroup (%r)" % mem.get("limit_source"))
        c.eq(mem.get("status"), "pass", "memory check passes well under the limit")
        c.eq(metric, float(LIMIT), "kronos_memory_limit_bytes is the cgroup limit")
    finally:
        proc.terminate()
        c.eq(proc.wait(30), 0, "kronosd in the cgroup stopped cleanly")
        remove_group(group)

c.done()
