"""Issue 5 in the service: broken model folders end in readiness `failed` with a clear log line
(never a crash), the startup timeout, load metrics, and bounded memory over many forecasts."""
import json
import os
import shutil
import struct
import sys
import tempfile
import time

from harness import GOLDEN, SANITIZE, Checker, Kronosd

c = Checker()
if not GOLDEN or not os.path.isdir(GOLDEN):
    print("SKIP: no golden data")
    sys.exit(0)
TINY = os.path.join(GOLDEN, "tiny")
MINI = os.path.join(GOLDEN, "mini")


def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def broken_copy(kind, tmp):
    model = os.path.join(tmp, kind, "model")
    tok = os.path.join(tmp, kind, "tokenizer")
    shutil.copytree(os.path.join(TINY, "model"), model)
    shutil.copytree(os.path.join(TINY, "tokenizer"), tok)
    st = os.path.join(model, "model.safetensors")
    header, data = read_st(st)
    if kind == "truncated":
        raw = open(st, "rb").read()
        open(st, "wb").write(raw[:len(raw) // 2])
    elif kind == "corrupt_header":
        raw = bytearray(open(st, "rb").read())
        raw[8:16] = b"{{{{{{{{"
        open(st, "wb").write(bytes(raw))
    elif kind == "missing_tensor":
        del header["norm.weight"]
        write_st(st, header, data)
    elif kind == "wrong_shape":
        h = header["norm.weight"]
        h["shape"] = [h["shape"][0] // 2, 2]
        write_st(st, header, data)
    elif kind == "nan_values":
        off = header["norm.weight"]["data_offsets"][0]
        data = data[:off] + struct.pack("<f", float("nan")) + data[off + 4:]
        write_st(st, header, data)
    elif kind == "missing_config":
        os.unlink(os.path.join(model, "config.json"))
    return model, tok


tmp = tempfile.mkdtemp(prefix="kronos-broken-")
try:
    for kind, needle in [("truncated", "model.safetensors"), ("corrupt_header", "header"),
                         ("missing_tensor", "norm.weight"), ("wrong_shape", "norm.weight"),
                         ("nan_values", "norm.weight"), ("missing_config", "config.json")]:
        model, tok = broken_copy(kind, tmp)
        env = {"KRONOS_MODEL_PATH": model, "KRONOS_TOKENIZER_PATH": tok,
               "KRONOS_MAX_CONTEXT": "16"}
        with Kronosd(env=env) as k:
            deadline = time.time() + 20
            ready = {}
            while time.time() < deadline:
                ready = k.get("/v1/readyz").json()
                if ready["status"] != "loading":
                    break
                time.sleep(0.05)
            c.eq(ready.get("status"), "failed", "%s: readiness failed" % kind)
            c.check(needle in ready.get("reason", ""), "%s: reason names %s: %r" %
                    (kind, needle, ready.get("reason")))
            r = k.post("/v1/predict/single", json.load(open(
                os.path.join(TINY, "cases", "a_noslide", "request.json"))))
            c.eq((r.status, r.json()["error"]["code"]), (503, "not_ready"), "%s: predict 503" % kind)
            m = k.get("/v1/metrics").body.decode()
            c.check("kronos_model_load_failures_total 1" in m, "%s: load failure counted" % kind)
            c.check("kronos_model_loaded 0" in m, "%s: model_loaded 0" % kind)
            c.eq(k.get("/v1/healthz").status, 200, "%s: still alive" % kind)
        c.eq(k.proc.returncode, 0, "%s: clean exit" % kind)
        fails = [l for l in k.log_records() if l["message"] == "model load failed"]
        c.check(fails and needle in fails[0].get("error_message", ""),
                "%s: log line names the problem" % kind)
finally:
    shutil.rmtree(tmp)

# The published layout: <model>/tokenizer links to the tokenizer's own folder; answers carry the
# folder names (after following the link), and KRONOS_TOKENIZER_PATH defaults to <model>/tokenizer.
tmp = tempfile.mkdtemp(prefix="kronos-layout-")
try:
    shutil.copytree(os.path.join(TINY, "model"), os.path.join(tmp, "Kronos-tiny"))
    shutil.copytree(os.path.join(TINY, "tokenizer"), os.path.join(tmp, "Kronos-Tokenizer-tiny"))
    os.symlink("../Kronos-Tokenizer-tiny", os.path.join(tmp, "Kronos-tiny", "tokenizer"))
    env = {"KRONOS_MODEL_PATH": os.path.join(tmp, "Kronos-tiny"), "KRONOS_MAX_CONTEXT": "16"}
    with Kronosd(env=env, wait_ready=True) as k:
        r = k.post("/v1/predict/single",
                   json.load(open(os.path.join(TINY, "cases", "a_noslide", "request.json"))))
        c.eq((r.status, r.json().get("model_version"), r.json().get("tokenizer_version")),
             (200, "Kronos-tiny", "Kronos-Tokenizer-tiny"), "versions from the folder names")
finally:
    shutil.rmtree(tmp)

# Startup timeout: the load does not finish in time -> failed (mini weights take longer than 1 ms).
env = {"KRONOS_MODEL_PATH": os.path.join(MINI, "model"),
       "KRONOS_TOKENIZER_PATH": os.path.join(MINI, "tokenizer"), "KRONOS_MAX_CONTEXT": "128",
       "KRONOS_STARTUP_TIMEOUT": "0.001"}
with Kronosd(env=env) as k:
    time.sleep(0.3)
    logs = [l for l in k.log_records() if l["message"] in ("model load failed", "model loaded")]
    c.check(logs and logs[0]["message"] == "model load failed" and
            "did not finish" in logs[0].get("error_message", ""), "startup timeout reported: %r"
            % (logs[:1],))

# A good load: metrics reflect the engine; memory stays flat over many forecasts.
env = {"KRONOS_MODEL_PATH": os.path.join(MINI, "model"),
       "KRONOS_TOKENIZER_PATH": os.path.join(MINI, "tokenizer"), "KRONOS_MAX_CONTEXT": "128",
       "KRONOS_RATE_LIMIT_ENABLED": "false"}
req = json.load(open(os.path.join(MINI, "cases", "a_noslide", "request.json")))
with Kronosd(env=env, wait_ready=True, startup_timeout=60) as k:
    m = k.get("/v1/metrics").body.decode()
    c.check('kronos_model_info{engine="kronos",model="model",tokenizer="tokenizer",'
            'max_context="128"} 1' in m, "model_info reflects the engine")
    c.check("kronos_model_loaded 1" in m, "model_loaded 1")
    load = [l for l in m.splitlines() if l.startswith("kronos_model_load_seconds ")]
    c.check(load and float(load[0].split()[1]) > 0, "load seconds recorded")

    def rss():
        return k.get("/v1/healthz/detailed").json()["checks"]["memory"]["rss_bytes"]

    long = dict(req)
    long["prediction_timestamps"] = ["2031-01-%02dT%02d:%02d:00Z" % (1 + i // 1440, (i // 60) % 24,
                                                                   i % 60) for i in range(129)]
    r = k.post("/v1/predict/single", long)
    c.eq(r.status, 422, "pred_len over the model's max_context is a client error")
    c.check(any(d["field"] == "prediction_timestamps" for d in r.json()["error"]["details"]),
            "422 names prediction_timestamps")
    for _ in range(10):
        c.eq(k.post("/v1/predict/single", req, timeout=60).status, 200, "forecast ok")
    rss10 = rss()
    for _ in range(90):
        k.post("/v1/predict/single", req, timeout=60)
    rss100 = rss()
    growth = rss100 - rss10
    print("RSS after 10 forecasts: %d, after 100: %d (growth %d bytes)" % (rss10, rss100, growth))
    if not SANITIZE:  # ASan's allocator quarantines freed memory on purpose
        c.check(growth < 2 * 1024 * 1024, "RSS after 100 forecasts ~ RSS after 10 (+%d B)" % growth)
c.done()
