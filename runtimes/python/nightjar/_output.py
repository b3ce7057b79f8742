"""print() inside a call, tagged with the call's id (docs/operations.md, "Function logs").

The process's fd 1 and fd 2 are pipes the engine reads (src/engine/log_capture.h).
install() replaces sys.stdout and sys.stderr with writers that, while a call runs in the
current context (a contextvars.ContextVar the runtime sets around each call, which asyncio
tasks the handler starts inherit), send whole lines as log frames (src/proto/log_frame.h)
carrying that call's id; a line a call leaves open is sent when the call ends. Outside a
call (module import, the runtime's own messages) bytes go out as they are, untagged.
Writes straight to fd 1 or 2 (os.write, a C extension's printf, a subprocess) are untagged.

Thread rule: the event loop's thread; a thread the handler starts writes untagged (it does
not inherit the context).
"""

import contextvars
import io
import os
import sys

from . import _wire as W

# (call id, worker id) of the call running in this context, or None.
current_call = contextvars.ContextVar("nightjar_current_call", default=None)

_PREFIX = (chr(W.LOG_FRAME_START) + W.LOG_FRAME_TAG + " ").encode()
# An open line longer than this is sent without waiting for its newline (the engine cuts
# lines at logs.max_line_bytes anyway).
_MAX_OPEN = 64 * 1024


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return  # the engine is gone: output is best effort
        view = view[n:]


def frame(call_id, worker_id, body):
    """One log frame: header line + body (bytes)."""
    return _PREFIX + f"{call_id:016x} {worker_id} {len(body)}\n".encode() + body


class TaggedWriter(io.TextIOBase):
    """A text stream over fd `fd` that frames what calls write (see the module docstring)."""

    def __init__(self, fd, name):
        super().__init__()
        self._fd = fd
        self._name = name
        self._open = {}  # (call id, worker id) -> the call's open line (str)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    def fileno(self):
        return self._fd

    @property
    def buffer(self):
        """sys.stdout.buffer: bytes written here are decoded and framed like text."""
        return _BinaryView(self)

    def isatty(self):
        return False

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        tag = current_call.get()
        if tag is None:
            _write_all(self._fd, s.encode("utf-8", "backslashreplace"))
            return len(s)
        text = self._open.pop(tag, "") + s
        cut = text.rfind("\n") + 1
        if cut == 0 and len(text) > _MAX_OPEN:
            cut = len(text)
        if cut:
            _write_all(self._fd, frame(tag[0], tag[1], text[:cut].encode("utf-8", "backslashreplace")))
        if cut < len(text):
            self._open[tag] = text[cut:]
        return len(s)

    def flush(self):
        pass  # nothing is held but open lines, which end with their line or their call

    def end_call(self, tag):
        """The call `tag` ended: its open line, if any, is sent."""
        rest = self._open.pop(tag, None)
        if rest:
            _write_all(self._fd, frame(tag[0], tag[1], (rest + "\n").encode("utf-8", "backslashreplace")))


class _BinaryView:
    __slots__ = ("_text",)

    def __init__(self, text):
        self._text = text

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "backslashreplace"))
        return len(b)

    def flush(self):
        pass


_writers = []


def install():
    """Replaces sys.stdout and sys.stderr (once, at start-up, before the handler loads)."""
    for attr, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, attr)
        if old is not None:
            try:
                old.flush()
            except (OSError, ValueError):
                pass
        writer = TaggedWriter(fd, f"<{attr}>")
        setattr(sys, attr, writer)
        _writers.append(writer)


def end_call(tag):
    for writer in _writers:
        writer.end_call(tag)
