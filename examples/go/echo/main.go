// go-echo: returns its input unchanged (0 B .. the function's max_payload_bytes).
package main

import "nightjar.dev/nightjar"

func main() {
	nightjar.Serve(func(call *nightjar.Call, input []byte) ([]byte, error) { return input, nil })
}
