// go-hello: "Hello, <input>!", or "Hello, world!" for an empty body (the C++ hello's contract).
package main

import "nightjar.dev/nightjar"

func main() {
	nightjar.Serve(func(call *nightjar.Call, input []byte) ([]byte, error) {
		name := "world"
		if len(input) > 0 {
			name = string(input)
		}
		return []byte("Hello, " + name + "!"), nil
	})
}
