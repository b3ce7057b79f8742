//go:build nightjar_wire_choice

// Generated Go code against a C library through cgo, per message (docs/runtimes.md, "Why
// generated code and not a C library"). In the build's copy of the package:
//
//	CGO_ENABLED=1 go test -tags nightjar_wire_choice -run '^$' -bench . -count 5
package nightjar

import (
	"os"
	"testing"
)

var sink uint64

func sampleMessage() []byte {
	h := header{typ: msgComplete, callID: 0x0123456789abcdef, parentCallID: 42, deadlineNs: 7,
		replyChannel: 3, payloadSize: 10}
	return encodeMessage(&h, []byte("0123456789"))
}

// Generated: decode every header field with encoding/binary.
func BenchmarkWireChoiceGeneratedDecode(b *testing.B) {
	msg := sampleMessage()
	for i := 0; i < b.N; i++ {
		h := decodeHeader(msg)
		sink += h.callID
	}
}

// Generated: encode a message (allocates the 1024-byte buffer, as the runtime does).
func BenchmarkWireChoiceGeneratedEncode(b *testing.B) {
	h := header{typ: msgInvoke, callID: 1, parentCallID: 2, deadlineNs: 3, replyChannel: 4}
	payload := []byte("hello")
	for i := 0; i < b.N; i++ {
		msg := encodeMessage(&h, payload)
		sink += uint64(msg[0])
	}
}

// cgo: one call with buffer arguments (a 64-byte memcpy stands in for a C decoder).
func BenchmarkWireChoiceCgoCall(b *testing.B) {
	msg := sampleMessage()
	dst := make([]byte, headerSize)
	for i := 0; i < b.N; i++ {
		cCopyHeader(dst, msg)
	}
}

// cgo: reading the ~6 fields a runtime needs per message, one call each.
func BenchmarkWireChoiceCgoSixFields(b *testing.B) {
	msg := sampleMessage()
	for i := 0; i < b.N; i++ {
		for _, off := range [...]int{offType, offFlags, offCallID, offParentCallID, offDeadlineNs, offReplyChannel} {
			sink += cReadU64(msg, off)
		}
	}
}

// Both: one 1024-byte message written to a pipe and read back.
func BenchmarkWireChoicePipeRoundTrip(b *testing.B) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	msg := sampleMessage()
	in := make([]byte, messageSize)
	for i := 0; i < b.N; i++ {
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(in); err != nil {
			b.Fatal(err)
		}
	}
}
