// go-bench_caller: times internal calls from inside a Go function; the Go twin of
// examples/cpp/bench_caller.cc, driven by the harness (docs/performance.md).
//
// Input: "callee=<name> n=<calls> [bytes=<input size>] [arg=<input prefix>]" (space-separated
// key=value pairs; the first occurrence of a key wins; fanout= is refused). Makes n
// sequential invokes of callee with an input of `bytes` bytes that starts with `arg`, each
// timed with Go's monotonic clock (CLOCK_MONOTONIC, as the C++ caller) around the invoke
// only. Output: n little-endian uint32 call times in ns, clamped to 2^32 - 1. Fails (502) on
// bad input or on the first failed child.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"nightjar.dev/nightjar"
)

const (
	maxCalls = 10000000
	maxBytes = 64 << 20
	usage    = "input must be callee=<name> n=<calls> [bytes=<size>] [arg=<prefix>]"
)

func number(args map[string]string, key string, fallback, max int) (int, error) {
	v, ok := args[key]
	if !ok {
		return fallback, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("bench_caller: %s=%s: %s", key, v, usage)
	}
	return n, nil
}

func benchCaller(call *nightjar.Call, input []byte) ([]byte, error) {
	args := map[string]string{}
	for _, item := range strings.Fields(string(input)) {
		if eq := strings.IndexByte(item, '='); eq > 0 {
			if _, seen := args[item[:eq]]; !seen {
				args[item[:eq]] = item[eq+1:]
			}
		}
	}
	n, err := number(args, "n", 1, maxCalls)
	if err != nil {
		return nil, err
	}
	size, err := number(args, "bytes", 0, maxBytes)
	if err != nil {
		return nil, err
	}
	_, fanout := args["fanout"]
	if args["callee"] == "" || fanout {
		return nil, errors.New("bench_caller: " + usage)
	}
	child := []byte(args["arg"])
	if len(child) < size {
		child = append(child, bytes.Repeat([]byte{'x'}, size-len(child))...)
	}
	samples := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if _, err := call.Invoke(args["callee"], child); err != nil {
			return nil, fmt.Errorf("bench_caller: round %d failed: %v", i, err)
		}
		ns := time.Since(start)
		if ns > 0xFFFFFFFF {
			ns = 0xFFFFFFFF
		}
		binary.LittleEndian.PutUint32(samples[4*i:], uint32(ns))
	}
	return samples, nil
}

func main() { nightjar.Serve(benchCaller) }
