"""Operator guard rails of issue 10: unknown KRONOS_* variables are named with the closest known
one, KRONOS_ENGINE chooses the engine explicitly, and --check-config validates and exits 0 or 2."""
import json
import os
import shutil
import subprocess
import tempfile

from harness import BIN, GOLDEN, Checker, Kronosd

c = Checker()
TINY = os.path.join(GOLDEN, "tiny") if GOLDEN else ""
TINY_ENV = {"KRONOS_MODEL_PATH": os.path.join(TINY, "model"),
            "KRONOS_TOKENIZER_PATH": os.path.join(TINY, "tokenizer"), "KRONOS_MAX_CONTEXT": "16"}


def run(args=(), env=None, timeout=60):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KRONOS_")}
    e.update(env or {})
    p = subprocess.run([BIN] + list(args), env=e, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# Unknown variables: a WARNING naming the variable and the closest known name; start-up goes on.
with Kronosd(env={"KRONOS_MODEL_DIR": "/srv/kronos", "KRONOS_RATE_LIMIT_PERMINUTE": "5"}) as k:
    unknown = {l.get("variable"): l.get("did_you_mean") for l in k.log_records()
               if l.get("message", "").startswith("unknown configuration variable")}
    c.eq(unknown.get("KRONOS_MODEL_DIR"), "KRONOS_MODEL_PATH", "KRONOS_MODEL_DIR -> KRONOS_MODEL_PATH")
    c.eq(unknown.get("KRONOS_RATE_LIMIT_PERMINUTE"), "KRONOS_RATE_LIMIT_PER_MINUTE",
         "misspelled rate limit variable named")
    c.check("KRONOS_PORT" not in unknown and "KRONOS_HOST" not in unknown, "known names not warned")
    c.eq(k.get("/v1/healthz").status, 200, "serving despite unknown variables")

# KRONOS_ENGINE
code, _, err = run(env={"KRONOS_ENGINE": "kronos"})
c.check(code == 2 and "KRONOS_ENGINE" in err and "KRONOS_MODEL_PATH" in err,
        "KRONOS_ENGINE=kronos without a model exits 2 naming both variables: %r" % err)
code, _, err = run(env={"KRONOS_ENGINE": "torch"})
c.check(code == 2 and "KRONOS_ENGINE" in err and "auto, kronos or baseline" in err,
        "an unknown engine exits 2: %r" % err)
if os.path.isdir(TINY):
    with Kronosd(env=dict(TINY_ENV, KRONOS_ENGINE="baseline"), wait_ready=True) as k:
        c.eq(k.get("/v1/readyz").json()["engine"], "baseline", "KRONOS_ENGINE=baseline ignores the model")
        c.check(any("KRONOS_MODEL_PATH are not loaded" in l.get("message", "")
                    for l in k.log_records()), "and says so at start")
    for choice in ("kronos", "auto"):
        with Kronosd(env=dict(TINY_ENV, KRONOS_ENGINE=choice), wait_ready=True) as k:
            c.eq(k.get("/v1/readyz").json()["engine"], "kronos", "KRONOS_ENGINE=%s loads Kronos" % choice)
    # a broken model with an explicit kronos engine: readiness failed, never a silent baseline
    tmp = tempfile.mkdtemp()
    try:
        shutil.copytree(os.path.join(TINY, "model"), os.path.join(tmp, "model"))
        with open(os.path.join(tmp, "model", "model.safetensors"), "wb") as f:
            f.write(b"not safetensors")
        env = dict(TINY_ENV, KRONOS_MODEL_PATH=os.path.join(tmp, "model"), KRONOS_ENGINE="kronos",
                   KRONOS_STARTUP_TIMEOUT="10")
        with Kronosd(env=env) as k:
            import time
            deadline = time.time() + 10
            body = k.get("/v1/readyz").json()
            while body["status"] == "loading" and time.time() < deadline:
                time.sleep(0.05)
                body = k.get("/v1/readyz").json()
            c.eq((body["status"], body["engine"]), ("failed", "kronos"),
                 "a broken model is a failed readiness of the kronos engine")

        # --check-config
        code, out, err = run(["--check-config"], env=env)
        c.check(code == 2 and "does not load" in err, "--check-config with a broken model exits 2: %r" % err)
        c.eq(json.loads(out)["valid"], False, "and prints valid: false")
    finally:
        shutil.rmtree(tmp)
    code, out, err = run(["--check-config"], env=TINY_ENV)
    doc = json.loads(out) if out.strip() else {}
    c.eq((code, doc.get("valid"), doc.get("engine")), (0, True, "kronos"),
         "--check-config loads the model and exits 0")
    c.eq(doc.get("config", {}).get("KRONOS_MAX_CONTEXT"), 16, "--check-config prints the effective values")
code, out, _ = run(["--check-config"], env={"KRONOS_PORT": "9"})
c.eq((code, json.loads(out)["config"]["KRONOS_PORT"]), (0, 9), "--check-config, baseline: exit 0")
code, out, err = run(["--check-config"], env={"KRONOS_PORT": "eighty"})
c.check(code == 2 and "KRONOS_PORT" in err and not out, "--check-config with a bad value exits 2 naming it")
code, _, err = run(["--check-config"], env={"KRONOS_API_KEYS_FILE": "/nonexistent"})
c.check(code == 2 and "KRONOS_API_KEYS_FILE" in err, "--check-config checks the keys file too")
code, out, _ = run(["--help"])
c.check("--check-config" in out and "KRONOS_ENGINE" in out, "--help lists --check-config and KRONOS_ENGINE")
c.done()
