package nightjar

// Call.Log and Call.Logf: output tagged with the call's id (docs/operations.md, "Function
// logs"). The process's fd 1 and fd 2 are pipes the engine reads; Go has no per-goroutine
// context for fmt.Print or the log package to find a call by, so what they write stays
// untagged, and these helpers write log frames (src/proto/log_frame.h) instead.

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// One frame per write, and one writer at a time: a frame's header and body stay together
// even where the pipe would split a large write.
var logMu sync.Mutex

func writeLogFrame(callID uint64, workerID uint16, text string) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	frame := fmt.Sprintf("%c%s %016x %d %d\n%s", rune(logFrameStart), logFrameTag, callID, workerID,
		len(text), text)
	logMu.Lock()
	defer logMu.Unlock()
	_, _ = os.Stderr.WriteString(frame) // best effort: a gone engine is about to end us
}

// Log writes its operands, formatted as by fmt.Sprintln, as a line of the function's stderr
// tagged with this call's id (`nightjar logs`). Safe from any goroutine of the call.
func (c *Call) Log(args ...any) {
	writeLogFrame(c.c.h.callID, c.c.slot.workerID, fmt.Sprintln(args...))
}

// Logf writes fmt.Sprintf(format, args...) as Log does (a newline is added when missing).
func (c *Call) Logf(format string, args ...any) {
	writeLogFrame(c.c.h.callID, c.c.slot.workerID, fmt.Sprintf(format, args...))
}
