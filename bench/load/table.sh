#!/usr/bin/env bash
# Usage: bench/load/table.sh <build-dir> [seconds]
# Forecasts/s against concurrency and batch size, closed loop, one kronosd per row (run.sh):
# prints a markdown table with p50/p99 latency and the model's mean rows per step.
set -euo pipefail
build=$1
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
row() { # engine candles pred_len clients batch
    local mix="single:1" extra=()
    if [ "$5" -gt 1 ]; then mix="batch:1"; extra=(--batch-min "$5" --batch-max "$5"); fi
    local out
    out=$(bash "$here/run.sh" "$build" "$1" --clients "$4" --duration "$secs" --warmup 3 \
        --mix "$mix" --candles "$2" --pred-len "$3" "${extra[@]}" --json)
    /usr/bin/python3 - "$1 $2->$3" "$4" "$5" "$out" <<'PY'
import json, re, sys
shape, clients, batch, out = sys.argv[1:]
fig = json.loads(out.split("JSON ", 1)[1].splitlines()[0])
kind = next(iter(fig["kinds"].values()))
m = re.search(r"mean ([0-9.]+) rows per step", out)
print(f"| {shape} | {clients} | {batch} | {fig['forecasts_per_s']:.2f} | {kind['p50_ms']:.0f} | "
      f"{kind['p99_ms']:.0f} | {m.group(1) if m else '-'} |")
PY
}
echo "| model, shape | clients | items per request | forecasts/s | p50 ms | p99 ms | rows per step |"
echo "|---|---|---|---|---|---|---|"
for c in 1 2 4 8 16; do row small 100 60 "$c" 1; done
row small 100 60 1 8
row small 100 60 1 32
for c in 1 8; do row small 300 60 "$c" 1; done
for c in 1 4; do row small 400 120 "$c" 1; done
row small 400 120 1 4
for c in 1 8; do row mini 400 120 "$c" 1; done
