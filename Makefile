# Convenience entry points. Building and testing are CMake presets (README.md); this file
# wraps the benchmark harness (bench/, docs/performance.md) and the fuzzers (docs/fuzzing.md).
#
#   make bench         full run (<= 15 min): table on stdout, bench/results/latest.json and
#                      bench/results/*.png (the committed results)
#   make bench-quick   short smoke run (<= 90 s once built): the same table, JSON and plots
#                      in bench/results/quick/ (not tracked)
#
# Both configure and build the release preset's `bench` target (nightjar, the example and
# bench functions, the harness, the gRPC floor), run the harness's unit tests, then run it.
# Variables: JOBS (build parallelism, default: nproc), BENCH_ARGS (extra harness flags,
# e.g. BENCH_ARGS="--only floors,internal").
#
#   make bench-apps    the hotel reservation application on Nightjar vs as gRPC servers
#                      (<= 15 min; docs/apps.md): bench/results/apps/latest.json and
#                      bench/results/apps/hotel_latency_vs_load.png
#   make bench-apps-quick  its short smoke run (bench/results/apps/quick/, not tracked)
#
#   make fuzz          configures and builds the fuzz preset (clang, libFuzzer, ASan+UBSan),
#                      then runs each libFuzzer target for FUZZ_SECONDS (default 60) with
#                      leak detection (scripts/fuzz.sh); fails on any crash, leak or OOM.
#                      FUZZ_TARGETS="http_codec" runs only those (default: all).

JOBS ?= $(shell nproc)
BUILD_DIR := build/release
BENCH := $(BUILD_DIR)/bench/nightjar_bench
BENCH_ARGS ?=
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_SEED ?=

.PHONY: help bench bench-quick bench-build bench-apps bench-apps-quick bench-apps-build fuzz

help:
	@echo "make bench         full benchmark run (results in bench/results/)"
	@echo "make bench-quick   quick benchmark smoke run (results in bench/results/quick/)"
	@echo "make bench-apps    hotel app: Nightjar vs RPC servers (results in bench/results/apps/)"
	@echo "make bench-apps-quick  its smoke run (results in bench/results/apps/quick/)"
	@echo "make fuzz          build and run each libFuzzer target for FUZZ_SECONDS (default 60)"

bench-build:
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS) --target bench
	@# The harness's unit tests (absent when configured with NIGHTJAR_BUILD_TESTS=OFF).
	if [ -x $(BUILD_DIR)/bench/bench_harness_test ]; then \
	  $(BUILD_DIR)/bench/bench_harness_test --gtest_brief=1; fi

bench: bench-build
	$(BENCH) --out bench/results $(BENCH_ARGS)

bench-quick: bench-build
	$(BENCH) --quick --out bench/results/quick $(BENCH_ARGS)

bench-apps-build:
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS) --target nightjar hotel_app hotel_bench

bench-apps: bench-apps-build
	$(BUILD_DIR)/apps/hotel/hotel_bench --out bench/results/apps

bench-apps-quick: bench-apps-build
	$(BUILD_DIR)/apps/hotel/hotel_bench --quick --out bench/results/apps/quick

fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j$(JOBS)
	FUZZ_SEED=$(FUZZ_SEED) bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
