module nightjar.dev/testfunctions

go 1.19

require nightjar.dev/nightjar v0.0.0

replace nightjar.dev/nightjar => ../../../build/release/runtimes/go/nightjar
