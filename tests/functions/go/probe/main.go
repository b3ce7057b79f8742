// probe: Go functions that exist only for the end-to-end tests (tests/test_go_runtime.py).
// One binary; what a call does follows the function's name: its last '-'-separated word
// ("go-fail" -> fail). Every slot gets state from init (ServeWithInit).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"nightjar.dev/nightjar"
)

type slotState struct {
	id    int64
	calls int
}

var slots atomic.Int64

func initSlot(function string) (any, error) {
	if strings.HasSuffix(function, "-badinit") {
		return nil, errors.New("init refuses")
	}
	return &slotState{id: slots.Add(1)}, nil
}

// probe "<callee>:<payload>" -> "ok:<output>" or "<status name>:<message>", always 200.
func invokeReport(out []byte, err error) ([]byte, error) {
	var ie *nightjar.InvokeError
	if errors.As(err, &ie) {
		return []byte(ie.StatusName + ":" + ie.Message), nil
	}
	if err != nil {
		return nil, err
	}
	return append([]byte("ok:"), out...), nil
}

// rendezvous: "<key>:<n>" answers once n calls with this key run at once in this process.
var (
	meetMu sync.Mutex
	meets  = map[string]*meeting{}
)

type meeting struct {
	count int
	all   chan struct{}
}

var orphans struct {
	sync.Mutex
	started, ended int
}

func handle(call *nightjar.Call, input []byte) ([]byte, error) {
	name := call.Function()
	what := name[strings.LastIndexByte(name, '-')+1:]
	text := string(input)
	switch what {
	case "state":
		s := call.State().(*slotState)
		s.calls++
		return []byte(fmt.Sprintf("%s:%d:%d", name, s.id, s.calls)), nil
	case "fail":
		return nil, errors.New("bad input: " + text)
	case "panic":
		panic("boom: " + text)
	case "exit":
		if text == "exit" {
			os.Exit(1)
		}
		return []byte(fmt.Sprintf("alive:%d", os.Getpid())), nil
	case "sleep":
		ms, _ := strconv.Atoi(text)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return []byte(strconv.Itoa(os.Getpid())), nil
	case "remaining":
		// From the call's context, which carries the call's deadline.
		d, ok := call.Context().Deadline()
		if !ok {
			return []byte("none"), nil
		}
		return []byte(fmt.Sprintf("%.1f", float64(time.Until(d))/1e6)), nil
	case "probe":
		callee, payload, _ := strings.Cut(text, ":")
		return invokeReport(call.Invoke(callee, []byte(payload)))
	case "ctxprobe":
		// "<ms>:<callee>:<payload>": an invoke bounded by a context with an ms timeout.
		ms, rest, _ := strings.Cut(text, ":")
		callee, payload, _ := strings.Cut(rest, ":")
		n, _ := strconv.Atoi(ms)
		ctx, cancel := context.WithTimeout(call.Context(), time.Duration(n)*time.Millisecond)
		defer cancel()
		out, err := call.InvokeContext(ctx, callee, []byte(payload))
		report, _ := invokeReport(out, err)
		if errors.Is(err, context.DeadlineExceeded) {
			report = append(report, " (context.DeadlineExceeded)"...)
		}
		return report, nil
	case "cancel":
		// "<ms>:<callee>:<payload>": an invoke whose context is cancelled after ms.
		ms, rest, _ := strings.Cut(text, ":")
		callee, payload, _ := strings.Cut(rest, ":")
		n, _ := strconv.Atoi(ms)
		ctx, cancel := context.WithCancel(call.Context())
		timer := time.AfterFunc(time.Duration(n)*time.Millisecond, cancel)
		defer timer.Stop()
		start := time.Now()
		out, err := call.InvokeContext(ctx, callee, []byte(payload))
		report, _ := invokeReport(out, err)
		if errors.Is(err, context.Canceled) {
			report = append(report, " (context.Canceled)"...)
		}
		if time.Since(start) < 10*time.Second {
			report = append(report, " returned early"...)
		}
		return report, nil
	case "gather":
		// "<n>:<callee>[:<payload>]": n invokes from n goroutines, outputs joined by ','.
		parts := strings.SplitN(text, ":", 3)
		n, _ := strconv.Atoi(parts[0])
		outs := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				payload := strconv.Itoa(i)
				if len(parts) == 3 {
					payload = parts[2]
				}
				out, err := call.Invoke(parts[1], []byte(payload))
				outs[i], errs[i] = string(out), err
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return []byte(strings.Join(outs, ",")), nil
	case "meet":
		key, ns, _ := strings.Cut(text, ":")
		n, _ := strconv.Atoi(ns)
		meetMu.Lock()
		m := meets[key]
		if m == nil {
			m = &meeting{all: make(chan struct{})}
			meets[key] = m
		}
		m.count++
		if m.count == n {
			close(m.all)
		}
		meetMu.Unlock()
		<-m.all
		return []byte("met " + ns), nil
	case "orphan":
		orphans.Lock()
		defer orphans.Unlock()
		if text == "count" {
			return []byte(fmt.Sprintf("%d/%d", orphans.ended, orphans.started)), nil
		}
		orphans.started++
		go func() {
			call.Invoke(text, []byte("5000"))
			orphans.Lock()
			orphans.ended++
			orphans.Unlock()
		}()
		return []byte("left one behind"), nil
	case "big":
		n, _ := strconv.Atoi(text)
		return []byte(strings.Repeat("b", n)), nil
	case "traceparent":
		// "<f1>/<f2>/...": this call's traceparent, then what calling f1 with "<f2>/..."
		// returned; "" -> the traceparent alone (tests/test_tracing.py).
		own := call.TraceParent()
		if len(input) == 0 {
			return []byte(own), nil
		}
		first, rest, _ := strings.Cut(string(input), "/")
		out, err := call.Invoke(first, []byte(rest))
		if err != nil {
			return nil, err
		}
		return append([]byte(own+"\n"), out...), nil
	case "logprint":
		// call.Logf is tagged with the call id; fmt.Println is not.
		call.Logf("go tagged %s", text)
		fmt.Println("go plain", text)
		return []byte(fmt.Sprintf("%016x", call.ID())), nil
	case "whoami":
		return []byte(fmt.Sprintf("%s:%d", name, os.Getpid())), nil
	}
	return nil, fmt.Errorf("probe has no behaviour %q", what)
}

func main() { nightjar.ServeWithInit(initSlot, handle) }
