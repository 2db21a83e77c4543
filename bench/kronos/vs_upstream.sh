#!/usr/bin/env bash
# Usage: bench/kronos/vs_upstream.sh <build-dir> <upstream-checkout> <rounds> <case>...
# Measures kronosd's engine (bench_kronos) against upstream PyTorch Kronos (bench/kronos/upstream.py
# on a clone of https://github.com/shiyu-coder/Kronos, kept outside this repo) in one run, on the
# same random-weight models and input series. First checks, per model in the cases, that both give
# the same greedy forecast for <model>:100:10:1 (so both do the same model work), then runs every
# case once on each side per round, alternating which side goes first, and prints per case each
# side's median and range and the ratio upstream/kronosd. Cases as bench_kronos takes them
# (model:T:P:S[:M]). Threads per forecast: KRONOS_INFERENCE_THREADS (default 2), on both sides.
set -euo pipefail
build=$(realpath "$1")
upstream=$(realpath "$2")
rounds=$3
shift 3
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="$build/bench/kronos/bench_kronos"
[ -x "$bin" ] || { echo "missing $bin: configure with -DKRONOS_BENCH=ON and build" >&2; exit 1; }
[ -f "$upstream/model/kronos.py" ] || { echo "$upstream is not a Kronos checkout (no model/kronos.py)" >&2; exit 1; }
models="$build/bench-kronos-models"
threads=${KRONOS_INFERENCE_THREADS:-2}
py=/usr/bin/python3
up="$here/bench/kronos/upstream.py"
# Both sides: libgomp/OpenBLAS spin-waiting on 2 shared cores costs upstream several times over.
export OMP_WAIT_POLICY=PASSIVE
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "kronosd: this tree ($(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD || echo '+changes')), upstream: $upstream ($(git -C "$upstream" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')), threads $threads"

# Same work: greedy forecasts must agree (tokens exact, so values to float rounding).
for model in $(printf '%s\n' "$@" | cut -d: -f1 | sort -u); do
    check="$model:100:10:1"
    KRONOS_BENCH_PRINT_FORECAST=1 "$bin" "$models" 1 "$threads" "$check" | grep '^FORECAST' >"$log.k"
    "$py" "$up" --print-forecast "$upstream" "$models" 1 "$threads" "$check" | grep '^FORECAST' >"$log.u"
    "$py" - "$log.k" "$log.u" <<'PY' || { rm -f "$log.k" "$log.u"; exit 1; }
import sys
k, u = ([float(v) for v in open(p).read().split()[2:]] for p in sys.argv[1:3])
case = open(sys.argv[1]).read().split()[1]
assert len(k) == len(u) > 0, f"{case}: {len(k)} vs {len(u)} values"
worst = 0.0
for col in range(6):
    ref = u[col::6]
    scale = max(abs(v) for v in ref)
    worst = max([worst] + [abs(a - b) / scale for a, b in zip(k[col::6], ref)])
ok = worst <= 1e-5
print(f"check {case}: kronosd vs upstream greedy forecast, max |diff| / column max {worst:.1e}: "
      f"{'same' if ok else 'DIFFERENT (not the same model work; figures below would mean nothing)'}")
sys.exit(0 if ok else 1)
PY
    rm -f "$log.k" "$log.u"
done

for r in $(seq 1 "$rounds"); do
    for c in "$@"; do
        sides="kronosd upstream"
        [ $((r % 2)) = 0 ] && sides="upstream kronosd"
        for side in $sides; do
            if [ "$side" = kronosd ]; then
                "$bin" "$models" 1 "$threads" "$c" | sed -n -e 's/^RESULT /kronosd wall /p' \
                    -e 's/^CPU /kronosd cpu /p' >>"$log"
            else
                "$py" "$up" "$upstream" "$models" 1 "$threads" "$c" |
                    sed -n -e 's/^UPSTREAM_WALL /upstream wall /p' -e 's/^UPSTREAM_CPU /upstream cpu /p' >>"$log"
            fi
        done
    done
    echo "round $r done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done

"$py" - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, kind, case, *ts = line.split()
    runs.setdefault((case, kind), {}).setdefault(side, []).extend(float(t) for t in ts)
print(f"{'case (model:T:P:S:M)':24} {'':4} {'kronosd':>10} {'upstream':>10} {'upstream/kronosd':>17}"
      "   kronosd range / upstream range")
for (case, kind), r in runs.items():
    k, u = r.get('kronosd', []), r.get('upstream', [])
    if not k or not u:
        print(f"{case:24} {kind:4} missing a side's result")
        continue
    mk, mu = statistics.median(k), statistics.median(u)
    print(f"{case:24} {kind:4} {mk:9.3f}s {mu:9.3f}s {mu / mk:16.2f}x   "
          f"{min(k):.3f}-{max(k):.3f} / {min(u):.3f}-{max(u):.3f}")
PY
