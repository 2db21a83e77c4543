"""Issue 9: changing model.safetensors under a running server (`truncate`, or `cp` over it, which
truncates the same inode and writes into it) must not crash it (SIGBUS through a file mapping) nor
change its answers: the weights live in the process's own memory once loaded. Swapping weights
takes a restart (README)."""
import json
import os
import shutil
import sys
import tempfile

from harness import GOLDEN, Checker, Kronosd

c = Checker()
if not GOLDEN or not os.path.isdir(GOLDEN):
    print("SKIP: no golden data")
    sys.exit(0)


def forecast(k, req):
    """The answer's status and prediction; (None, None) when the server dropped the connection."""
    try:
        r = k.post("/v1/predict/single", req)
    except OSError:
        return None, None
    return r.status, r.json().get("prediction") if r.status == 200 else None


def cp_over(path, data):
    """What `cp other model.safetensors` does: open with O_TRUNC, write, same inode."""
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)


def truncate(weights):
    for w in weights:
        os.truncate(w, 0)


def overwrite(weights):
    for w in weights:
        raw = open(w, "rb").read()
        cp_over(w, bytes(b ^ 0x5A for b in raw))  # same size, every byte different


for set_name, ctx in (("tiny", "16"), ("mini", "128")):
    src = os.path.join(GOLDEN, set_name)
    req = json.load(open(os.path.join(src, "cases", "a_noslide", "request.json")))
    for change in (truncate, overwrite):
        what = "%s, %s" % (set_name, change.__name__)
        tmp = tempfile.mkdtemp(prefix="kronos-swap-")
        try:
            model, tok = os.path.join(tmp, "model"), os.path.join(tmp, "tokenizer")
            shutil.copytree(os.path.join(src, "model"), model)
            shutil.copytree(os.path.join(src, "tokenizer"), tok)
            weights = [os.path.join(d, "model.safetensors") for d in (model, tok)]
            for w in weights:
                os.chmod(w, 0o644)
            env = {"KRONOS_MODEL_PATH": model, "KRONOS_TOKENIZER_PATH": tok,
                   "KRONOS_MAX_CONTEXT": ctx, "KRONOS_RATE_LIMIT_ENABLED": "false",
                   "KRONOS_INFERENCE_THREADS": "2"}
            with Kronosd(env=env, wait_ready=True, startup_timeout=60) as k:
                status, want = forecast(k, req)
                c.eq(status, 200, what + ": forecast before")
                change(weights)
                status, got = forecast(k, req)
                c.eq(status, 200, what + ": forecast after")
                c.check(want is not None and got == want, what + ": same answer as before")
                c.eq(k.proc.poll(), None, what + ": still running")
                if k.proc.poll() is None:
                    c.eq(k.get("/v1/readyz").status, 200, what + ": still ready")
            c.eq(k.proc.returncode, 0, what + ": clean exit (no SIGBUS)")
        finally:
            shutil.rmtree(tmp)
c.done()
