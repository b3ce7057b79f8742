// The worker side of Nightjar's wire protocol, for Go (docs/runtimes.md).
//
// Everything about the layout comes from wire.go, which the build generates from
// src/proto/message.h (runtimes/wire_gen.cc: `nightjar_wire_gen go`); this file reads and
// writes 1024-byte messages with it, and reads and writes payload regions. No goroutines
// here; every function may be called from any goroutine.
package nightjar

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// wireField is one row of the generated headerFields table.
type wireField struct {
	name   string
	offset int
	size   int
	signed bool
}

// header is a decoded proto::MessageHeader; docs/protocol.md says what each field means.
type header struct {
	typ, flags, status, workerID uint16
	payloadSize, processingUs    uint32
	callID, parentCallID         uint64
	sendTsNs, deadlineNs         int64
	replyChannel                 uint64
	dispatchDelayUs, offCPUUs    uint32
	// The trailer (proto::MessageTrailer), read and written with full messages only.
	trace       traceContext // trace id and flags
	childWaitUs uint32       // kComplete: time in child calls
}

// traceContext is a trailer's trace id (16 bytes) and trace flags (1 byte).
type traceContext [17]byte

// Offsets of header fields, looked up by name in the generated table at start-up, where
// each field's size and signedness is also checked against the Go type that holds it: a
// field C++ renames, resizes or adds stops every Go function before it serves a call (and
// the layout-drift test, and so the build, before that).
var (
	offType, offFlags, offStatus, offWorkerID, offPayloadSize, offProcessingUs int
	offCallID, offParentCallID, offSendTsNs, offDeadlineNs, offReplyChannel    int
	offDispatchDelayUs, offOffCPUUs                                            int
)

func init() {
	want := []struct {
		name   string
		size   int
		signed bool
		off    *int
	}{
		{"type", 2, false, &offType}, {"flags", 2, false, &offFlags},
		{"status", 2, false, &offStatus}, {"worker_id", 2, false, &offWorkerID},
		{"payload_size", 4, false, &offPayloadSize}, {"processing_us", 4, false, &offProcessingUs},
		{"call_id", 8, false, &offCallID}, {"parent_call_id", 8, false, &offParentCallID},
		{"send_ts_ns", 8, true, &offSendTsNs}, {"deadline_ns", 8, true, &offDeadlineNs},
		{"reply_channel", 8, false, &offReplyChannel},
		{"dispatch_delay_us", 4, false, &offDispatchDelayUs}, {"off_cpu_us", 4, false, &offOffCPUUs},
	}
	if len(want) != len(headerFields) {
		panic(fmt.Sprintf("nightjar: the generated header has %d fields, this runtime knows %d",
			len(headerFields), len(want)))
	}
	covered := 0
	for i, w := range want {
		f := headerFields[i]
		if f.name != w.name || f.size != w.size || f.signed != w.signed || f.offset != covered {
			panic(fmt.Sprintf("nightjar: generated header field %d is %+v, this runtime expects %q "+
				"(%d bytes) at %d", i, f, w.name, w.size, covered))
		}
		*w.off = f.offset
		covered += f.size
	}
	if covered != headerSize || inlinePayloadSize != messageSize-headerSize-trailerSize {
		panic("nightjar: generated header fields do not cover the header")
	}
	if traceIdOffset != trailerOffset || traceIdSize != 16 || traceFlagsOffset != trailerOffset+16 ||
		childWaitUsOffset != trailerOffset+20 || trailerOffset+trailerSize != messageSize {
		panic("nightjar: the generated trailer is not the one this runtime reads")
	}
	initClock()
}

var le = binary.LittleEndian

// decodeHeader reads the header at the start of msg (at least headerSize bytes).
func decodeHeader(msg []byte) header {
	_ = msg[headerSize-1]
	h := header{
		typ:             le.Uint16(msg[offType:]),
		flags:           le.Uint16(msg[offFlags:]),
		status:          le.Uint16(msg[offStatus:]),
		workerID:        le.Uint16(msg[offWorkerID:]),
		payloadSize:     le.Uint32(msg[offPayloadSize:]),
		processingUs:    le.Uint32(msg[offProcessingUs:]),
		callID:          le.Uint64(msg[offCallID:]),
		parentCallID:    le.Uint64(msg[offParentCallID:]),
		sendTsNs:        int64(le.Uint64(msg[offSendTsNs:])),
		deadlineNs:      int64(le.Uint64(msg[offDeadlineNs:])),
		replyChannel:    le.Uint64(msg[offReplyChannel:]),
		dispatchDelayUs: le.Uint32(msg[offDispatchDelayUs:]),
		offCPUUs:        le.Uint32(msg[offOffCPUUs:]),
	}
	if len(msg) >= messageSize {
		copy(h.trace[:], msg[traceIdOffset:traceFlagsOffset+1])
		h.childWaitUs = le.Uint32(msg[childWaitUsOffset:])
	}
	return h
}

// encodeMessage returns one messageSize-byte message: h and an inline payload of at most
// inlinePayloadSize bytes (h.payloadSize is written as given). The caller stamps
// sendTsNs (stampAndEncode does).
func encodeMessage(h *header, inline []byte) []byte {
	msg := make([]byte, messageSize)
	le.PutUint16(msg[offType:], h.typ)
	le.PutUint16(msg[offFlags:], h.flags)
	le.PutUint16(msg[offStatus:], h.status)
	le.PutUint16(msg[offWorkerID:], h.workerID)
	le.PutUint32(msg[offPayloadSize:], h.payloadSize)
	le.PutUint32(msg[offProcessingUs:], h.processingUs)
	le.PutUint64(msg[offCallID:], h.callID)
	le.PutUint64(msg[offParentCallID:], h.parentCallID)
	le.PutUint64(msg[offSendTsNs:], uint64(h.sendTsNs))
	le.PutUint64(msg[offDeadlineNs:], uint64(h.deadlineNs))
	le.PutUint64(msg[offReplyChannel:], h.replyChannel)
	le.PutUint32(msg[offDispatchDelayUs:], h.dispatchDelayUs)
	le.PutUint32(msg[offOffCPUUs:], h.offCPUUs)
	copy(msg[headerSize:], inline)
	copy(msg[traceIdOffset:], h.trace[:])
	le.PutUint32(msg[childWaitUsOffset:], h.childWaitUs)
	return msg
}

// spanID is proto::SpanIdFor: splitmix64's finalizer of callID XOR the trace id's last 8
// bytes (big-endian); 0 becomes 1.
func spanID(callID uint64, t *traceContext) uint64 {
	z := callID ^ binary.BigEndian.Uint64(t[8:16])
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		return 1
	}
	return z
}

// traceparent is the W3C traceparent (Trace Context §3.2) of call callID in trace t, with
// the call's own span id as parent-id.
func traceparent(callID uint64, t *traceContext) string {
	return fmt.Sprintf("00-%x-%016x-%02x", t[:16], spanID(callID, t), t[16])
}

// stampAndEncode sets send_ts_ns to now, as ipc::WriteMessage does, and encodes.
func stampAndEncode(h *header, inline []byte) []byte {
	h.sendTsNs = monotonicNs()
	return encodeMessage(h, inline)
}

// The engine's clock is CLOCK_MONOTONIC. Go's time package reads the same clock for its
// monotonic readings but does not expose its value, so the runtime reads it once at start
// and adds Go's monotonic durations to that reading: no system call per message.
var (
	monoBase int64
	wallBase time.Time
)

func initClock() {
	var ts syscall.Timespec
	wallBase = time.Now()
	// CLOCK_MONOTONIC is 1 on Linux.
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic("nightjar: clock_gettime(CLOCK_MONOTONIC): " + e.Error())
	}
	monoBase = ts.Nano()
}

// monotonicNs is CLOCK_MONOTONIC in nanoseconds, as the engine's deadline_ns and send_ts_ns.
func monotonicNs() int64 { return monoBase + int64(time.Since(wallBase)) }

// monoToTime turns a CLOCK_MONOTONIC instant into a time.Time (with Go's monotonic reading,
// so time.Until and context deadlines measure it exactly).
func monoToTime(ns int64) time.Time { return wallBase.Add(time.Duration(ns - monoBase)) }

// timeToMono is the reverse of monoToTime.
func timeToMono(t time.Time) int64 { return monoBase + int64(t.Sub(wallBase)) }

// makeCallID is proto::CallId::Make with method 0.
func makeCallID(functionID uint32, clientID uint16, counter uint32) uint64 {
	return uint64(functionID&callIdMaxFunction)<<callIdFunctionShift |
		uint64(uint32(clientID)&callIdMaxClient)<<callIdClientShift | uint64(counter)
}

// pathTemplate is a generated path with one placeholder, split around it.
type pathTemplate struct{ before, after string }

func splitTemplate(template, placeholder string) pathTemplate {
	at := strings.Index(template, placeholder)
	if at < 0 {
		panic("nightjar: generated path " + template + " lacks " + placeholder)
	}
	return pathTemplate{template[:at], template[at+len(placeholder):]}
}

var (
	fifoInput     = splitTemplate(fifoInputPath, "{channel}")
	fifoOutput    = splitTemplate(fifoOutputPath, "{channel}")
	payloadInput  = splitTemplate(payloadInputPath, "{call_id:016x}")
	payloadOutput = splitTemplate(payloadOutputPath, "{call_id:016x}")
)

// ipcRoot is an engine's instance directory (ipc::IpcRoot): FIFOs, payload regions and the
// function directory live under it.
type ipcRoot struct{ dir string }

func newIpcRoot(dir string) ipcRoot { return ipcRoot{strings.TrimRight(dir, "/")} }

func (r ipcRoot) fifo(channel uint64, output bool) string {
	t := fifoInput
	if output {
		t = fifoOutput
	}
	return r.dir + t.before + strconv.FormatUint(channel, 10) + t.after
}

func (r ipcRoot) payload(callID uint64, output bool) string {
	t := payloadInput
	if output {
		t = payloadOutput
	}
	return fmt.Sprintf("%s%s%016x%s", r.dir, t.before, callID, t.after)
}

// functions reads the function directory: name -> function id. Fails on a malformed file.
func (r ipcRoot) functions() (map[string]uint32, error) {
	data, err := os.ReadFile(r.dir + functionDirectoryPath)
	if err != nil {
		return nil, err
	}
	out := map[string]uint32{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		space := strings.IndexByte(line, ' ')
		if space < 1 {
			return nil, fmt.Errorf("bad function directory line %q", line)
		}
		id, err := strconv.ParseUint(line[:space], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad function directory line %q", line)
		}
		out[strings.TrimSpace(line[space+1:])] = uint32(id)
	}
	return out, nil
}

// takePayload returns the payload of msg (header h): a copy of the inline bytes, or its
// region's contents (the region is deleted: the consumer deletes). Fails on a size out of
// range, an unreadable region, or a region whose size differs from the message's.
func (r ipcRoot) takePayload(h *header, msg []byte, output bool) ([]byte, error) {
	size := int(h.payloadSize)
	if h.flags&flagPayloadInShm == 0 {
		if size > inlinePayloadSize {
			return nil, fmt.Errorf("inline payload size %d out of range", size)
		}
		out := make([]byte, size)
		copy(out, msg[headerSize:headerSize+size])
		return out, nil
	}
	path := r.payload(h.callID, output)
	data, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil {
		return nil, err
	}
	if len(data) != size {
		return nil, fmt.Errorf("payload region %s holds %d bytes, its message says %d", path, len(data), size)
	}
	return data, nil
}

// removePayload deletes a call's region of the given kind, if any.
func (r ipcRoot) removePayload(callID uint64, output bool) { os.Remove(r.payload(callID, output)) }

// attachPayload sets h.payloadSize and returns the inline bytes to send with h; a payload
// over inlinePayloadSize is written to its region first (created once: O_EXCL) and flagged.
// h.callID must be set. Fails if the region cannot be written (nothing is left behind).
func (r ipcRoot) attachPayload(h *header, payload []byte, output bool) ([]byte, error) {
	h.payloadSize = uint32(len(payload))
	if len(payload) <= inlinePayloadSize {
		return payload, nil
	}
	path := r.payload(h.callID, output)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(payload)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	h.flags |= flagPayloadInShm
	return nil, nil
}
