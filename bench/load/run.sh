#!/usr/bin/env bash
# Usage: bench/load/run.sh <build-dir> <engine> [loadgen arguments...]
#   engine: small (Kronos-small shapes, max_context 512), mini (Kronos-mini, 2048) or baseline
# Starts the real kronosd (<build-dir>/kronosd) on a free loopback port with the random-weight
# models bench_kronos writes (<build-dir>/bench-kronos-models; run bench/kronos/run.sh once), rate
# limiting off, waits until it is ready, runs bench/load/loadgen.py against it, and stops it.
# Extra server settings come from the environment (KRONOS_INFERENCE_THREADS, KRONOS_QUEUE_SIZE...).
set -euo pipefail
build=$(realpath "$1")
engine=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/kronosd"
[ -x "$bin" ] || { echo "missing $bin: cmake --build $build --target kronosd" >&2; exit 1; }
models="$build/bench-kronos-models"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KRONOS_HOST=127.0.0.1 KRONOS_PORT=$port KRONOS_RATE_LIMIT_ENABLED=false
export KRONOS_LOG_LEVEL=${KRONOS_LOG_LEVEL:-WARNING}
case $engine in
small) export KRONOS_MODEL_PATH=$models/small KRONOS_TOKENIZER_PATH=$models/tokenizer-base \
           KRONOS_MAX_CONTEXT=512 ;;
mini) export KRONOS_MODEL_PATH=$models/mini KRONOS_TOKENIZER_PATH=$models/tokenizer-2k \
          KRONOS_MAX_CONTEXT=2048 ;;
baseline) unset KRONOS_MODEL_PATH KRONOS_TOKENIZER_PATH ;;
*) echo "engine must be small, mini or baseline" >&2; exit 2 ;;
esac
if [ "$engine" != baseline ] && [ ! -f "$KRONOS_MODEL_PATH/model.safetensors" ]; then
    echo "missing $KRONOS_MODEL_PATH: run bench/kronos/run.sh $build once" >&2
    exit 1
fi
log=$(mktemp)
"$bin" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 600); do
    if /usr/bin/python3 - "$port" <<'PY' 2>/dev/null; then break; fi
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
c.request("GET", "/v1/readyz")
sys.exit(0 if c.getresponse().status == 200 else 1)
PY
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
done
/usr/bin/python3 "$here/loadgen.py" --url "http://127.0.0.1:$port" "$@"
