"""Issue 11, "Runs on arm64 and on x86-64 without AVX2": the shipped binary picks its Kronos
kernels at run time (avx512, avx2 or portable; docs/DEPLOYMENT.md, "CPUs and architectures").
KRONOS_SIMD=portable and KRONOS_SIMD=avx2 force a set: the start-up log and /v1/healthz/detailed
say so, and every tiny golden case still matches expected.csv within the manifest's tolerance; left
to itself it picks the fastest set this CPU runs (avx512 on one with AVX-512F). Then the same
x86-64 binary on emulated CPUs (qemu-x86_64, which raises SIGILL on an instruction the model
lacks): without AVX2 (-cpu Nehalem) it chooses the portable kernels by itself, forecasts right,
and KRONOS_SIMD=avx2 or avx512 stops start-up naming the variable; with AVX2 but no AVX-512 (-cpu
Haswell) it chooses avx2, forecasts right, and KRONOS_SIMD=avx512 stops start-up."""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys

import harness
from harness import SANITIZE, TINY, Checker, Kronosd

c = Checker()
COLS = ["open", "high", "low", "close", "volume", "amount"]

if not TINY or not os.path.isdir(TINY):
    print("SKIP: no golden data")
    sys.exit(0)

ENV = {"KRONOS_MODEL_PATH": os.path.join(TINY, "model"),
       "KRONOS_TOKENIZER_PATH": os.path.join(TINY, "tokenizer"), "KRONOS_MAX_CONTEXT": "16",
       "KRONOS_RATE_LIMIT_ENABLED": "false", "KRONOS_INFERENCE_THREADS": "1",
       "KRONOS_MAX_SAMPLE_COUNT": "16"}
CASES = sorted(os.listdir(os.path.join(TINY, "cases")))


HAS_AVX2 = harness.cpu_has_avx2_fma()
HAS_AVX512 = HAS_AVX2 and "avx512f" in harness.cpu_flags()
BEST = "avx512" if HAS_AVX512 else "avx2" if HAS_AVX2 else "portable"


def worst_error(req, got):
    """The largest |got-expected| as a fraction of the manifest's final tolerance (SPEC §1's
    output rule applied to expected.csv, as test_kronos_golden.py does)."""
    d = os.path.join(TINY, "cases", req["_case"])
    with open(os.path.join(d, "expected.csv")) as f:
        rows = [{k: float(v) for k, v in row.items() if k in COLS} for row in csv.DictReader(f)]
    worst = 0.0
    for col in COLS:
        std = statistics.pstdev([float(cd.get(col, 0.0)) for cd in req["candles"]])
        for g, e in zip(got, rows):
            o, h, l, cl = e["open"], e["high"], e["low"], e["close"]
            want = {"open": o, "high": max(o, h, cl), "low": min(o, l, cl), "close": cl,
                    "volume": max(e["volume"], 0.0), "amount": max(e["amount"], 0.0)}[col]
            tol = 1e-5 * abs(want) + 5e-5 * (std + 1e-5)
            worst = max(worst, abs(g[col] - want) / tol)
    return worst if len(got) == len(rows) else float("inf")


def forecasts_match(k, cases, label):
    for case in cases:
        with open(os.path.join(TINY, "cases", case, "request.json")) as f:
            req = json.load(f)
        r = k.post("/v1/predict/single", req, timeout=300)
        if not c.eq(r.status, 200, "%s %s status" % (label, case)):
            continue
        req["_case"] = case
        worst = worst_error(req, r.json()["prediction"])
        c.check(worst <= 1.0, "%s %s within tolerance (worst %.3g of it)" % (label, case, worst))


def started(k):
    return [r for r in k.log_records() if r.get("message") == "kronosd starting"][0]


def kernels_reported(k, want, label):
    rec = started(k)
    c.eq(rec.get("kernels"), want, label + ": start-up log field kernels")
    detailed = k.get("/v1/healthz/detailed").json()
    c.eq(detailed["checks"]["model"].get("kernels"), want,
         label + ": /v1/healthz/detailed checks.model.kernels")
    return rec


# 1. Forced portable on this machine.
with Kronosd(env=dict(ENV, KRONOS_SIMD="portable"), wait_ready=True, startup_timeout=60) as k:
    rec = kernels_reported(k, "portable", "KRONOS_SIMD=portable")
    c.eq(rec["config"]["KRONOS_SIMD"], "portable", "the logged configuration")
    c.eq(rec.get("cpu_avx2_fma"), HAS_AVX2, "start-up log cpu_avx2_fma")
    c.eq(rec.get("cpu_avx512f"), HAS_AVX512, "start-up log cpu_avx512f")
    forecasts_match(k, CASES, "portable")

# 2. Forced avx2 where the CPU has it (on a CPU with AVX-512F, the AVX2 kernels with OpenBLAS for
# the linears no longer run by default).
if HAS_AVX2:
    with Kronosd(env=dict(ENV, KRONOS_SIMD="avx2"), wait_ready=True, startup_timeout=60) as k:
        rec = kernels_reported(k, "avx2", "KRONOS_SIMD=avx2")
        c.eq(rec["config"]["KRONOS_SIMD"], "avx2", "the logged configuration")
        forecasts_match(k, CASES, "avx2")
else:
    print("SKIP: KRONOS_SIMD=avx2 (this CPU lacks AVX2 or FMA)")

# 3. Left to itself: the fastest set this CPU runs.
with Kronosd(env=ENV, wait_ready=True, startup_timeout=60) as k:
    rec = kernels_reported(k, BEST, "KRONOS_SIMD=auto")
    c.eq(rec["config"]["KRONOS_SIMD"], "auto", "the logged configuration")
    if HAS_AVX512:
        forecasts_match(k, CASES, "auto (avx512)")

# 4. x86-64 CPUs without AVX2 or AVX-512, emulated. Not under the sanitizers (their runtimes do
# not run under qemu-user). OpenBLAS's own CPU probe picks its Haswell kernels under the Nehalem
# model (it crashed with SIGILL), so it is told the core; kronosd's choice is its own.
QEMU = shutil.which("qemu-x86_64")


def qemu_models():
    p = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True, timeout=30)
    return {line.split()[1] for line in p.stdout.splitlines() if line.startswith("x86 ")}


def emulated(model, qenv, want, ncases):
    """kronosd under qemu -cpu model: picks want by itself and forecasts ncases right."""
    bin_ = harness.BIN
    harness.BIN = QEMU
    try:
        with Kronosd(env=qenv, args=["-cpu", model, bin_], wait_ready=True,
                     startup_timeout=120) as k:
            label = "qemu -cpu " + model
            rec = kernels_reported(k, want, label)
            c.eq(rec.get("cpu_avx2_fma"), want == "avx2", label + ": cpu_avx2_fma")
            c.eq(rec.get("cpu_avx512f"), False, label + ": cpu_avx512f")
            forecasts_match(k, CASES[:ncases], label)
    finally:
        harness.BIN = bin_


def refused(model, qenv, simd, why):
    env = dict(os.environ, **qenv, KRONOS_SIMD=simd, KRONOS_PORT="1")
    p = subprocess.run([QEMU, "-cpu", model, harness.BIN], env=env, capture_output=True,
                       text=True, timeout=120)
    label = "KRONOS_SIMD=%s under qemu -cpu %s" % (simd, model)
    c.eq(p.returncode, 2, label + ": exit code")
    said = [line for line in p.stderr.splitlines() if line.startswith("kronosd:")]  # not qemu's
    c.check(len(said) == 1 and 'KRONOS_SIMD="%s"' % simd in said[0] and why in said[0],
            "%s: the refusal names the variable and why: %r" % (label, said))


if SANITIZE or not QEMU or os.uname().machine != "x86_64":
    print("SKIP: no AVX2-less CPU to emulate (needs qemu-x86_64, Debian qemu-user, and no "
          "sanitizer)")
else:
    models = qemu_models()
    if c.check("Nehalem" in models, "qemu-x86_64 offers -cpu Nehalem"):
        nehalem = dict(ENV, OPENBLAS_CORETYPE="Nehalem")
        emulated("Nehalem", nehalem, "portable", 2)
        refused("Nehalem", nehalem, "avx2", "lacks AVX2")
        refused("Nehalem", nehalem, "avx512", "lacks AVX-512F")
    # Haswell: AVX2 and FMA, no AVX-512 (qemu 7.2's TCG has no AVX-512 at all). OpenBLAS's probe
    # reads the emulated CPU right here (its Haswell kernels).
    if c.check("Haswell" in models, "qemu-x86_64 offers -cpu Haswell"):
        emulated("Haswell", ENV, "avx2", 1)
        refused("Haswell", ENV, "avx512", "lacks AVX-512F")
c.done()
