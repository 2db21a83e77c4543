#!/usr/bin/env bash
# Installs the Debian packages kronosd needs to build, run and test, only those missing.
# Usage: scripts/install-deps.sh [run|test|bench|fuzz]
set -euo pipefail
mode=${1:-test}
pkgs=(build-essential cmake pkg-config libjansson-dev zlib1g-dev libopenblas-dev curl)
if [ "$mode" != run ]; then
    pkgs+=(libcmocka-dev python3 python3-prometheus-client python3-yaml prometheus prometheus-alertmanager clang-format git iproute2)
fi
if [ "$mode" = bench ]; then
    pkgs+=(prometheus-cpp-dev g++)
fi
if [ "$mode" = fuzz ]; then
    pkgs+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
