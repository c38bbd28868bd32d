# The two commands: `make run` starts a broker on 127.0.0.1:50051 (metrics on :9464),
# `make test` builds everything and runs every test. Both install missing Debian packages first.
BUILD_DIR := build
BUILD_TYPE := RelWithDebInfo
JOBS := 2

# CI treats compiler warnings as errors. Passed explicitly both ways so a cached ON never sticks.
ifeq ($(CI),true)
  WERROR := ON
else
  WERROR := OFF
endif

.PHONY: run test build configure deps clean format bench

run: build
	exec $(BUILD_DIR)/ferryd --data-dir=$(CURDIR)/data

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Re-running cmake on a configured tree takes about a second and picks up CMakeLists changes.
configure: deps
	cmake -G Ninja -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DFERRY_WERROR=$(WERROR)

deps:
	scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR)

format:
	git ls-files -z '*.cc' '*.h' | xargs -0 -r clang-format -i

# Micro benchmarks (docs/storage-layout.md): builds only their executable, runs in well under
# two minutes on 2 cores. Pass flags through BENCH_FLAGS, e.g. BENCH_FLAGS=--benchmark_filter=Scan.
bench: configure
	cmake --build $(BUILD_DIR) --target ferry_micro_bench -j$(JOBS)
	$(BUILD_DIR)/bench/ferry_micro_bench --benchmark_min_time=0.2 $(BENCH_FLAGS)
