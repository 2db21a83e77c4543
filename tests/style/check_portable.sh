#!/bin/sh
# The build runs on any x86-64 and builds for arm64 (docs/DEPLOYMENT.md, "CPUs and
# architectures"): x86 intrinsics only in src/engine/kronos/kernels_avx2.c, and no -march, -mtune
# or -m<isa> flag in a compile option that applies beyond that file. Run from the source tree.
fail=0
if git grep -nIE 'immintrin|x86intrin|[a-z]mmintrin\.h|__m256|__m128|_mm256_|_mm_' -- src \
    ':!src/engine/kronos/kernels_avx2.c'; then
    echo "x86 intrinsics outside src/engine/kronos/kernels_avx2.c"
    fail=1
fi
if git grep -nIE '(add_compile_options|CMAKE_C_FLAGS|target_compile_options|add_link_options).*-m(arch|tune|avx|fma|sse|cpu)' \
    -- 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' Makefile; then
    echo "a CPU-specific -m flag for more than kernels_avx2.c"
    fail=1
fi
[ $fail = 0 ] && echo "ok: x86 code confined to kernels_avx2.c, no global -m flag"
exit $fail
