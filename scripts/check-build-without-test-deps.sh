#!/usr/bin/env bash
# Proves that building and running kronosd needs only the `run` packages: configures and builds a
# fresh build directory inside a private mount namespace where every file of the test-only
# packages (scripts/install-deps.sh --list test: cmocka, python, prometheus, ...) is replaced by
# an empty file, then runs `kronosd --version`. Used by .ci/run; needs root or user namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${KRONOS_IN_HIDDEN_NS:-}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        exec env KRONOS_IN_HIDDEN_NS=1 unshare --mount --propagation private bash "$0" "$@"
    fi
    exec env KRONOS_IN_HIDDEN_NS=1 unshare --user --map-root-user --mount --propagation private \
        bash "$0" "$@"
fi

work=$(mktemp -d /tmp/kronos-nodeps.XXXXXX)
trap 'rm -rf "$work"' EXIT
: >"$work/empty"
hidden=0
# The native (or architecture-independent) package: with arm64 packages beside them (make
# test-arm64), `dpkg -L libcmocka-dev` is ambiguous and lists nothing.
arch=$(dpkg --print-architecture)
for name in $(bash scripts/install-deps.sh --list test); do
    pkg=
    for q in "$name:$arch" "$name:all"; do
        if dpkg-query -W -f='${Status}' "$q" 2>/dev/null | grep -q "install ok installed"; then
            pkg=$q
            break
        fi
    done
    [ -n "$pkg" ] || continue
    while IFS= read -r f; do
        # Regular files only: a symlink resolves to a hidden file or to another package's file.
        if [ -f "$f" ] && [ ! -L "$f" ]; then
            mount --bind "$work/empty" "$f"
            hidden=$((hidden + 1))
        fi
    done < <(dpkg -L "$pkg")
done
echo "check-build-without-test-deps: hid $hidden files of the test-only packages"
if pkg-config --exists cmocka 2>/dev/null; then
    echo "check-build-without-test-deps: cmocka is still visible to pkg-config" >&2
    exit 1
fi

cmake -S . -B "$work/build" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log" >&2
    echo "check-build-without-test-deps: configure failed without the test packages" >&2
    exit 1
}
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "check-build-without-test-deps: build failed without the test packages" >&2
    exit 1
}
"$work/build/kronosd" --version
echo "check-build-without-test-deps: ok"
