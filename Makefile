# Thin wrapper over CMake. `make run` and `make test` install missing Debian packages first.
SANITIZE ?= 0
TSAN ?= 0
PORT ?= 8000
JOBS ?= $(shell nproc)

ifeq ($(SANITIZE),1)
TEST_DIR := build/asan
TEST_FLAGS := -DSANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
CTEST_ARGS := -LE "e2e|slow"
else ifeq ($(TSAN),1)
# ThreadSanitizer on the concurrent parts only: the suites labelled tsan in tests/CMakeLists.txt.
TEST_DIR := build/tsan
TEST_FLAGS := -DTSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
CTEST_ARGS := -L tsan
else
TEST_DIR := build/test
TEST_FLAGS := -DCMAKE_BUILD_TYPE=Release
CTEST_ARGS :=
endif

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build install run test test-arm64 bench fuzz deps-run deps-test deps-bench deps-fuzz deps-arm64 format clean

all: build

build:
	@cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build/release -j $(JOBS) --target kronosd

# make install [PREFIX=/usr/local] [DESTDIR=staging]: docs/DEPLOYMENT.md, "Installing".
install:
	@cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build build/release -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install build/release

run: deps-run build
	KRONOS_PORT=$(PORT) ./build/release/kronosd

test: deps-test
	@cmake -S . -B $(TEST_DIR) $(TEST_FLAGS) -DKRONOS_TESTS=ON -DKRONOS_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Cross-compiles kronosd and the unit tests for arm64 and runs the suites labelled arm64 under
# qemu-aarch64 (docs/DEPLOYMENT.md, "CPUs and architectures"; the list is in tests/CMakeLists.txt).
test-arm64: deps-arm64
	@cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-linux-gnu.cmake \
		-DCMAKE_BUILD_TYPE=Release -DKRONOS_TESTS=ON -DKRONOS_WERROR=ON >/dev/null
	@cmake --build build/arm64 -j $(JOBS)
	cd build/arm64 && ctest --output-on-failure -j $(JOBS) -L arm64

bench: deps-bench
	@cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DKRONOS_BENCH=ON >/dev/null
	@cmake --build build/bench -j $(JOBS)
	@bash bench/run.sh build/bench

fuzz: deps-fuzz
	@bash tests/fuzz/run.sh

deps-run:
	@bash scripts/install-deps.sh run
deps-test:
	@bash scripts/install-deps.sh test
deps-bench:
	@bash scripts/install-deps.sh bench
deps-fuzz:
	@bash scripts/install-deps.sh fuzz
deps-arm64:
	@bash scripts/install-deps.sh arm64

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
