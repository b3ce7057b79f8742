#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit and integration tests in the
# release build, then again in the ASan+UBSan build, then a quick benchmark run as a smoke
# test of the harness (no timing assertions: it fails only if the harness breaks) and of the
# hotel application's benchmark (docs/apps.md), then each
# libFuzzer target for 30 s (fails on a crash or a leak; docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs="$(nproc)"
for preset in release asan; do
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  echo "== $preset: test"
  ctest --preset "$preset" -j1
done
echo "== bench-quick: benchmark harness smoke test (numbers are not checked)"
make bench-quick JOBS="$jobs"
echo "== bench-apps-quick: the hotel application's benchmark, smoke test (about 20 s)"
make bench-apps-quick JOBS="$jobs"
echo "== fuzz: each libFuzzer target for 30 s (make fuzz)"
make fuzz FUZZ_SECONDS=30 FUZZ_SEED=1 JOBS="$jobs"
