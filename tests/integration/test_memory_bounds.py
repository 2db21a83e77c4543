"""Issue 9: the memory a forecast can use follows from the request limits, and start-up refuses
limits whose worst case (workers x per forecast + weights) exceeds what the machine or its cgroup
has: exit code 2, a message naming the variables. Absurd limits exceed any machine; the defaults
fit and the figures are logged."""
import json
import os
import struct
import subprocess

from harness import BIN, GOLDEN, Checker, Kronosd, free_port

c = Checker()
LIMITS = ("KRONOS_MAX_CANDLES", "KRONOS_MAX_CONTEXT", "KRONOS_MAX_PRED_LEN",
          "KRONOS_MAX_SAMPLE_COUNT", "KRONOS_MAX_BATCH_ITEMS", "KRONOS_INFERENCE_THREADS")


def start(env, what):
    full = dict(os.environ, KRONOS_HOST="127.0.0.1", KRONOS_PORT=str(free_port()), **env)
    try:
        p = subprocess.run([BIN], env=full, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        c.check(False, what + ": exits at once instead of serving")
        return
    err = p.stderr.decode()
    c.eq(p.returncode, 2, what + ": exit code")
    for name in LIMITS:
        c.check(name in err, "%s: message names %s: %r" % (what, name, err[:300]))
    c.check("exceeds" in err or "more than" in err, what + ": says why: %r" % err[:300])
    c.check("kronosd starting" not in p.stdout.decode(), what + ": never started serving")


# The baseline engine keeps every sample of every item of a batch: 100000 items x 100000 bars x
# 1025 samples is hundreds of TiB.
start({"KRONOS_MAX_BATCH_ITEMS": "100000", "KRONOS_MAX_PRED_LEN": "100000",
       "KRONOS_MAX_SAMPLE_COUNT": "1024"}, "baseline, absurd limits")

if GOLDEN and os.path.isdir(GOLDEN):
    MINI = os.path.join(GOLDEN, "mini")
    model = {"KRONOS_MODEL_PATH": os.path.join(MINI, "model"),
             "KRONOS_TOKENIZER_PATH": os.path.join(MINI, "tokenizer")}
    # A million candles is ~13 GB per forecast for these shapes; with 1024 samples and 256
    # workers it is terabytes.
    start(dict(model, KRONOS_MAX_CANDLES="1000000", KRONOS_MAX_CONTEXT="2048",
               KRONOS_MAX_SAMPLE_COUNT="1024", KRONOS_INFERENCE_THREADS="1024"),
          "kronos, absurd limits")

    FILES = sum(os.path.getsize(os.path.join(MINI, d, "model.safetensors"))
                for d in ("model", "tokenizer"))

    def panel_bytes():
        """What the avx512 kernels pack at load: every linear's weight (2-D tensors but the
        embedding tables) again, its output columns rounded up to panels of 32."""
        total = 0
        for d in ("model", "tokenizer"):
            with open(os.path.join(MINI, d, "model.safetensors"), "rb") as f:
                header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
            for name, t in header.items():
                if name != "__metadata__" and len(t["shape"]) == 2 and \
                        "emb_s" not in name and "time_emb" not in name:
                    total += 4 * -(-t["shape"][0] // 32) * 32 * t["shape"][1]
        return total

    # The defaults fit; the figures are logged once at start-up. Weights: the files, plus the
    # linears packed again as panels with the avx512 kernels (docs/DEPLOYMENT.md, "CPUs and
    # architectures"; the bound sizes the tokenizer's narrow linears at its width, so a little
    # more). With every other set (KRONOS_SIMD=portable), the files alone.
    for simd in ("auto", "portable"):
        with Kronosd(env=dict(model, KRONOS_MAX_CONTEXT="128", KRONOS_INFERENCE_THREADS="2",
                              KRONOS_SIMD=simd), wait_ready=True) as k:
            started = [l for l in k.log_records() if l["message"] == "kronosd starting"]
            kernels = started[0]["kernels"]
            what = "KRONOS_SIMD=%s (%s)" % (simd, kernels)
            lines = [l for l in k.log_records() if l["message"] == "memory bound"]
            if c.check(len(lines) == 1, what + ": one memory bound line"):
                m = lines[0]
                c.eq(m["workers"], 1, what + ": 2 threads = 1 Kronos forecast of 2 threads")
                if kernels == "avx512":
                    packed, want = m["weights_bytes"] - FILES, panel_bytes()
                    c.check(want <= packed <= want * 1.1,
                            "%s: weights = file sizes + panels: %d over the files, panels %d"
                            % (what, packed, want))
                else:
                    c.eq(m["weights_bytes"], FILES, what + ": weights = file sizes")
                c.eq(m["worst_case_bytes"],
                     m["workers"] * m["per_forecast_bytes"] + m["weights_bytes"],
                     what + ": worst case = workers x per forecast + weights")
                c.check(0 < m["worst_case_bytes"] <= m["machine_bytes"], "fits: %r" % m)
                c.check(m["machine_source"].startswith(("MemTotal", "cgroup")), "source named")
            r = k.post("/v1/predict/single", json.load(open(os.path.join(
                MINI, "cases", "a_noslide", "request.json"))))
            c.eq(r.status, 200, what + ": serves with the defaults")
c.done()
