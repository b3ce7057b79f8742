module nightjar.dev/examples

go 1.19

require nightjar.dev/nightjar v0.0.0

// The runtime package, with its generated wire.go, as the release build lays it out. The
// build itself uses a copy of this file pointing at its own build directory.
replace nightjar.dev/nightjar => ../../build/release/runtimes/go/nightjar
