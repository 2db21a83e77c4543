#!/usr/bin/env bash
# Usage: bench/kronos/compare.sh <build-dir> <git-rev> <rounds> <case>...
# Measures this tree's engine against the engine at <git-rev> in one run: builds bench_kronos
# from this tree's bench source against <rev>'s engine (in <build-dir>/bench-base), then runs
# every case alternately on both engines, <rounds> times, and prints each engine's median, the
# spread, and the ratio old/new. Cases as bench_kronos takes them (model:T:P:S[:M]).
set -euo pipefail
build=$(realpath "$1")
rev=$2
rounds=$3
shift 3
here=$(cd "$(dirname "$0")/../.." && pwd)
new="$build/bench/kronos/bench_kronos"
[ -x "$new" ] || { echo "missing $new: configure with -DKRONOS_BENCH=ON and build" >&2; exit 1; }
base="$build/bench-base"
stamp="$base/.rev"
if [ ! -x "$base/build/bench/kronos/bench_kronos" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$rev" ] ||
    ! cmp -s "$here/bench/kronos/bench_kronos.c" "$base/src/bench/kronos/bench_kronos.c"; then
    rm -rf "$base/src"
    mkdir -p "$base/src"
    git -C "$here" archive "$rev" | tar -x -C "$base/src"
    cp "$here/bench/kronos/bench_kronos.c" "$base/src/bench/kronos/bench_kronos.c"
    # only the engine benchmark: the others need packages this comparison does not
    find "$base/src/bench" -mindepth 1 -maxdepth 1 -type d ! -name kronos -exec rm -rf {} +
    cmake -S "$base/src" -B "$base/build" -DCMAKE_BUILD_TYPE=Release -DKRONOS_BENCH=ON >/dev/null
    cmake --build "$base/build" -j2 --target bench_kronos >/dev/null
    echo "$rev" >"$stamp"
fi
old="$base/build/bench/kronos/bench_kronos"
models="$build/bench-kronos-models"
threads=${KRONOS_INFERENCE_THREADS:-2}
export OMP_WAIT_POLICY=PASSIVE
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "old: $rev ($(git -C "$here" rev-parse --short "$rev")), new: this tree ($(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD || echo '+changes')), threads $threads"
for r in $(seq 1 "$rounds"); do
    for c in "$@"; do
        for side in new old; do
            bin=$new
            [ "$side" = old ] && bin=$old
            "$bin" "$models" 1 "$threads" "$c" | sed -n -e "s/^RESULT /$side wall /p" \
                -e "s/^CPU /$side cpu /p" >>"$log"
        done
    done
    echo "round $r done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
/usr/bin/python3 - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, kind, case, *ts = line.split()
    runs.setdefault((case, kind), {}).setdefault(side, []).extend(float(t) for t in ts)
print(f"{'case (model:T:P:S:M)':24} {'':4} {'old median':>11} {'new median':>11} {'old/new':>8}   old range / new range")
for (case, kind), r in runs.items():
    o, n = r.get('old', []), r.get('new', [])
    mo, mn = statistics.median(o), statistics.median(n)
    print(f"{case:24} {kind:4} {mo:10.3f}s {mn:10.3f}s {mo / mn:7.2f}x   {min(o):.3f}-{max(o):.3f} / {min(n):.3f}-{max(n):.3f}")
PY
