#!/usr/bin/python3
"""Times upstream PyTorch Kronos on the random-weight models bench_kronos writes.

Usage: upstream.py [--print-forecast] <upstream-checkout> <models-dir> <repeats> <threads> case...

<upstream-checkout> is a clone of https://github.com/shiyu-coder/Kronos (never part of this repo);
<models-dir> is <build>/bench-kronos-models as bench_kronos writes it (small, mini, tokenizer-base,
tokenizer-2k: config.json + model.safetensors each). Cases as bench_kronos takes them,
model:T:P:S[:M] (M defaults to 512 for small, 2048 for mini).

Each forecast goes through upstream's own KronosPredictor.predict (DataFrame in, normalise,
auto_regressive_inference, de-normalise) on the same synthetic series bench_kronos makes, with
bench_kronos's sampling settings: S = 1 greedy (T 1.0, top_k 1, top_p 1.0), else T 1.0, top_k 0,
top_p 0.9. Models are loaded before timing, as bench_kronos does. Per case it prints

  UPSTREAM <model:T:P:S:M> <median wall seconds per forecast>
  UPSTREAM_WALL <model:T:P:S:M> <wall seconds of every repeat>
  UPSTREAM_CPU <model:T:P:S:M> <process CPU seconds of every repeat>
  FORECAST <model:T:P:S:M> <P x 6 values>      (with --print-forecast; the last repeat's forecast)

Runs with Debian's python3-torch (1.13), numpy and pandas only. Stand-ins, each used only when the
real package is missing, for what upstream imports at module level but inference never needs:
huggingface_hub.PyTorchModelHubMixin (only from_pretrained/push_to_hub; a plain base class here),
einops.rearrange/reduce (only the tokenizer's training loss), tqdm.trange (only with verbose=True).
torch < 2.0 has no public F.scaled_dot_product_attention, which upstream's attention calls; there it
is routed to torch 1.13's own kernel of the same computation, F._scaled_dot_product_attention (the
golden data in kronos-golden were made the same way).
"""

import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import time
import types


def parse_case(text):
    parts = text.split(":")
    if len(parts) not in (4, 5) or parts[0] not in ("small", "mini"):
        raise ValueError(f"bad case {text!r}: want model:T:P:S[:M], model small or mini")
    T, P, S = (int(v) for v in parts[1:4])
    M = int(parts[4]) if len(parts) == 5 else (512 if parts[0] == "small" else 2048)
    if min(T, P, S, M) <= 0:
        raise ValueError(f"bad case {text!r}")
    return parts[0], T, P, S, M


def install_stand_ins(torch):
    """Minimal modules for upstream's module-level imports that inference does not use."""
    if importlib.util.find_spec("huggingface_hub") is None:
        hub = types.ModuleType("huggingface_hub")

        class PyTorchModelHubMixin:  # upstream inherits it only for from_pretrained/push_to_hub
            pass

        hub.PyTorchModelHubMixin = PyTorchModelHubMixin
        sys.modules["huggingface_hub"] = hub
    if importlib.util.find_spec("einops") is None:
        ein = types.ModuleType("einops")

        def unavailable(*args, **kwargs):
            raise NotImplementedError("einops stand-in: upstream uses it only for training losses")

        ein.rearrange = ein.reduce = unavailable
        sys.modules["einops"] = ein
    if importlib.util.find_spec("tqdm") is None:
        tq = types.ModuleType("tqdm")
        tq.trange = range  # upstream uses it only with verbose=True
        sys.modules["tqdm"] = tq
    F = torch.nn.functional
    if not hasattr(F, "scaled_dot_product_attention"):

        def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False):
            return F._scaled_dot_product_attention(
                query, key, value, attn_mask, dropout_p, False, is_causal
            )[0]

        F.scaled_dot_product_attention = sdpa
        return True
    return False


ST_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
             "I32": "int32"}


def read_safetensors(path, torch):
    """safetensors: u64 little-endian header length, JSON header, raw little-endian tensor data."""
    if sys.byteorder != "little":
        raise RuntimeError("this reader assumes a little-endian host")
    with open(path, "rb") as f:
        blob = bytearray(f.read())
    hlen = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + hlen])
    base = 8 + hlen
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = getattr(torch, ST_DTYPES[info["dtype"]])
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        t = torch.frombuffer(blob, dtype=dtype, count=count, offset=base + begin) if count else \
            torch.empty(0, dtype=dtype)
        if t.numel() * t.element_size() != end - begin:
            raise RuntimeError(f"{path}: {name}: size does not match its offsets")
        state[name] = t.reshape(info["shape"])
    return state


# Buffers upstream computes in its constructors; a checkpoint may or may not carry them.
BUFFER_SUFFIXES = ("rotary.inv_freq", "bsq.basis", "bsq.group_basis")


def load(cls, directory, torch):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    module = cls(**config)
    state = read_safetensors(os.path.join(directory, "model.safetensors"), torch)
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(BUFFER_SUFFIXES)]
    if missing or unexpected:
        raise RuntimeError(f"{directory}: missing {missing}, unexpected {unexpected}")
    return module.eval()


def gauss(state):
    """bench_kronos.c's gauss(): 64-bit LCG, Box-Muller, in double precision."""
    u = []
    for _ in range(2):
        state[0] = (state[0] * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        u.append(((state[0] >> 11) + 0.5) * 2.0 ** -53)
    return math.sqrt(-2 * math.log(u[0])) * math.cos(2 * math.pi * u[1])


def make_series(T, seed, np):
    """bench_kronos.c's make_series(): a random walk of T 5-minute bars, float32 like the C code."""
    f32 = np.float32
    s = [seed]
    price = 100.0
    x = np.zeros((T, 6), dtype=np.float32)
    for r in range(T):
        price *= 1 + 0.002 * gauss(s)
        row = x[r]
        row[0] = f32(price)
        row[3] = f32(price * (1 + 0.001 * gauss(s)))
        row[1] = max(row[0], row[3]) * f32(1.001)
        row[2] = min(row[0], row[3]) * f32(0.999)
        row[4] = f32(1000 + 500 * abs(gauss(s)))
        row[5] = row[4] * row[3]
    return x


def timestamps(T, P, pd):
    """Stamps equal to make_series's (minute, hour, weekday, day 1 + d % 28, month 1): 5-minute bars
    from Monday 2024-01-01 00:00, which matches while the bars stay within the first 28 days."""
    if (T + P) * 5 >= 28 * 1440:
        raise ValueError("T + P too long for the synthetic calendar (at most 8063 bars)")
    stamps = pd.Series(pd.date_range("2024-01-01 00:00", periods=T + P, freq="5min"))
    return stamps[:T].reset_index(drop=True), stamps[T:].reset_index(drop=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--print-forecast", action="store_true", help="print each case's forecast values")
    ap.add_argument("checkout")
    ap.add_argument("models")
    ap.add_argument("repeats", type=int)
    ap.add_argument("threads", type=int)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    cases = [parse_case(c) for c in args.cases]
    if args.repeats < 1 or args.threads < 1:
        ap.error("repeats and threads must be positive")

    # Before torch loads: OpenMP and OpenBLAS size their pools from these.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    # libgomp's and OpenBLAS's pools both spin-wait by default; on 2 shared cores that costs
    # upstream 3-10x (small:100:10:1 0.75 s passive, 4-20 s active). bench_kronos runs with it too.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    shimmed_sdpa = install_stand_ins(torch)
    sys.path.insert(0, os.path.abspath(args.checkout))
    from model import Kronos, KronosPredictor, KronosTokenizer

    blas = sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if "blas" in line and line.split()[-1].startswith("/")})
    print(f"upstream {args.checkout}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"blas {' '.join(blas) or '?'}, OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'unset')}"
          f"{', sdpa via torch._scaled_dot_product_attention' if shimmed_sdpa else ''}", flush=True)

    loaded = {}
    for name, T, P, S, M in cases:
        if name not in loaded:
            tok_dir = "tokenizer-base" if name == "small" else "tokenizer-2k"
            loaded[name] = (load(KronosTokenizer, os.path.join(args.models, tok_dir), torch),
                            load(Kronos, os.path.join(args.models, name), torch))
        tokenizer, model = loaded[name]
        predictor = KronosPredictor(model, tokenizer, device="cpu", max_context=M, clip=5)
        x = make_series(T, 99, np)
        df = pd.DataFrame(x, columns=["open", "high", "low", "close", "volume", "amount"])
        x_ts, y_ts = timestamps(T, P, pd)
        sampling = dict(T=1.0, top_k=1, top_p=1.0) if S == 1 else dict(T=1.0, top_k=0, top_p=0.9)
        key = f"{name}:{T}:{P}:{S}:{M}"
        wall, cpu = [], []
        for _ in range(args.repeats):
            torch.manual_seed(42)
            t0, c0 = time.perf_counter(), time.process_time()
            pred = predictor.predict(df, x_ts, y_ts, P, sample_count=S, verbose=False, **sampling)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(f"UPSTREAM {key} {statistics.median(wall):.4f}")
        print(f"UPSTREAM_WALL {key} " + " ".join(f"{t:.4f}" for t in wall))
        print(f"UPSTREAM_CPU {key} " + " ".join(f"{t:.4f}" for t in cpu))
        if args.print_forecast:
            print(f"FORECAST {key} " + " ".join(f"{v:.9g}" for v in pred.to_numpy().ravel()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
