"""The worker side of Nightjar's wire protocol, for Python (docs/runtimes.md).

Everything about the layout comes from ``_wire``, which the build generates from
src/proto/message.h (runtimes/wire_gen.cc); this module only packs and unpacks with it,
and reads and writes payload regions. Nothing here depends on asyncio.

A received header is a plain tuple in ``_wire.HEADER_FIELDS`` order (the fastest shape
``struct`` gives); one being built is a list in the same order (header()); the ``H_*``
indexes name their fields.
"""

import os
import struct
from time import monotonic_ns

from . import _wire as W

HEADER = struct.Struct(W.HEADER_FORMAT)
assert HEADER.size == W.HEADER_SIZE, "generated header format disagrees with its size"

_INDEX = {name: i for i, (name, _offset, _size) in enumerate(W.HEADER_FIELDS)}
H_TYPE = _INDEX["type"]
H_FLAGS = _INDEX["flags"]
H_STATUS = _INDEX["status"]
H_WORKER_ID = _INDEX["worker_id"]
H_PAYLOAD_SIZE = _INDEX["payload_size"]
H_PROCESSING_US = _INDEX["processing_us"]
H_CALL_ID = _INDEX["call_id"]
H_PARENT_CALL_ID = _INDEX["parent_call_id"]
H_SEND_TS_NS = _INDEX["send_ts_ns"]
H_DEADLINE_NS = _INDEX["deadline_ns"]
H_REPLY_CHANNEL = _INDEX["reply_channel"]
H_DISPATCH_DELAY_US = _INDEX["dispatch_delay_us"]

_ZEROS = [0] * len(W.HEADER_FIELDS)
_PADDING = bytes(W.MESSAGE_SIZE)
_EMPTY_PADDING = _PADDING[W.HEADER_SIZE:]  # what follows a header with no inline payload

# The trailer (proto::MessageTrailer): trace id (16 bytes), trace flags, 3 reserved bytes,
# child_wait_us. The asserts tie this format to the generated offsets.
TRAILER = struct.Struct("<16sB3xI")
assert TRAILER.size == W.TRAILER_SIZE, "trailer format disagrees with its size"
assert W.TRACE_ID_OFFSET == W.TRAILER_OFFSET and W.TRACE_ID_SIZE == 16
assert W.TRACE_FLAGS_OFFSET == W.TRAILER_OFFSET + 16
assert W.CHILD_WAIT_US_OFFSET == W.TRAILER_OFFSET + 20
NO_TRACE = bytes(W.TRACE_ID_SIZE + 1)
_MASK64 = (1 << 64) - 1


class ProtocolError(Exception):
    """A message or payload region that does not match the protocol."""


def header():
    """A fresh header as a list of zeros in HEADER_FIELDS order; set fields with the H_*
    indexes and send it with pack(). The hot paths use this: no dict, no name lookups."""
    return _ZEROS.copy()


def pack(values, payload=b"", trailer=None):
    """Returns one MESSAGE_SIZE-byte message: header list `values` (payload_size and flags
    as the caller set them) followed by `payload` (at most INLINE_PAYLOAD_SIZE bytes, sent
    inline) and `trailer` (TRAILER_SIZE bytes from trailer(); None = all zero). send_ts_ns
    is stamped here (CLOCK_MONOTONIC, as in ipc::WriteMessage)."""
    values[H_SEND_TS_NS] = monotonic_ns()
    if trailer is not None:
        return (HEADER.pack(*values) + payload +
                _PADDING[W.HEADER_SIZE + len(payload):W.TRAILER_OFFSET] + trailer)
    if payload:
        return HEADER.pack(*values) + payload + _PADDING[W.HEADER_SIZE + len(payload):]
    return HEADER.pack(*values) + _EMPTY_PADDING


def trace_of(message, offset=0):
    """The trace id and flags (17 bytes) in the trailer of the message at message[offset:]."""
    start = offset + W.TRACE_ID_OFFSET
    return bytes(message[start:start + W.TRACE_ID_SIZE + 1])


def trailer(trace=NO_TRACE, child_wait_us=0):
    """A trailer: `trace` as trace_of() returns it, and a completion's child wait (us)."""
    return TRAILER.pack(trace[:W.TRACE_ID_SIZE], trace[W.TRACE_ID_SIZE],
                        min(child_wait_us, 0xFFFFFFFF))


def span_id(call_id, trace_id):
    """proto::SpanIdFor: the span id of call `call_id` in the trace `trace_id` (16 bytes):
    splitmix64's finalizer of call_id XOR the trace id's last 8 bytes (big-endian)."""
    z = ((call_id ^ int.from_bytes(trace_id[8:16], "big")) + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z or 1


def traceparent(trace, call_id):
    """The W3C traceparent of call `call_id` in `trace` (trace_of()): its own span id as
    parent-id (W3C Trace Context §3.2)."""
    trace_id = trace[:W.TRACE_ID_SIZE]
    return f"00-{trace_id.hex()}-{span_id(call_id, trace_id):016x}-{trace[W.TRACE_ID_SIZE]:02x}"


def encode(fields, payload=b""):
    """Returns one MESSAGE_SIZE-byte message (the readable form of header() and pack()).

    fields: dict of header field name -> int (missing fields are 0); payload: at most
    INLINE_PAYLOAD_SIZE bytes, copied inline (payload_size is set from it unless given).
    """
    values = header()
    for name, value in fields.items():
        values[_INDEX[name]] = value
    if "payload_size" not in fields:
        values[H_PAYLOAD_SIZE] = len(payload)
    return pack(values, payload)


def decode_header(buf, offset=0):
    """The header tuple of the message at buf[offset:offset + MESSAGE_SIZE]."""
    return HEADER.unpack_from(buf, offset)


def function_id(call_id):
    return call_id >> W.CALL_ID_FUNCTION_SHIFT


def make_call_id(function_id_, client_id, counter):
    """proto::CallId::Make with method 0."""
    return ((function_id_ & W.CALL_ID_MAX_FUNCTION) << W.CALL_ID_FUNCTION_SHIFT) | (
        (client_id & W.CALL_ID_MAX_CLIENT) << W.CALL_ID_CLIENT_SHIFT) | (
        counter & W.CALL_ID_COUNTER_MASK)


class IpcRoot:
    """Paths inside an engine's instance directory (ipc::IpcRoot)."""

    def __init__(self, directory):
        self.dir = directory.rstrip("/")

    def fifo(self, channel, output):
        template = W.FIFO_OUTPUT_PATH if output else W.FIFO_INPUT_PATH
        return self.dir + template.format(channel=channel)

    def payload(self, call_id, output):
        template = W.PAYLOAD_OUTPUT_PATH if output else W.PAYLOAD_INPUT_PATH
        return self.dir + template.format(call_id=call_id)

    def functions(self):
        """The function directory: name -> function id. Raises OSError, ProtocolError."""
        with open(self.dir + W.FUNCTION_DIRECTORY_PATH, encoding="utf-8") as f:
            out = {}
            for line in f:
                fid, _, name = line.strip().partition(" ")
                if not fid.isdigit() or not name:
                    raise ProtocolError(f"bad function directory line {line!r}")
                out[name] = int(fid)
            return out

    def take_payload(self, header, message, offset, output):
        """The payload of the message at message[offset:], inline or from its region (which
        is deleted, as the consumer must). Raises ProtocolError or OSError."""
        size = header[H_PAYLOAD_SIZE]
        if not header[H_FLAGS] & W.FLAG_PAYLOAD_IN_SHM:
            if size > W.INLINE_PAYLOAD_SIZE:
                raise ProtocolError("inline payload size out of range")
            start = offset + W.HEADER_SIZE
            return bytes(message[start:start + size])
        path = self.payload(header[H_CALL_ID], output)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.unlink(path)  # the open fd keeps the data readable
            # The header is untrusted: check the region holds what it claims first.
            if os.fstat(fd).st_size != size:
                raise ProtocolError(f"payload region {path} does not match its message's size")
            chunks = []
            left = size
            while left:
                chunk = os.read(fd, left)
                if not chunk:
                    raise ProtocolError(f"payload region {path} is short")
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def discard_payload(self, header, output):
        """Deletes the message's region, if it has one. Never raises."""
        if header[H_FLAGS] & W.FLAG_PAYLOAD_IN_SHM:
            self.remove_payload(header[H_CALL_ID], output)

    def remove_payload(self, call_id, output):
        """Deletes a call's region of the given kind, if present. Never raises."""
        try:
            os.unlink(self.payload(call_id, output))
        except OSError:
            pass

    def attach_payload(self, values, payload, output):
        """Returns the inline bytes to send with header list `values`, whose payload_size
        it sets; a payload over INLINE_PAYLOAD_SIZE is written to its region first (the
        sender creates it, once: O_EXCL) and flagged. values must hold call_id. Raises
        OSError when the region cannot be written."""
        size = len(payload)
        values[H_PAYLOAD_SIZE] = size
        if size <= W.INLINE_PAYLOAD_SIZE:
            return payload
        path = self.payload(values[H_CALL_ID], output)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        # Flagged only once written: a caller that falls back to an inline message after
        # an OSError must not send the flag along.
        values[H_FLAGS] |= W.FLAG_PAYLOAD_IN_SHM
        return b""
