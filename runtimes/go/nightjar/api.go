// Package nightjar runs a Go program as a Nightjar function (runtime: go).
//
//	func main() {
//		nightjar.Serve(func(call *nightjar.Call, input []byte) ([]byte, error) {
//			reply, err := call.Invoke("echo", input) // another function, by name
//			if err != nil {
//				return nil, err // 502 with the callee's message
//			}
//			return append([]byte("got "), reply...), nil
//		})
//	}
//
// The engine's launcher starts the built binary; one process serves several worker slots
// (slots_per_process) and runs each call on its own goroutine. README ("Writing a Go
// function") and docs/runtimes.md describe the contract.
package nightjar

import (
	"context"
	"time"
)

// Handler runs one call. input is the call's body; the returned bytes are its output
// (nil: empty). A returned error fails the call: HTTP 502 with err.Error() as the body, or,
// for an *InvokeError returned as it is, the callee's message unchanged (so a relay of
// relays reports the original failure). A panic fails the call the same way ("panic:
// <value>"); the process and its other calls go on. A Handler may be run on many goroutines
// at once (one per slot), and may start goroutines of its own (a panic in one of those ends
// the process).
type Handler func(call *Call, input []byte) ([]byte, error)

// InitFunc makes the state of one worker slot: it runs once per slot, before the slot
// takes calls, and what it returns is Call.State() for that slot's calls. An error ends
// the process with status 2 (the engine backs off as for a C++ worker that cannot start).
// Slots start on goroutines of their own, so it may run for several slots at once.
type InitFunc func(function string) (any, error)

// Serve runs the runtime with handler for every call and does not return: the process
// exits when the launcher does. It exits with status 2 when it was not started by
// Nightjar (bad arguments) or cannot reach the engine's instance directory.
func Serve(handler Handler) { serve(nil, handler) }

// ServeWithInit is Serve with per-slot state made by init.
func ServeWithInit(init InitFunc, handler Handler) { serve(init, handler) }

// Call statuses (docs/protocol.md, "Call statuses"), as InvokeError.Status carries them.
const (
	StatusOK              = statusOk
	StatusFunctionError   = statusFunctionError
	StatusWorkerDied      = statusWorkerDied
	StatusTimeout         = statusTimeout
	StatusUnavailable     = statusUnavailable
	StatusNotFound        = statusNotFound
	StatusPayloadTooLarge = statusPayloadTooLarge
	StatusBadRequest      = statusBadRequest
	StatusInternalError   = statusInternalError
)

// InvokeError is an internal call that did not succeed. Status is the call's status
// (Status* above), StatusName its name ("timeout", "not found", ...), Message the callee's
// error message or the runtime's reason. An invoke ended by its context.Context wraps
// ctx.Err(), so errors.Is(err, context.DeadlineExceeded) works.
type InvokeError struct {
	Status     int
	StatusName string
	Message    string
	cause      error
}

func newInvokeError(status int, message string, cause error) *InvokeError {
	name, ok := statusNames[uint16(status)]
	if !ok {
		name = "status " + itoa(status)
	}
	return &InvokeError{Status: status, StatusName: name, Message: message, cause: cause}
}

func (e *InvokeError) Error() string {
	if e.Message == "" {
		return e.StatusName
	}
	return e.StatusName + ": " + e.Message
}

func (e *InvokeError) Unwrap() error { return e.cause }

// Call is one call of the function; valid while its handler runs. Its methods may be
// called from any goroutine, several invokes at once included.
type Call struct{ c *callState }

// Function is the function's name (as in the config).
func (c *Call) Function() string { return c.c.slot.rt.function }

// ID is the call's id (proto::CallId).
func (c *Call) ID() uint64 { return c.c.h.callID }

// TraceParent is the call's W3C traceparent, "00-<trace-id>-<span-id>-<flags>" (W3C Trace
// Context §3.2), with this call's own span id as parent-id: send it to outside services so
// their spans join the call's trace. Internal calls (Invoke) carry the trace already.
func (c *Call) TraceParent() string { return traceparent(c.c.h.callID, &c.c.h.trace) }

// State is what the InitFunc returned for this call's slot (nil without one).
func (c *Call) State() any { return c.c.slot.state }

// Deadline is when the engine gives up on the call; ok is false when it has none.
func (c *Call) Deadline() (deadline time.Time, ok bool) {
	if c.c.h.deadlineNs == 0 {
		return time.Time{}, false
	}
	return monoToTime(c.c.h.deadlineNs), true
}

// Context carries the call's deadline and is cancelled when the call ends (answered, or
// timed out: the handler's late result is then dropped). Pass it to anything the handler
// waits on.
func (c *Call) Context() context.Context { return c.c.context() }

// Invoke calls function name with data and returns its output. The callee inherits the
// call's deadline; any number of invokes may run at once from different goroutines. Fails
// with *InvokeError: unknown function (StatusNotFound, "no function named 'x'"), deadline
// passed (StatusTimeout), callee failed (its status and message), the call already ended
// or the engine unreachable (StatusUnavailable).
func (c *Call) Invoke(name string, data []byte) ([]byte, error) {
	return c.c.invoke(nil, name, data)
}

// InvokeContext is Invoke bounded by ctx as well: the callee's deadline is the earlier of
// the call's and ctx's, and when ctx is done first the invoke returns at once with an
// *InvokeError wrapping ctx.Err() (StatusTimeout for a deadline, StatusUnavailable for a
// cancellation); the callee's late answer is dropped.
func (c *Call) InvokeContext(ctx context.Context, name string, data []byte) ([]byte, error) {
	return c.c.invoke(ctx, name, data)
}
