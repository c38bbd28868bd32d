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

.PHONY: run test build configure deps clean format bench image-test

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

# Benchmarks (docs/performance.md): builds only their executables, then bench/run.sh runs the
# micro benchmarks briefly and the same workload against Ferry, NATS JetStream and Redis Streams,
# and prints one table; under 10 minutes on 2 cores. Results and charts go to
# $(BUILD_DIR)/bench-results; BENCH_UPDATE_DOCS=1 also copies the charts to docs/images/.
# BENCH_FLAGS go to the micro benchmarks, e.g. BENCH_FLAGS=--benchmark_filter=Scan; bench/run.sh
# lists the other knobs (BENCH_SYSTEMS, BENCH_REPEAT, ...).
bench: configure
	cmake --build $(BUILD_DIR) --target ferry_micro_bench ferry-bench nats-bench redis-bench -j$(JOBS)
	BUILD_DIR=$(BUILD_DIR) bench/run.sh

# The container image alone (also part of `make test`): podman builds the Dockerfile over a
# Debian base made here with debootstrap, runs it and reaches gRPC, Kafka and metrics from
# outside (tests/image_test.sh).
image-test: build
	tests/image_test.sh $(BUILD_DIR)
