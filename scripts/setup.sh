#!/usr/bin/env bash
# Installs every Debian package Nightjar's build, tests and examples need.
# Idempotent; run as root on Debian 12 (uses sudo when not root).
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git
  libyaml-cpp-dev libcli11-dev node-llhttp nlohmann-json3-dev
  # the OTLP receiver in the tracer's unit tests (src/engine/tracer_test.cc)
  libcpp-httplib-dev
  # HTTP/2 and gRPC on the gateway (docs/http.md): nghttp2; the gRPC example's messages and
  # C++ client (examples/grpc); curl, h2load and python3-grpcio as real clients in the tests
  libnghttp2-dev nghttp2-client libprotobuf-dev protobuf-compiler libgrpc++-dev
  protobuf-compiler-grpc python3-grpcio python3-protobuf
  # isolation: container (docs/isolation.md): runc drives the OCI containers
  runc
  libgtest-dev libgmock-dev
  python3 python3-pytest curl procps
  # the Python runtime's event loop when present (docs/runtimes.md; the standard library's otherwise)
  python3-uvloop
  # the Node.js runtime (runtime: node)
  nodejs
  # the Go runtime and Go functions (runtime: go; standard library only)
  golang-go
  # benchmark harness (make bench): gRPC floor, plots, profiling
  make libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc gnuplot-nox
  linux-perf valgrind
  # the hotel application (apps/hotel, docs/apps.md): Redis as its database and memcached as
  # its cache (started by the tests and the benchmark), their C clients, SHA-256 from
  # OpenSSL, and cpp-httplib for the RPC arm's HTTP frontend (gRPC: the benchmark's packages)
  redis-server memcached libhiredis-dev libmemcached-dev libssl-dev libcpp-httplib-dev
  # libFuzzer targets (make fuzz): clang and its fuzzer/sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # GET /metrics (docs/operations.md): prometheus-cpp's core builds the exposition; the tests
  # start Debian's prometheus (and promtool) themselves, on free ports
  prometheus-cpp-dev prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's prometheus package starts its service from its postinst; where there is no init
# system (containers, CI) that start fails and would fail the install. A policy-rc.d that
# answers 101 ("action forbidden", invoke-rc.d(8)) keeps every service stopped during this
# install; the tests start their own prometheus. One already there is left alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
