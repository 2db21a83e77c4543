#!/bin/sh
# The build runs on any x86-64 and builds for arm64 (docs/DEPLOYMENT.md, "CPUs and
# architectures"): x86 intrinsics only in the two kernel files src/engine/kronos/kernels_avx2.c
# and kernels_avx512.c, and no -march, -mtune or -m<isa> flag in a compile option that applies
# beyond those files (their own flags are per-source COMPILE_OPTIONS). Run from the source tree.
fail=0
if git grep -nIE 'immintrin|x86intrin|[a-z]mmintrin\.h|__m512|__m256|__m128|_mm512_|_mm256_|_mm_' -- src \
    ':!src/engine/kronos/kernels_avx2.c' ':!src/engine/kronos/kernels_avx512.c'; then
    echo "x86 intrinsics outside src/engine/kronos/kernels_avx2.c and kernels_avx512.c"
    fail=1
fi
if git grep -nIE '(add_compile_options|CMAKE_C_FLAGS|target_compile_options|add_link_options).*-m(arch|tune|avx|fma|sse|cpu)' \
    -- 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' Makefile; then
    echo "a CPU-specific -m flag for more than kernels_avx2.c and kernels_avx512.c"
    fail=1
fi
# Per-source -m flags: only the two kernel files get them.
if git grep -nIE 'set_source_files_properties\(' -- 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' |
    grep -E -- '-m(arch|tune|avx|fma|sse|cpu)' |
    grep -vE 'set_source_files_properties\(\$\{KRONOS_AVX(2|512)_SOURCE\}'; then
    echo "a CPU-specific -m flag on a source other than kernels_avx2.c and kernels_avx512.c"
    fail=1
fi
if git grep -nIE 'set\(KRONOS_AVX(2|512)_SOURCE' -- CMakeLists.txt |
    grep -vE 'src/engine/kronos/kernels_avx(2|512)\.c\)$'; then
    echo "KRONOS_AVX2_SOURCE/KRONOS_AVX512_SOURCE name a file other than the kernel files"
    fail=1
fi
[ $fail = 0 ] && echo "ok: x86 code confined to kernels_avx2.c and kernels_avx512.c, no global -m flag"
exit $fail
