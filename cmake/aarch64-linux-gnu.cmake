# Cross-compiles kronosd and its tests for arm64 (aarch64) on a Debian x86-64 machine; `make
# test-arm64` uses it and runs the unit suites under qemu-aarch64 (docs/DEPLOYMENT.md, "CPUs and
# architectures"). Needs Debian's gcc-aarch64-linux-gnu, the arm64 -dev packages through
# multiarch (dpkg --add-architecture arm64) and qemu-user: scripts/install-deps.sh arm64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# The arm64 libraries come from multiarch (/usr/lib/aarch64-linux-gnu): their .pc files, never the
# build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# CTest (and build steps that run kronosd, such as kronosd --help) run the arm64 programs through
# qemu's user-mode emulator. libc6:arm64 puts the arm64 loader at /lib/ld-linux-aarch64.so.1,
# so qemu finds it and the multiarch libraries without -L.
find_program(KRONOS_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${KRONOS_QEMU_AARCH64})

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
