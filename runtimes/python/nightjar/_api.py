"""What a Python function sees: the call context and the error an invoke raises.

    async def handle(ctx, data: bytes) -> bytes | str | None:
        reply = await ctx.invoke("echo", data)     # bytes, or raises InvokeError
        return b"got " + reply

docs/runtimes.md and the README ("Writing a Python function") describe the contract.
"""

import math

from . import _protocol as P
from . import _wire as W


class InvokeError(Exception):
    """An internal call that did not succeed.

    status: the call's status code (``nightjar.STATUS_*``, the numbers of docs/protocol.md,
    "Call statuses"); status_name: its name ("timeout", "function error", ...);
    message: the callee's error message (for a function error) or the runtime's reason.
    A handler that lets an InvokeError escape fails with the callee's message unchanged.
    """

    def __init__(self, status, message):
        self.status = status
        self.status_name = W.STATUS_NAMES.get(status, f"status {status}")
        self.message = message
        super().__init__(f"{self.status_name}: {message}" if message else self.status_name)


class Context:
    """One call of a function. Valid while its handler runs; use it on the event loop only.

    function: the function's name; call_id: the call's id (int); state: what the module's
    ``init(function_name)`` returned for this worker slot (None without an init).
    """

    __slots__ = ("_slot", "_call", "function", "call_id", "state")

    def __init__(self, slot, call):
        self._slot = slot
        self._call = call
        self.function = slot.runtime.function
        self.call_id = call.header[P.H_CALL_ID]
        self.state = slot.state

    def traceparent(self):
        """The call's W3C traceparent, "00-<trace-id>-<span-id>-<flags>" (W3C Trace Context
        §3.2), with this call's own span id as parent-id: send it to outside services so
        their spans join the call's trace. Internal calls (invoke) carry the trace already."""
        return P.traceparent(self._call.trace, self.call_id)

    def remaining(self):
        """Seconds left before the call's deadline (0.0 once passed); math.inf without one."""
        deadline = self._call.header[P.H_DEADLINE_NS]
        if not deadline:
            return math.inf
        return max(0.0, (deadline - P.monotonic_ns()) / 1e9)

    def invoke(self, name, data=b""):
        """Calls function `name` with `data` (bytes-like or str, UTF-8): await it for the
        callee's output (bytes). The callee inherits this call's deadline. Several invokes
        may run at once (asyncio.gather). Raises InvokeError (status, message) when the call
        fails: unknown function (not found), deadline passed (timeout), callee failed,
        engine unreachable.

        A plain def returning the slot's coroutine, not an async def awaiting it: one
        coroutine per invoke instead of two (this is the hot path of every Python caller)."""
        return self._slot.invoke(self._call, name, data)

    def invoke_grpc(self, service, method, message=b""):
        """Calls `method` of the function that declares `grpc: <service>` with the request
        message's protobuf bytes; await it for the response message's bytes. Same fast path,
        deadline and errors as invoke() (not found: no function serves the service). The
        callee receives what a gRPC call through the gateway gives it:
        "/<service>/<method>\\n" + message (README, "Calling functions over gRPC")."""
        if isinstance(message, str):
            message = message.encode()
        head = f"/{service}/{method}\n".encode()
        return self._slot.invoke(self._call, "grpc:" + service, head + bytes(message))
