// The Go runtime process: many worker slots, one goroutine per call.
//
// The launcher (src/launcher/launcher.cc) execs the function's binary with a control pipe
// (its read end on --control-fd) and sends it START_WORKER / STOP_WORKER messages, one per
// slot. Each slot is a worker as far as the engine can tell: its own FIFO pair, worker id
// and call-id counter, one call at a time (a DISPATCH the engine sends ahead waits). Per
// slot a reader goroutine parks on the input FIFO (Go's poller) and starts each call on a
// goroutine of its own; answers to invokes go to the goroutine waiting for them.
// docs/runtimes.md describes the protocol; docs/protocol.md every message.
package nightjar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var itoa = strconv.Itoa

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nightjar go runtime (pid %d): %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

type runtime struct {
	root       ipcRoot
	function   string
	maxPayload int
	functions  map[string]uint32
	handler    Handler
	init       InitFunc

	mu    sync.Mutex
	slots map[uint64]*slot // channel -> slot

	callerMu  sync.Mutex
	callerFds map[uint64]int // channel -> fd of a caller's input FIFO
}

func serve(init InitFunc, handler Handler) {
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	ipcDir := fs.String("ipc-root", "", "the engine's instance directory")
	function := fs.String("function", "", "the function's name")
	fs.String("handler", "", "this binary (ignored)")
	maxPayload := fs.Int("max-payload", 0, "the function's max_payload_bytes")
	controlFd := fs.Int("control-fd", -1, "the launcher's control pipe")
	if err := fs.Parse(os.Args[1:]); err != nil || *ipcDir == "" || *function == "" || *controlFd < 0 {
		fmt.Fprintf(os.Stderr, "%s is a Nightjar function: serve it with `runtime: go` and "+
			"`handler: <this binary>` in a nightjar config (README, \"Writing a Go function\")\n", os.Args[0])
		os.Exit(2)
	}
	rt := &runtime{root: newIpcRoot(*ipcDir), function: *function, maxPayload: *maxPayload,
		handler: handler, init: init, slots: map[uint64]*slot{}, callerFds: map[uint64]int{}}
	var err error
	if rt.functions, err = rt.root.functions(); err != nil {
		logf("cannot start: %v", err)
		os.Exit(2)
	}
	rt.run(*controlFd)
}

// run reads the control pipe until the launcher goes away, then exits the process.
func (rt *runtime) run(controlFd int) {
	// Non-blocking, so the read parks on Go's poller instead of holding a thread.
	_ = syscall.SetNonblock(controlFd, true)
	control := os.NewFile(uintptr(controlFd), "control")
	msg := make([]byte, messageSize)
	for {
		// A control message is one atomic 1024-byte pipe write.
		if _, err := io.ReadFull(control, msg); err != nil {
			os.Exit(0) // the launcher is gone: so are we
		}
		h := decodeHeader(msg)
		switch h.typ {
		case msgStartWorker:
			s := &slot{rt: rt, channel: h.replyChannel, workerID: h.workerID, outFd: -1}
			rt.mu.Lock()
			rt.slots[s.channel] = s
			rt.mu.Unlock()
			go s.start()
		case msgStopWorker:
			rt.mu.Lock()
			s := rt.slots[h.replyChannel]
			delete(rt.slots, h.replyChannel)
			rt.mu.Unlock()
			if s != nil {
				s.close()
			}
		default:
			logf("unexpected control message type %d", h.typ)
		}
	}
}

// sendToCaller writes a COMPLETE straight to the caller's input FIFO; false if the caller
// is gone or its pipe is full (the engine then forwards it).
func (rt *runtime) sendToCaller(channel uint64, msg []byte) bool {
	rt.callerMu.Lock()
	defer rt.callerMu.Unlock()
	fd, ok := rt.callerFds[channel]
	if !ok {
		var err error
		fd, err = syscall.Open(rt.root.fifo(channel, false), syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			return false
		}
		rt.callerFds[channel] = fd
	}
	if n, err := syscall.Write(fd, msg); err == nil && n == len(msg) {
		return true
	}
	// EPIPE: the caller exited; EAGAIN: its pipe is full. Forget the fd either way.
	delete(rt.callerFds, channel)
	syscall.Close(fd)
	return false
}

// slot is one worker: its FIFOs, its running call and the DISPATCHes sent ahead.
type slot struct {
	rt       *runtime
	channel  uint64
	workerID uint16
	counter  atomic.Uint32 // the next invoke's call-id counter
	state    any

	in    *os.File
	outMu sync.RWMutex // writers share it; close takes it alone, so no write hits a reused fd
	outFd int

	mu      sync.Mutex
	current *callState
	pending [][]byte // DISPATCHes sent ahead (the engine's prefetch), in order
	closed  bool
}

// start runs the slot's init, opens its FIFOs, says hello and reads its input until the
// slot is closed. A failing init or an unopenable FIFO ends the process (status 2).
func (s *slot) start() {
	rt := s.rt
	if rt.init != nil {
		state, err := rt.init(rt.function)
		if err != nil {
			logf("worker %d of %s cannot start: init: %v", s.workerID, rt.function, err)
			os.Exit(2)
		}
		s.state = state
	}
	// O_RDWR on our input, as the C++ worker host: open() does not wait for a writer and
	// reads never see EOF while callers come and go. Non-blocking: Go's poller reads it.
	in, err := os.OpenFile(rt.root.fifo(s.channel, false), os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		logf("worker %d of %s cannot start: %v", s.workerID, rt.function, err)
		os.Exit(2)
	}
	// O_RDWR on our output too: it opens without waiting and stays blocking, so a message
	// is written whole (1024 <= PIPE_BUF) or the writer waits for the engine to drain.
	out, err := syscall.Open(rt.root.fifo(s.channel, true), syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		logf("worker %d of %s cannot start: %v", s.workerID, rt.function, err)
		os.Exit(2)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		in.Close()
		syscall.Close(out)
		return
	}
	s.in = in
	s.outMu.Lock()
	s.outFd = out
	s.outMu.Unlock()
	s.mu.Unlock()
	version := make([]byte, 4)
	le.PutUint32(version, protocolVersion)
	hello := header{typ: msgWorkerHello, workerID: s.workerID, replyChannel: s.channel,
		callID: uint64(os.Getpid()), payloadSize: 4}
	s.write(stampAndEncode(&hello, version))
	s.read()
}

// close stops reading and closes the FIFOs (STOP_WORKER). A running call's late result is
// dropped.
func (s *slot) close() {
	s.mu.Lock()
	s.closed = true
	in := s.in
	s.pending = nil
	s.mu.Unlock()
	if in != nil {
		in.Close()
	}
	s.outMu.Lock()
	if s.outFd >= 0 {
		syscall.Close(s.outFd)
		s.outFd = -1
	}
	s.outMu.Unlock()
}

// write sends one message to the engine. A failure is logged: the engine sees the slot's
// FIFO close when the process ends, and a slot whose output is gone has nothing to say.
func (s *slot) write(msg []byte) {
	s.outMu.RLock()
	defer s.outMu.RUnlock()
	if s.outFd < 0 {
		return
	}
	if _, err := syscall.Write(s.outFd, msg); err != nil {
		logf("slot %d: write to the engine failed: %v", s.workerID, err)
	}
}

func (s *slot) read() {
	rc, err := s.in.SyscallConn()
	if err != nil {
		logf("slot %d: input: %v", s.workerID, err)
		return
	}
	buf := make([]byte, 16*messageSize)
	have := 0
	var readErr error
	// All in one RawRead: f runs, then waits for Go's poller whenever it returns false, and
	// runs again. After a read that leaves the FIFO empty (it returned less than asked), f
	// waits instead of reading again: that read could only say EAGAIN, a system call per
	// message (about 1 µs here, docs/performance.md F1). The poller is edge-triggered and
	// the FIFO going from empty to non-empty is an edge; one that comes while the messages
	// are handled is kept until the wait. (A new RawRead per read would not do: it resets
	// the poller's readiness first, so an edge that came between two reads would be lost.)
	err = rc.Read(func(fd uintptr) bool {
		for {
			space := len(buf) - have
			n, e := syscall.Read(int(fd), buf[have:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != nil:
				readErr = e
				return true
			case n == 0: // cannot happen while we hold the write end too
				readErr = io.EOF
				return true
			}
			have += n
			at := 0
			for ; have-at >= messageSize; at += messageSize {
				s.onMessage(buf[at : at+messageSize])
			}
			have = copy(buf, buf[at:have])
			if n < space {
				return false
			}
		}
	})
	if err == nil {
		err = readErr
	}
	s.mu.Lock()
	closed := s.closed // STOP_WORKER closed the FIFO: not worth a log line
	s.mu.Unlock()
	if err != nil && !closed {
		logf("slot %d: input: %v", s.workerID, err)
	}
}

// onMessage handles one message from the input FIFO; msg is reused after it returns.
func (s *slot) onMessage(msg []byte) {
	h := decodeHeader(msg)
	switch h.typ {
	case msgDispatch:
		own := make([]byte, messageSize)
		copy(own, msg)
		s.mu.Lock()
		if s.current != nil || s.closed {
			s.pending = append(s.pending, own)
			s.mu.Unlock()
			return
		}
		c := s.newCall(h, own)
		s.mu.Unlock()
		go s.run(c)
	case msgComplete:
		s.onComplete(&h, msg)
	case msgWorkerWelcome:
		s.counter.Store(uint32(h.callID & callIdCounterMask))
	default:
		logf("slot %d: unexpected message type %d", s.workerID, h.typ)
	}
}

// onComplete hands a child call's answer to the invoke waiting for it, or drops it (and its
// output region) when nobody waits any more.
func (s *slot) onComplete(h *header, msg []byte) {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	var waiter chan invokeResult
	if c != nil {
		c.mu.Lock()
		waiter = c.children[h.callID]
		c.removeChild(h.callID)
		c.mu.Unlock()
	}
	if waiter == nil {
		if h.flags&flagPayloadInShm != 0 {
			s.rt.root.removePayload(h.callID, true)
		}
		return
	}
	output, err := s.rt.root.takePayload(h, msg, true)
	switch {
	case err != nil:
		waiter <- invokeResult{err: newInvokeError(statusInternalError, err.Error(), nil)}
	case h.status != statusOk:
		waiter <- invokeResult{err: newInvokeError(int(h.status), string(output), nil)}
	default:
		waiter <- invokeResult{output: output}
	}
}

type invokeResult struct {
	output []byte
	err    error
}

// callState is one call on a slot.
type callState struct {
	slot  *slot
	h     header
	msg   []byte
	start int64
	timer *time.Timer

	mu         sync.Mutex
	done       bool
	children   map[uint64]chan invokeResult // invokes in flight, by call id
	childNs    int64                        // wall time with at least one child in flight
	childSince int64                        // when the current run of children began
	ctx        context.Context              // made on first use
	cancel     context.CancelFunc
}

// removeChild forgets an invoke in flight; the time since the first of a run of children
// began is counted when the last one ends (the union of their times, not the sum). c.mu
// is held.
func (c *callState) removeChild(callID uint64) {
	if _, ok := c.children[callID]; !ok {
		return
	}
	delete(c.children, callID)
	if len(c.children) == 0 {
		c.childNs += monotonicNs() - c.childSince
	}
}

// newCall makes c the slot's current call; s.mu is held.
func (s *slot) newCall(h header, msg []byte) *callState {
	c := &callState{slot: s, h: h, msg: msg, start: monotonicNs()}
	s.current = c
	return c
}

// run runs a call's handler and answers it.
func (s *slot) run(c *callState) {
	rt := s.rt
	h := &c.h
	if h.deadlineNs != 0 && c.start >= h.deadlineNs {
		// Sent ahead while the previous call ran, and expired meanwhile.
		if h.flags&flagPayloadInShm != 0 {
			rt.root.removePayload(h.callID, false)
		}
		s.finish(c, statusTimeout, []byte("deadline exceeded before the call started"))
		return
	}
	input, err := rt.root.takePayload(h, c.msg, false)
	c.msg = nil
	if err != nil {
		s.finish(c, statusInternalError, []byte("worker could not read the call's input: "+err.Error()))
		return
	}
	if h.deadlineNs != 0 {
		// A goroutine cannot be stopped: at the deadline the call is answered (the engine has
		// answered the caller already), its context cancelled and the slot freed; the
		// handler's late result is dropped.
		c.mu.Lock()
		if !c.done {
			c.timer = time.AfterFunc(time.Duration(h.deadlineNs-monotonicNs()), func() {
				s.finish(c, statusTimeout, []byte("deadline exceeded"))
			})
		}
		c.mu.Unlock()
	}
	output, status, body := s.callHandler(c, input)
	if status == statusOk {
		body = output
	}
	s.finish(c, status, body)
}

// callHandler runs the handler, turning an error or a panic into a function error.
func (s *slot) callHandler(c *callState, input []byte) (output []byte, status uint16, body []byte) {
	defer func() {
		if p := recover(); p != nil {
			output, status, body = nil, statusFunctionError, []byte(fmt.Sprintf("panic: %v", p))
		}
	}()
	output, err := s.rt.handler(&Call{c}, input)
	if err == nil {
		return output, statusOk, nil
	}
	var ie *InvokeError
	if errors.As(err, &ie) && error(ie) == err {
		return nil, statusFunctionError, []byte(ie.Message)
	}
	message := err.Error()
	if message == "" {
		message = fmt.Sprintf("%T", err)
	}
	return nil, statusFunctionError, []byte(message)
}

// finish answers a call (once), then starts the next call sent ahead, if any. May run on the
// handler's goroutine or the deadline timer's.
func (s *slot) finish(c *callState, status uint16, body []byte) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	children := c.children
	if len(children) > 0 {
		c.childNs += monotonicNs() - c.childSince
	}
	childNs := c.childNs
	c.children = nil
	cancel := c.cancel
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	// Invokes still running are abandoned: their answers are dropped on arrival, and the
	// goroutines waiting for them return.
	for _, waiter := range children {
		waiter <- invokeResult{err: newInvokeError(statusUnavailable, "the call that made this invoke has finished", nil)}
	}

	rt := s.rt
	h := &c.h
	if status == statusOk && len(body) > rt.maxPayload {
		status = statusPayloadTooLarge
		body = []byte("output exceeds the function's payload limit")
	}
	now := monotonicNs()
	reply := header{typ: msgComplete, callID: h.callID, parentCallID: h.parentCallID,
		workerID: s.workerID, status: status,
		processingUs:    clampUs(now - c.start),
		dispatchDelayUs: clampUs(c.start - h.sendTsNs),
		childWaitUs:     clampUs(childNs)}
	inline, err := rt.root.attachPayload(&reply, body, true)
	if err != nil {
		reply.status = statusInternalError
		reply.flags = 0
		inline = []byte("worker could not write the call's output: " + err.Error())
		if len(inline) > inlinePayloadSize {
			inline = inline[:inlinePayloadSize]
		}
		reply.payloadSize = uint32(len(inline))
	}
	msg := stampAndEncode(&reply, inline)

	// c stays the slot's current call until it is answered: a DISPATCH that comes meanwhile
	// (the engine sends the next one as soon as it has this answer) waits its turn behind
	// those sent ahead, so calls are answered in the order they were sent, as the engine
	// expects of a worker.
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		if h.replyChannel != 0 && rt.sendToCaller(h.replyChannel, msg) {
			// Hop 3 done; the engine only needs the accounting copy.
			reply.typ = msgCompleteNotice
			reply.flags &^= flagPayloadInShm
			reply.payloadSize = 0
			s.write(stampAndEncode(&reply, nil))
		} else {
			s.write(msg)
		}
	}
	// The next call sent ahead, if any, once this one is answered.
	s.mu.Lock()
	var next *callState
	if s.current == c {
		s.current = nil
		if len(s.pending) > 0 && !s.closed {
			m := s.pending[0]
			s.pending = s.pending[1:]
			next = s.newCall(decodeHeader(m), m)
		}
	}
	s.mu.Unlock()
	if next != nil {
		go s.run(next)
	}
}

func clampUs(ns int64) uint32 {
	if ns <= 0 {
		return 0
	}
	if us := ns / 1000; us < 1<<32 {
		return uint32(us)
	}
	return 1<<32 - 1
}

// context makes the call's context on first use: the call's deadline, cancelled at finish.
func (c *callState) context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		if c.h.deadlineNs != 0 {
			c.ctx, c.cancel = context.WithDeadline(context.Background(), monoToTime(c.h.deadlineNs))
		} else {
			c.ctx, c.cancel = context.WithCancel(context.Background())
		}
		if c.done {
			c.cancel()
		}
	}
	return c.ctx
}

func (c *callState) invoke(ctx context.Context, name string, data []byte) ([]byte, error) {
	s := c.slot
	rt := s.rt
	fid, ok := rt.functions[name]
	if !ok {
		return nil, newInvokeError(statusNotFound, "no function named '"+name+"'", nil)
	}
	deadline := c.h.deadlineNs
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, contextError(err)
		}
		if d, ok := ctx.Deadline(); ok {
			if mono := timeToMono(d); deadline == 0 || mono < deadline {
				deadline = mono
			}
		}
	}
	if deadline != 0 && monotonicNs() >= deadline {
		return nil, newInvokeError(statusTimeout, "deadline exceeded before the call", context.DeadlineExceeded)
	}
	callID := makeCallID(fid, s.workerID, s.counter.Add(1)-1)
	req := header{typ: msgInvoke, callID: callID, parentCallID: c.h.callID, deadlineNs: deadline,
		workerID: s.workerID, replyChannel: s.channel, trace: c.h.trace}
	inline, err := rt.root.attachPayload(&req, data, false)
	if err != nil {
		return nil, newInvokeError(statusInternalError, "cannot write the call's input: "+err.Error(), nil)
	}
	waiter := make(chan invokeResult, 1)
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		if req.flags&flagPayloadInShm != 0 {
			rt.root.removePayload(callID, false)
		}
		return nil, newInvokeError(statusUnavailable, "the call has finished", nil)
	}
	if c.children == nil {
		c.children = map[uint64]chan invokeResult{}
	}
	if len(c.children) == 0 {
		c.childSince = monotonicNs()
	}
	c.children[callID] = waiter
	c.mu.Unlock()
	s.write(stampAndEncode(&req, inline))
	if ctx == nil {
		r := <-waiter
		return r.output, r.err
	}
	select {
	case r := <-waiter:
		return r.output, r.err
	case <-ctx.Done():
		c.mu.Lock()
		_, waiting := c.children[callID]
		c.removeChild(callID)
		c.mu.Unlock()
		if !waiting { // answered meanwhile
			r := <-waiter
			return r.output, r.err
		}
		return nil, contextError(ctx.Err())
	}
}

func contextError(err error) *InvokeError {
	if errors.Is(err, context.DeadlineExceeded) {
		return newInvokeError(statusTimeout, err.Error(), err)
	}
	return newInvokeError(statusUnavailable, err.Error(), err)
}
