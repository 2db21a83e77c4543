#!/usr/bin/env bash
# Runs both sides of the metrics benchmark and prints one table with the ratios and targets.
# Hot paths are shared atomics on both sides (client_golang's shape): the target only flags a
# regression. Exposition and memory per series keep tight targets.
# usage: bench/metrics/run.sh <build-dir>
set -euo pipefail
build=$(realpath "${1:-build/bench}")
dir="$build/bench/metrics"
k=$(mktemp) p=$(mktemp)
trap 'rm -f "$k" "$p"' EXIT
"$dir/bench_metrics_kronos" >"$k"
"$dir/bench_metrics_promcpp" >"$p"
echo "metrics library vs prometheus-cpp ($(gcc -dumpfullversion), -O2; medians; lower is better)"
awk '
    FNR == NR { k[$1] = $2; order[++n] = $1; next }
    { p[$1] = $2 }
    END {
        unit["counter_inc_1t"] = "ns/op"; target["counter_inc_1t"] = "<= 2x"; lim["counter_inc_1t"] = 2
        unit["counter_inc_2t"] = "ns/op"; target["counter_inc_2t"] = "<= 2x"; lim["counter_inc_2t"] = 2
        unit["lookup_inc"] = "ns/op"; target["lookup_inc"] = "<= 0.5x"; lim["lookup_inc"] = 0.5
        unit["histogram_observe_1t"] = "ns/op"; target["histogram_observe_1t"] = "<= 2x"; lim["histogram_observe_1t"] = 2
        unit["histogram_observe_2t"] = "ns/op"; target["histogram_observe_2t"] = "<= 2x"; lim["histogram_observe_2t"] = 2
        unit["heap_bytes_per_series"] = "B"; target["heap_bytes_per_series"] = "<= 128 B"; abs["heap_bytes_per_series"] = 128
        unit["expose_10k_us"] = "us"; target["expose_10k_us"] = "<= 0.25x"; lim["expose_10k_us"] = 0.25
        printf "%-22s %12s %16s %8s %10s %s\n", "benchmark", "kronos", "prometheus-cpp", "ratio", "target", ""
        for (i = 1; i <= n; i++) {
            b = order[i]; r = p[b] > 0 ? k[b] / p[b] : 0
            ok = (b in abs) ? (k[b] <= abs[b]) : (r <= lim[b])
            printf "%-22s %9.2f %-2s %13.2f %-2s %7.3f %10s %s\n", b, k[b], unit[b] == "ns/op" ? "ns" : unit[b], p[b], unit[b] == "ns/op" ? "ns" : unit[b], r, target[b], ok ? "ok" : "MISSED"
        }
    }' "$k" "$p"
