#!/bin/sh
# Checks a kronosd binary for the hardening the release build promises. Usage: check_hardening.sh BIN
bin=$1
fail=0
check() { # what, command that must succeed
    if sh -c "$2" >/dev/null 2>&1; then echo "ok: $1"; else echo "MISSING: $1"; fail=1; fi
}
check "position-independent executable" "readelf -h '$bin' | grep -q 'Type:.*DYN'"
check "RELRO segment" "readelf -lW '$bin' | grep -q GNU_RELRO"
check "BIND_NOW (full RELRO)" "readelf -dW '$bin' | grep -Eq 'BIND_NOW|FLAGS_1.*NOW'"
check "stack protector" "readelf -sW '$bin' | grep -q __stack_chk_fail"
check "fortified libc calls" "readelf -sW '$bin' | grep -Eq '__[a-z]+_chk@'"
check "non-executable stack" "readelf -lW '$bin' | grep GNU_STACK | grep -qv RWE"
exit $fail
