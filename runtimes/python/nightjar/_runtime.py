"""The Python runtime process: many worker slots on one asyncio event loop.

The launcher (src/launcher/launcher.cc) starts this process with a control pipe (its read
end on fd --control-fd) and sends it START_WORKER / STOP_WORKER messages,
one per slot. Each slot is a worker as far as the engine can tell: its own FIFO pair, its
own worker id and call-id counter, one call at a time (the engine's managed concurrency,
deadlines and crash handling apply per slot unchanged). docs/runtimes.md describes the
protocol; docs/protocol.md every message.

Thread rule: everything runs on the event loop's thread.
"""

import argparse
import asyncio
import collections
import importlib.util
import inspect
import os
import sys
import traceback

from . import _output
from . import _protocol as P
from . import _wire as W
from ._api import Context, InvokeError

_READ_BYTES = 64 * W.MESSAGE_SIZE


def _log(message):
    print(f"nightjar python runtime (pid {os.getpid()}): {message}", file=sys.stderr, flush=True)


class Call:
    """A DISPATCH being run: its header, input and the task or coroutine running it."""

    __slots__ = ("header", "message", "offset", "start_ns", "task", "deadline_timer", "timed_out",
                 "children", "trace", "child_ns", "child_since")

    def __init__(self, header, message, offset):
        self.header = header
        self.message = message
        self.offset = offset
        self.start_ns = 0
        self.task = None
        self.deadline_timer = None
        self.timed_out = False
        self.children = {}  # call id -> Future of (status, output) for this call's invokes
        self.trace = P.trace_of(message, offset)  # trace id + flags, passed to every invoke
        self.child_ns = 0  # wall time with at least one child outstanding
        self.child_since = 0


class Slot:
    """One worker slot: a FIFO pair and at most one running call (plus prefetched ones)."""

    def __init__(self, runtime, channel, worker_id):
        self.runtime = runtime
        self.channel = channel
        self.worker_id = worker_id
        self.in_fd = -1
        self.out_fd = -1
        self.counter = 0
        self.current = None  # the running Call
        self.pending = collections.deque()  # DISPATCHes sent ahead (engine prefetch)
        self.buffer = b""
        self.state = None
        self.closed = False

    def open(self):
        """Opens the FIFOs and says hello. Raises OSError."""
        root = self.runtime.root
        # O_RDWR on our own input, as the C++ worker host: open() does not wait for a writer
        # and reads never see EOF while callers come and go.
        self.in_fd = os.open(root.fifo(self.channel, False), os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        # The engine already holds the read end of our output, so this cannot block; writes
        # then block (a message is 1024 bytes, the engine drains the pipe).
        self.out_fd = os.open(root.fifo(self.channel, True), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(self.out_fd, True)
        version = W.PROTOCOL_VERSION.to_bytes(4, "little")
        os.write(self.out_fd, P.encode({"type": W.MSG_WORKER_HELLO, "worker_id": self.worker_id,
                                        "reply_channel": self.channel, "call_id": os.getpid()},
                                       version))
        self.runtime.loop.add_reader(self.in_fd, self.on_readable)

    def close(self):
        """Stops reading, cancels what runs, closes the FIFOs. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.in_fd >= 0:
            self.runtime.loop.remove_reader(self.in_fd)
            os.close(self.in_fd)
        if self.out_fd >= 0:
            os.close(self.out_fd)
        if self.current is not None and self.current.task is not None:
            self.current.task.cancel()

    # --- input --------------------------------------------------------------------

    def on_readable(self):
        try:
            data = os.read(self.in_fd, _READ_BYTES)
        except BlockingIOError:
            return
        if self.buffer:
            data = self.buffer + data
        size = W.MESSAGE_SIZE
        end = len(data) - len(data) % size
        self.buffer = data[end:]
        for offset in range(0, end, size):
            header = P.HEADER.unpack_from(data, offset)
            kind = header[P.H_TYPE]
            if kind == W.MSG_DISPATCH:
                if self.current is None:
                    self.start(header, data, offset)
                else:
                    self.pending.append((header, data, offset))
            elif kind == W.MSG_COMPLETE:
                self.on_complete(header, data, offset)
            elif kind == W.MSG_WORKER_WELCOME:
                self.counter = header[P.H_CALL_ID] & W.CALL_ID_COUNTER_MASK
            else:
                _log(f"slot {self.worker_id}: unexpected message type {kind}")

    def on_complete(self, header, data, offset):
        """A child call finished: wake the invoke waiting for it, or drop a late answer."""
        call = self.current
        future = call.children.get(header[P.H_CALL_ID]) if call is not None else None
        if future is None or future.done():
            self.runtime.root.discard_payload(header, True)
            return
        try:
            output = self.runtime.root.take_payload(header, data, offset, True)
            future.set_result((header[P.H_STATUS], output))
        except (OSError, P.ProtocolError) as e:
            future.set_result((W.STATUS_INTERNAL_ERROR, str(e).encode()))

    # --- running calls ----------------------------------------------------------------

    def start(self, header, data, offset):
        call = Call(header, data, offset)
        self.current = call
        call.start_ns = P.monotonic_ns()
        deadline = header[P.H_DEADLINE_NS]
        if deadline and call.start_ns >= deadline:
            # Sent ahead while the previous call ran, and expired meanwhile.
            self.runtime.root.discard_payload(header, False)
            self.finish(call, W.STATUS_TIMEOUT, b"deadline exceeded before the call started")
            return
        try:
            data = self.runtime.root.take_payload(header, data, offset, False)
        except (OSError, P.ProtocolError) as e:
            self.finish(call, W.STATUS_INTERNAL_ERROR,
                        f"worker could not read the call's input: {e}".encode())
            return
        ctx = Context(self, call)
        runtime = self.runtime
        # What the handler prints is tagged with the call (_output.py); its task, and the
        # tasks it starts, inherit this context.
        token = _output.current_call.set((header[P.H_CALL_ID], self.worker_id))
        try:
            if not runtime.handler_is_async:
                # A plain def runs inline, on the loop: no task, no thread hop (docs/runtimes.md).
                self.finish(call, *runtime.outcome(runtime.handler, ctx, data))
                return
            call.task = runtime.loop.create_task(self.run_async(call, ctx, data))
        finally:
            _output.current_call.reset(token)
        if deadline:
            delay = (deadline - call.start_ns) / 1e9
            call.deadline_timer = runtime.loop.call_later(delay, self.expire, call)

    def expire(self, call):
        """The call's deadline passed: stop its handler, answer timeout (the engine has
        answered the caller already; the slot is free again at once)."""
        if call.task is not None and not call.task.done():
            call.timed_out = True
            call.task.cancel()

    async def run_async(self, call, ctx, data):
        status, body = await self.runtime.outcome_async(ctx, data, call)
        if call.deadline_timer is not None:
            call.deadline_timer.cancel()
        if not self.closed:
            self.finish(call, status, body)

    def finish(self, call, status, body):
        """Sends COMPLETE for `call`, then starts the next prefetched call, if any."""
        runtime = self.runtime
        header = call.header
        _output.end_call((header[P.H_CALL_ID], self.worker_id))
        if len(body) > runtime.max_payload and status == W.STATUS_OK:
            status, body = W.STATUS_PAYLOAD_TOO_LARGE, b"output exceeds the function's payload limit"
        now = P.monotonic_ns()
        values = P.header()
        values[P.H_TYPE] = W.MSG_COMPLETE
        values[P.H_CALL_ID] = header[P.H_CALL_ID]
        values[P.H_PARENT_CALL_ID] = header[P.H_PARENT_CALL_ID]
        values[P.H_WORKER_ID] = self.worker_id
        values[P.H_STATUS] = status
        values[P.H_PROCESSING_US] = min((now - call.start_ns) // 1000, 0xFFFFFFFF)
        values[P.H_DISPATCH_DELAY_US] = min(max(0, call.start_ns - header[P.H_SEND_TS_NS]) // 1000,
                                            0xFFFFFFFF)
        try:
            inline = runtime.root.attach_payload(values, body, True)
        except OSError as e:
            values[P.H_STATUS] = W.STATUS_INTERNAL_ERROR
            inline = runtime.root.attach_payload(
                values, f"worker could not write the call's output: {e}".encode()[:W.INLINE_PAYLOAD_SIZE],
                True)
        if call.children:  # abandoned children count up to now
            call.child_ns += now - call.child_since
        # None (a zero trailer, pack's fast path) for the common call without children.
        trailer = P.trailer(P.NO_TRACE, call.child_ns // 1000) if call.child_ns else None
        message = P.pack(values, inline, trailer)
        # Children still running are abandoned; their answers are dropped on arrival, and a
        # task the handler left awaiting one is cancelled rather than left waiting forever.
        for future in call.children.values():
            future.cancel()
        self.current = None
        reply = header[P.H_REPLY_CHANNEL]
        if reply and runtime.send_to_caller(reply, message):
            # Hop 3 done; the engine only needs the accounting copy.
            values[P.H_TYPE] = W.MSG_COMPLETE_NOTICE
            values[P.H_FLAGS] &= ~W.FLAG_PAYLOAD_IN_SHM
            values[P.H_PAYLOAD_SIZE] = 0
            self.write(P.pack(values, b"", trailer))
        else:
            self.write(message)
        if self.pending and not self.closed:
            self.start(*self.pending.popleft())

    def write(self, message):
        """One message to the engine. A dead engine means the launcher is about to kill us."""
        try:
            os.write(self.out_fd, message)
        except OSError as e:
            _log(f"slot {self.worker_id}: write to the engine failed: {e}")

    # --- invokes -------------------------------------------------------------------

    async def invoke(self, call, name, data):
        runtime = self.runtime
        if not isinstance(data, bytes):
            data = data.encode() if isinstance(data, str) else bytes(data)
        fid = runtime.functions.get(name)
        if fid is None:
            raise InvokeError(W.STATUS_NOT_FOUND, f"no function named {name!r}")
        parent = call.header
        deadline = parent[P.H_DEADLINE_NS]
        if deadline and P.monotonic_ns() >= deadline:
            raise InvokeError(W.STATUS_TIMEOUT, "deadline exceeded before the call")
        call_id = P.make_call_id(fid, self.worker_id, self.counter)
        self.counter = (self.counter + 1) & W.CALL_ID_COUNTER_MASK
        values = P.header()
        values[P.H_TYPE] = W.MSG_INVOKE
        values[P.H_CALL_ID] = call_id
        values[P.H_PARENT_CALL_ID] = parent[P.H_CALL_ID]
        values[P.H_DEADLINE_NS] = deadline
        values[P.H_WORKER_ID] = self.worker_id
        values[P.H_REPLY_CHANNEL] = self.channel
        try:
            inline = runtime.root.attach_payload(values, data, False)
        except OSError as e:
            raise InvokeError(W.STATUS_INTERNAL_ERROR, f"cannot write the call's input: {e}")
        future = runtime.loop.create_future()
        children = call.children
        if not children:
            call.child_since = P.monotonic_ns()  # union of the children's times, not the sum
        children[call_id] = future
        try:
            try:
                os.write(self.out_fd, P.pack(values, inline, P.trailer(call.trace)))
            except OSError as e:
                if values[P.H_FLAGS] & W.FLAG_PAYLOAD_IN_SHM:
                    runtime.root.remove_payload(call_id, False)
                raise InvokeError(W.STATUS_UNAVAILABLE, f"engine unreachable: {e}")
            status, output = await future
        finally:
            del children[call_id]
            if not children:
                call.child_ns += P.monotonic_ns() - call.child_since
        if status != W.STATUS_OK:
            raise InvokeError(status, output.decode("utf-8", "replace"))
        return output


class Runtime:
    """One runtime process: the handler, the slots, the control pipe, the event loop."""

    def __init__(self, args):
        self.root = P.IpcRoot(args.ipc_root)
        self.function = args.function
        self.max_payload = args.max_payload
        self.functions = self.root.functions()
        self.handler, self.init = load_handler(args.handler)
        self.handler_is_async = inspect.iscoroutinefunction(self.handler)
        self.loop = new_event_loop()
        self.control_fd = args.control_fd
        os.set_blocking(self.control_fd, False)
        self.control_buffer = b""
        self.slots = {}  # channel -> Slot
        self.caller_fds = {}  # channel -> fd of a caller's input FIFO
        self.exit_code = 0

    def run(self):
        self.loop.add_reader(self.control_fd, self.on_control)
        try:
            self.loop.run_forever()
        finally:
            for slot in list(self.slots.values()):
                slot.close()
        return self.exit_code

    def on_control(self):
        try:
            data = os.read(self.control_fd, 16 * W.MESSAGE_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.loop.stop()  # the launcher is gone: so are we
            return
        data = self.control_buffer + data
        end = len(data) - len(data) % W.MESSAGE_SIZE
        self.control_buffer = data[end:]
        for offset in range(0, end, W.MESSAGE_SIZE):
            header = P.HEADER.unpack_from(data, offset)
            channel = header[P.H_REPLY_CHANNEL]
            if header[P.H_TYPE] == W.MSG_START_WORKER:
                self.loop.create_task(self.start_slot(channel, header[P.H_WORKER_ID]))
            elif header[P.H_TYPE] == W.MSG_STOP_WORKER:
                slot = self.slots.pop(channel, None)
                if slot is not None:
                    slot.close()

    async def start_slot(self, channel, worker_id):
        slot = Slot(self, channel, worker_id)
        self.slots[channel] = slot
        try:
            if self.init is not None:
                state = self.init(self.function)
                slot.state = await state if inspect.isawaitable(state) else state
            if not slot.closed:
                slot.open()
        except BaseException:  # a broken init fails the process, as the C++ create_worker does
            _log(f"worker {worker_id} of {self.function} cannot start:\n{traceback.format_exc()}")
            self.exit_code = 2
            self.loop.stop()

    def outcome(self, handler, ctx, data):
        """Runs a plain handler: (status, body). Whatever it raises is the call's failure,
        BaseExceptions (SystemExit, a CancelledError of its own) included: a slot must never
        be left without its COMPLETE."""
        try:
            return W.STATUS_OK, to_bytes(handler(ctx, data))
        except InvokeError as e:
            return W.STATUS_FUNCTION_ERROR, e.message.encode()
        except BaseException as e:  # noqa: B036 - see the docstring
            return W.STATUS_FUNCTION_ERROR, describe(e)

    async def outcome_async(self, ctx, data, call):
        """Runs an async handler: (status, body), as outcome(). Only the runtime's own
        cancellations are not the handler's failure: its deadline (a timeout) and the slot
        being stopped (re-raised: nobody is waiting for that call any more)."""
        try:
            return W.STATUS_OK, to_bytes(await self.handler(ctx, data))
        except asyncio.CancelledError as e:
            if call.timed_out:
                return W.STATUS_TIMEOUT, b"deadline exceeded"
            if ctx._slot.closed:
                raise
            return W.STATUS_FUNCTION_ERROR, describe(e)
        except InvokeError as e:
            # A callee's failure passes on as this function's own, with its message.
            return W.STATUS_FUNCTION_ERROR, e.message.encode()
        except BaseException as e:  # noqa: B036 - see outcome()
            return W.STATUS_FUNCTION_ERROR, describe(e)

    def send_to_caller(self, channel, message):
        """Writes a COMPLETE straight to the caller's input FIFO; False if the caller is gone
        or its pipe is full (the engine then forwards it)."""
        fd = self.caller_fds.get(channel)
        if fd is None:
            try:
                fd = os.open(self.root.fifo(channel, False), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return False
            self.caller_fds[channel] = fd
        try:
            os.write(fd, message)
            return True
        except OSError:
            # EPIPE: the caller exited; EAGAIN: its pipe is full. Forget the fd either way.
            del self.caller_fds[channel]
            os.close(fd)
            return False


def new_event_loop():
    """uvloop's loop when the interpreter has it (Debian's python3-uvloop), else asyncio's.

    asyncio's loop is pure Python and about half of a Python caller's time per invoke;
    uvloop's, in C, took the runtime's invoke path from 16 to 9.5 us in
    bench/py_invoke_sim.py (docs/performance.md, F13). NIGHTJAR_PYTHON_EVENT_LOOP=asyncio
    chooses the standard library's loop anyway; =uvloop insists on uvloop (an error when it
    is missing).
    """
    choice = os.environ.get("NIGHTJAR_PYTHON_EVENT_LOOP", "")
    if choice not in ("", "asyncio", "uvloop"):
        raise ValueError(f"NIGHTJAR_PYTHON_EVENT_LOOP must be asyncio or uvloop, got {choice!r}")
    if choice != "asyncio":
        try:
            import uvloop
            return uvloop.new_event_loop()
        except ImportError:
            if choice == "uvloop":
                raise
    return asyncio.new_event_loop()


def to_bytes(result):
    if isinstance(result, bytes):
        return result
    if isinstance(result, str):
        return result.encode()
    if result is None:
        return b""
    if isinstance(result, (bytearray, memoryview)):
        return bytes(result)
    raise TypeError(f"handler returned {type(result).__name__}; expected bytes, str or None")


def describe(error):
    """The 502 message of an exception that escaped a handler: 'Type: message'."""
    text = str(error)
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__).encode()


def load_handler(spec):
    """'path/file.py:function' -> (handler, init or None). Raises on a missing file or name."""
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise ValueError(f"handler {spec!r} must be path/to/file.py:function")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the handler's siblings import as they would in a script
    module_name = os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, name, None)
    if not callable(handler):
        raise ValueError(f"{path} has no function {name!r}")
    init = getattr(module, "init", None)
    return handler, init if callable(init) else None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m nightjar")
    parser.add_argument("--ipc-root", required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--max-payload", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    args = parser.parse_args(argv)
    _output.install()
    try:
        runtime = Runtime(args)
    except BaseException:
        _log(f"{args.function}: cannot load {args.handler}:\n{traceback.format_exc()}")
        return 2
    return runtime.run()
