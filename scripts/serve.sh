#!/usr/bin/env bash
# Sets up, builds (release) and serves the example functions with `nightjar up` on
# localhost, in the foreground. Ctrl-C stops it. Extra arguments go to `nightjar up`
# (e.g. --http-port 0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
exec ./build/release/nightjar up examples/nightjar.yaml "$@"
