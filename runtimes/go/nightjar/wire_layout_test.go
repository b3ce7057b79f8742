// Layout-drift test: Go's view of the wire protocol must be the C++ one.
//
//	NIGHTJAR_WIRE_GEN=<nightjar_wire_gen> go test -run TestWireLayout   (in the build's copy)
//
// Fails, naming the field, when this package's generated wire.go is not what the generator
// makes from today's src/proto, or when a message built by C++ with every header field
// distinct does not decode, field by field, to the values C++ put there, or re-encodes to
// other bytes, or its inline payload is not read from where C++ put it. Run by the build
// and by ctest (go_wire_layout) through runtimes/go/tests/wire_layout_test.sh; skipped
// without NIGHTJAR_WIRE_GEN.
package nightjar

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

func fieldValues(h header) map[string]string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return map[string]string{
		"type": u(uint64(h.typ)), "flags": u(uint64(h.flags)), "status": u(uint64(h.status)),
		"worker_id": u(uint64(h.workerID)), "payload_size": u(uint64(h.payloadSize)),
		"processing_us": u(uint64(h.processingUs)), "call_id": u(h.callID),
		"parent_call_id": u(h.parentCallID), "send_ts_ns": i(h.sendTsNs),
		"deadline_ns": i(h.deadlineNs), "reply_channel": u(h.replyChannel),
		"dispatch_delay_us": u(uint64(h.dispatchDelayUs)), "off_cpu_us": u(uint64(h.offCPUUs)),
	}
}

func TestWireLayout(t *testing.T) {
	gen := os.Getenv("NIGHTJAR_WIRE_GEN")
	if gen == "" {
		t.Skip("NIGHTJAR_WIRE_GEN is not set (the build and ctest set it)")
	}
	fresh, err := exec.Command(gen, "go").Output()
	if err != nil {
		t.Fatalf("%s go: %v", gen, err)
	}
	if current, err := os.ReadFile("wire.go"); err != nil || !bytes.Equal(current, fresh) {
		t.Errorf("wire.go differs from `%s go` (%v): delete it and rebuild", gen, err)
	}

	out, err := exec.Command(gen, "sample").Output()
	if err != nil {
		t.Fatalf("%s sample: %v", gen, err)
	}
	// Field values come as decimal strings, so 64-bit ones keep their precision.
	var sample struct {
		Fields  map[string]string `json:"fields"`
		Trailer struct {
			TraceID     string `json:"trace_id"`
			TraceFlags  byte   `json:"trace_flags"`
			ChildWaitUs uint32 `json:"child_wait_us"`
		} `json:"trailer"`
		Hex string `json:"hex"`
	}
	if err := json.Unmarshal(out, &sample); err != nil {
		t.Fatalf("sample: %v", err)
	}
	raw, err := hex.DecodeString(sample.Hex)
	if err != nil || len(raw) != messageSize {
		t.Fatalf("C++ message is %d bytes (%v), Go expects %d", len(raw), err, messageSize)
	}
	h := decodeHeader(raw)
	got := fieldValues(h)
	for _, f := range headerFields {
		if got[f.name] != sample.Fields[f.name] {
			t.Errorf("field %s: Go reads %s, C++ wrote %s", f.name, got[f.name], sample.Fields[f.name])
		}
	}
	for name := range sample.Fields {
		if _, ok := got[name]; !ok {
			t.Errorf("field %s: C++ has it, Go lacks it", name)
		}
	}
	payload := raw[headerSize : headerSize+int(h.payloadSize)]
	reencoded := encodeMessage(&h, payload)
	if !bytes.Equal(reencoded[:headerSize], raw[:headerSize]) {
		t.Errorf("Go encodes the sample header to other bytes than C++:\n go  %x\n c++ %x",
			reencoded[:headerSize], raw[:headerSize])
	}
	traceID, _ := hex.DecodeString(sample.Trailer.TraceID)
	if !bytes.Equal(h.trace[:16], traceID) || h.trace[16] != sample.Trailer.TraceFlags ||
		h.childWaitUs != sample.Trailer.ChildWaitUs {
		t.Errorf("trailer: Go reads %x/%d, C++ wrote %s/%d/%d", h.trace, h.childWaitUs,
			sample.Trailer.TraceID, sample.Trailer.TraceFlags, sample.Trailer.ChildWaitUs)
	}
	if !bytes.Equal(reencoded[trailerOffset:], raw[trailerOffset:]) {
		t.Errorf("Go encodes the sample trailer to other bytes than C++")
	}
	inline := h
	inline.flags &^= flagPayloadInShm
	read, err := newIpcRoot("/x").takePayload(&inline, raw, false)
	if err != nil || !bytes.Equal(read, payload) {
		t.Errorf("inline payload is not read from where C++ put it (%v)", err)
	}
	if !t.Failed() {
		t.Logf("wire layout: Go matches C++ (%d header fields, %d-byte messages)", len(headerFields), messageSize)
	}
}
