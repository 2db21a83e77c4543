#!/usr/bin/env bash
# Runs every benchmark: bench/<name>/run.sh <build-dir>. Each prints its anchor and ratios.
set -euo pipefail
build=$(realpath "${1:-build/bench}")
cd "$(dirname "$0")"
for r in */run.sh; do
    echo "== bench/${r%/run.sh}"
    bash "$r" "$build"
done
