#!/usr/bin/env bash
# Parse/validate and response-building cost at the request limits. Usage: run.sh <build-dir>
set -euo pipefail
"$1/bench/predict_json/bench_predict_json"
