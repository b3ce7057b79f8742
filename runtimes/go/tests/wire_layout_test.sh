#!/bin/sh
# Layout-drift test for Go (docs/runtimes.md): runs TestWireLayout of the build's copy of
# the runtime package (runtimes/go/nightjar/wire_layout_test.go).
#
#   wire_layout_test.sh <nightjar_wire_gen> <runtime dir holding nightjar/>
#
# $GO is the go command; the build passes its environment (GOPROXY=off, GOCACHE in the
# build directory: runtimes/CMakeLists.txt). Exit status 1 on drift.
set -eu
gen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$2/nightjar"
NIGHTJAR_WIRE_GEN="$gen" exec "${GO:-go}" test -buildvcs=false -count=1 -run '^TestWireLayout$' .
