// go-relay: the cross-language relay every runtime has (docs/runtimes.md, "The relay").
//
// Input "<f1>/<f2>/.../<fn>:<data>": calls f1 with "<f2>/.../<fn>:<data>", and so on; the
// last function is called with <data> alone. ":<data>" (no targets) returns <data>. The
// callee's output comes back unchanged; a callee's failure becomes this call's failure with
// the callee's message (returning the *nightjar.InvokeError as it is does exactly that).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"nightjar.dev/nightjar"
)

func relay(call *nightjar.Call, input []byte) ([]byte, error) {
	colon := bytes.IndexByte(input, ':')
	if colon < 0 {
		return nil, errors.New("input must be <f1>/.../<fn>:<data>")
	}
	targets, data := string(input[:colon]), input[colon+1:]
	if targets == "" {
		return data, nil
	}
	// Every name of the chain, not only the next one.
	for _, name := range strings.Split(targets, "/") {
		if name == "" {
			return nil, fmt.Errorf("empty function name in '%s'", targets)
		}
	}
	first, rest, more := strings.Cut(targets, "/")
	if !more {
		return call.Invoke(first, data)
	}
	return call.Invoke(first, append([]byte(rest+":"), data...))
}

func main() { nightjar.Serve(relay) }
