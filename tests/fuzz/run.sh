#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60),
# seeded with the bad-request catalogue and the golden requests. Crashes land in build/fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
CC=clang cmake -S . -B build/fuzz -DKRONOS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz -j "$(nproc)"
corpus=build/fuzz/corpus
mkdir -p "$corpus/predict" "$corpus/headers" "$corpus/http" build/fuzz/crashes
cp tests/integration/bad_requests/*.json "$corpus/predict/" 2>/dev/null || true
for r in ../shared/kronos-golden/*/cases/*/request.json; do
    [ -f "$r" ] && cp "$r" "$corpus/predict/golden-$(basename "$(dirname "$r")").json"
done
printf '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' > "$corpus/headers/tp"
printf '2025-10-14T10:30:15.123+02:00' > "$corpus/headers/iso"
printf 'POST /v1/predict/single?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n' > "$corpus/http/post"
status=0
for target in predict_parse headers http; do
    echo "== fuzz_$target for ${seconds}s"
    name=$target
    [ "$target" = predict_parse ] && name=predict
    build/fuzz/fuzz_$target -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -artifact_prefix=build/fuzz/crashes/ "$corpus/$name" || status=1
done
exit $status
