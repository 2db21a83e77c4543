#!/usr/bin/env bash
# Whole-service benchmark: drives the real kronosd (baseline engine, loopback) with
# bench_service_loadgen and prints requests/s and latency percentiles.
#
# usage: bench/service/run.sh <build-dir> [other-kronosd ...]
#   Alone it measures <build-dir>/kronosd. Given other kronosd binaries it runs A/B/... in turns,
#   ROUNDS times (the order rotates every round so drift on a shared machine hits all alike), and
#   prints the per-run lines and then the median of every figure per binary.
# Knobs (environment): ROUNDS (5), RUN_SECONDS (10), WARMUP (2), CONNS (8), SCRAPERS (1).
# Each line: cheap requests/s and latency percentiles, the same for scrapes, kronosd CPU µs per
# answer (cpu_us: steadier than the rates on a busy machine) and the error count.
set -euo pipefail
build=$(realpath "${1:-build/bench}")
shift || true
bins=("$build/kronosd" "$@")
loadgen="$build/bench/service/bench_service_loadgen"
for b in "${bins[@]}" "$loadgen"; do
    [ -x "$b" ] || { echo "missing $b (configure with -DKRONOS_BENCH=ON and build)" >&2; exit 1; }
done
rounds=${ROUNDS:-5}
[ ${#bins[@]} -gt 1 ] || rounds=${ROUNDS:-3}
seconds=${RUN_SECONDS:-10} warmup=${WARMUP:-2} conns=${CONNS:-8} scrapers=${SCRAPERS:-1}
out=$(mktemp) errlog=$(mktemp)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -f "$out" "$errlog"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

run_one() { # <label> <binary>
    local port
    port=$(free_port)
    KRONOS_HOST=127.0.0.1 KRONOS_PORT=$port KRONOS_ENGINE=baseline KRONOS_INSTANCE=bench \
        KRONOS_RATE_LIMIT_ENABLED=false KRONOS_DRAIN_DELAY=0 KRONOS_SHUTDOWN_GRACE=5 \
        "$2" >/dev/null 2>"$errlog" &
    pid=$!
    for _ in $(seq 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/v1/readyz" && break
        sleep 0.1
    done
    local line rc=0
    line=$("$loadgen" --port "$port" --conns "$conns" --scrapers "$scrapers" \
        --seconds "$seconds" --warmup "$warmup" --pid "$pid") || rc=$?
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
    echo "$1 $line" | tee -a "$out"
    [ "$rc" -eq 0 ] || { echo "load generator reported errors ($2)" >&2; cat "$errlog" >&2; exit 1; }
}

echo "whole service, baseline engine: $conns connections (healthz, readyz, healthz, small predict)" \
    "+ $scrapers scraping /v1/metrics; ${seconds}s per run after ${warmup}s warm-up; $(nproc) CPUs"
for i in "${!bins[@]}"; do echo "  $((i + 1)) = ${bins[$i]}"; done
n=${#bins[@]}
for r in $(seq "$rounds"); do
    for k in $(seq 0 $((n - 1))); do
        i=$(((k + r - 1) % n))
        run_one "$((i + 1))" "${bins[$i]}"
    done
done
echo "medians over $rounds runs:"
awk '
    { for (f = 2; f <= NF; f++) { split($f, kv, "="); v[$1, kv[1], ++c[$1, kv[1]]] = kv[2]; key[f] = kv[1] }
      bin[$1] = 1; nf = NF }
    END {
        for (b in bin) {
            line = b
            for (f = 2; f <= nf; f++) {
                k = key[f]; m = c[b, k]
                for (i = 1; i <= m; i++) a[i] = v[b, k, i]
                for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
                line = line " " k "=" a[int((m + 1) / 2)]
            }
            print line
        }
    }' "$out" | sort
