// go-nop: returns nothing; measures the Go runtime's own overhead (bench/runtime_calls.cc).
package main

import "nightjar.dev/nightjar"

func main() {
	nightjar.Serve(func(call *nightjar.Call, input []byte) ([]byte, error) { return nil, nil })
}
