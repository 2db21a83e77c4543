"""Stop signals and shutdown through the real binary (issue 9): a SIGTERM drains whatever thread
the kernel hands it to, never waits for a model load (not even one blocked in open() on a FIFO),
and the exit code says whether in-flight requests were cut off."""
import os
import shutil
import signal
import tempfile
import threading
import time

from harness import (GOLDEN, SANITIZE, SGEMM_DELAY_US, Checker, HeldLoad, Kronosd, have_tiny_model,
                     kronos_env, slow_single)

c = Checker()
SLACK = 3.0 if SANITIZE else 1.0  # seconds allowed beyond a deadline for the teardown


def messages(k):
    return [r["message"] for r in k.log_records()]


def stop_and_time(k, sig_target=None, timeout=30):
    """Sends SIGTERM (to the thread sig_target when given); returns (exit code, seconds)."""
    t0 = time.time()
    os.kill(sig_target or k.proc.pid, signal.SIGTERM)
    try:
        rc = k.proc.wait(timeout)
    except Exception:
        k.proc.kill()
        rc = k.proc.wait()
    k._reader.join(5)
    return rc, time.time() - t0


# 1. Kronos engine (OpenBLAS starts its threads before main runs): a SIGTERM aimed at each thread
#    in turn. kill(2) on a thread id is process-directed, but the kernel hands the signal to that
#    thread when it does not block it, so every thread gets its turn to be the one picked.
if GOLDEN and os.path.isdir(GOLDEN):
    tiny = os.path.join(GOLDEN, "tiny")
    env = {"KRONOS_MODEL_PATH": os.path.join(tiny, "model"),
           "KRONOS_TOKENIZER_PATH": os.path.join(tiny, "tokenizer"), "KRONOS_MAX_CONTEXT": "16"}
    with Kronosd(env=env, wait_ready=True) as k:
        n_threads = len(os.listdir("/proc/%d/task" % k.proc.pid))
    c.check(n_threads > 2, "kronosd runs several threads (%d)" % n_threads)
    for i in range(n_threads):
        with Kronosd(env=env, wait_ready=True) as k:
            tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % k.proc.pid))
            target = tids[i] if i < len(tids) else k.proc.pid
            try:
                comm = open("/proc/%d/task/%d/comm" % (k.proc.pid, target)).read().strip()
            except OSError:
                comm = "?"
            rc, secs = stop_and_time(k, target)
            c.eq(rc, 0, "SIGTERM via thread %d (%s): exit code (143/-15 = killed, no drain)"
                 % (i, comm))
            msgs = messages(k)
            c.check("shutdown requested; draining" in msgs and msgs[-1] == "kronosd stopped",
                    "SIGTERM via thread %d (%s): drain and stop logged" % (i, comm))
    # ... and as soon as the process is live, while the model may still be loading.
    for i in range(5):
        with Kronosd(env=env) as k:
            rc, secs = stop_and_time(k)
            c.eq(rc, 0, "SIGTERM at liveness, trial %d: exit code" % i)
            msgs = messages(k)
            c.check("shutdown requested; draining" in msgs and msgs[-1] == "kronosd stopped",
                    "SIGTERM at liveness, trial %d: drain and stop logged" % i)
else:
    print("SKIP: no golden data for the Kronos-engine signal test")

# 2. SIGTERM during a model load that never ends (hold_open.so holds it, never released): the
#    process does not wait for the load.
if have_tiny_model("SIGTERM during a held model load"):
    with HeldLoad() as held, Kronosd(env=kronos_env(held_load=held,
                                                    KRONOS_SHUTDOWN_GRACE="5")) as k:
        c.eq(k.get("/v1/readyz").json()["status"], "loading", "long load: readiness loading")
        rc, secs = stop_and_time(k)
        c.eq(rc, 0, "SIGTERM during a load: exit code 0 (no request was cut off)")
        c.check(secs < 5 + SLACK, "SIGTERM during a load: exits within the grace period (%.1f s)"
                % secs)
        msgs = messages(k)
        c.check("model load still running; exiting without waiting for it" in msgs,
                "SIGTERM during a load: the abandoned load is logged")
        c.eq(msgs[-1] if msgs else None, "kronosd stopped", "SIGTERM during a load: stop logged")

# 3. model.safetensors is a FIFO: the loader blocks in open() for ever. Readiness is not ready,
#    and SIGTERM still ends the process within KRONOS_SHUTDOWN_GRACE.
if GOLDEN and os.path.isdir(GOLDEN):
    tmp = tempfile.mkdtemp(prefix="kronos-fifo-")
    try:
        model = os.path.join(tmp, "model")
        os.mkdir(model)
        shutil.copy(os.path.join(GOLDEN, "tiny", "model", "config.json"), model)
        os.mkfifo(os.path.join(model, "model.safetensors"))
        shutil.copytree(os.path.join(GOLDEN, "tiny", "tokenizer"), os.path.join(model, "tokenizer"))
        env = {"KRONOS_MODEL_PATH": model, "KRONOS_MAX_CONTEXT": "16", "KRONOS_SHUTDOWN_GRACE": "2",
               "KRONOS_STARTUP_TIMEOUT": "1"}
        with Kronosd(env=env) as k:
            r = k.get("/v1/readyz")
            c.check(r.status == 503 and r.json()["status"] in ("loading", "failed"),
                    "FIFO weights: readiness not ready (%d %s)" % (r.status, r.body[:80]))
            time.sleep(1.5)
            r = k.get("/v1/readyz")
            c.check(r.status == 503 and "did not finish" in r.json().get("reason", ""),
                    "FIFO weights: startup timeout reported (%s)" % r.body[:120])
            rc, secs = stop_and_time(k)
            c.check(rc is not None and rc >= 0, "FIFO weights: not killed by the signal (%s)" % rc)
            c.check(secs < 2 + SLACK, "FIFO weights: SIGTERM exits within the grace period "
                    "(%.1f s)" % secs)
    finally:
        shutil.rmtree(tmp)
else:
    print("SKIP: no golden data for the FIFO test")

# 4. A forecast still running when the grace period ends (it would take >= 60 s) is cancelled
#    (503) and the exit code is non-zero; the whole shutdown fits in the grace period.
if have_tiny_model("grace period cut-off"):
    env = kronos_env(SGEMM_DELAY_US, KRONOS_SHUTDOWN_GRACE="2", KRONOS_RATE_LIMIT_ENABLED="false")
    with Kronosd(env=env, wait_ready=True) as k:
        result = {}

        def slow():
            try:
                result["r"] = k.post("/v1/predict/single", slow_single(60), timeout=120)
            except OSError as e:
                result["error"] = e

        t = threading.Thread(target=slow)
        t.start()
        c.check(k.wait_forecasts_received(1), "the slow forecast is in flight")
        rc, secs = stop_and_time(k)
        t.join(30)
        c.eq(rc, 1, "request cut off by the grace period: exit code 1")
        c.check(secs < 2 + SLACK, "cut-off shutdown within the grace period (%.1f s)" % secs)
        r = result.get("r")
        c.eq(r.status if r else result.get("error"), 503, "the cut-off request is answered 503")
        stopped = [rec for rec in k.log_records() if rec["message"] == "kronosd stopped"]
        c.check(stopped and stopped[0].get("clean") is False
                and stopped[0].get("requests_cut_off") == 1,
                "stop line says 1 request was cut off: %r" % stopped)

c.done()
