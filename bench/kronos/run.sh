#!/usr/bin/env bash
# Usage: bench/kronos/run.sh <build-dir> [repeats]
# Writes random-weight Kronos-small/-mini models into <build-dir>/bench-kronos-models (once),
# then prints seconds per forecast, per bar, GFLOP/s, the phase split and the ratio to the
# upstream PyTorch reference, for sample_count 1 and 4 (medians of the repeats).
set -euo pipefail
build=$(realpath "${1:-build/bench}")
repeats=${2:-3}
bin="$build/bench/kronos/bench_kronos"
[ -x "$bin" ] || { echo "missing $bin: configure with -DKRONOS_BENCH=ON and build" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE
exec "$bin" "$build/bench-kronos-models" "$repeats" "${KRONOS_INFERENCE_THREADS:-2}"
