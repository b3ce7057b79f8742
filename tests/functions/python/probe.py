"""Python functions that exist only for the end-to-end tests (tests/test_python_runtime.py).
Each test deploys one of them with handler "probe.py:<name>"."""

import asyncio
import itertools
import os

import nightjar

_states = itertools.count(1)


def init(function_name):
    """Per-worker-slot state: a distinct id per slot and a call counter."""
    return {"id": next(_states), "calls": 0, "function": function_name}


def state(ctx, data):
    ctx.state["calls"] += 1
    return f"{ctx.state['function']}:{ctx.state['id']}:{ctx.state['calls']}"


def fail(ctx, data):
    raise ValueError("bad input: " + data.decode())


class Custom(BaseException):
    pass


def base_exception(ctx, data):
    """Raises what Exception does not cover: "exit" SystemExit(3), "cancel" CancelledError,
    anything else a custom BaseException."""
    if data == b"exit":
        raise SystemExit(3)
    if data == b"cancel":
        raise asyncio.CancelledError()
    raise Custom("not an Exception")


async def async_base_exception(ctx, data):
    await asyncio.sleep(0)
    base_exception(ctx, data)


def wrong_type(ctx, data):
    return 42


async def async_fail(ctx, data):
    await asyncio.sleep(0)
    raise RuntimeError("failed after awaiting")


def exit_mid_call(ctx, data):
    """"exit" ends the whole runtime process mid-call; anything else answers "alive:<pid>"."""
    if data == b"exit":
        os._exit(1)
    return f"alive:{os.getpid()}"


async def sleep(ctx, data):
    """"<ms>[:<file>]": appends this process's pid to <file> (so a test can see the call
    started), sleeps <ms>, answers the pid."""
    ms, _, path = data.decode().partition(":")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    await asyncio.sleep(int(ms) / 1000)
    return str(os.getpid())


def loop_kind(ctx, data):
    """The class of the event loop the runtime process runs on."""
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__}.{type(loop).__name__}"


def remaining(ctx, data):
    return f"{ctx.remaining():.3f}"


def whoami(ctx, data):
    return f"{ctx.function}:{os.getpid()}"


async def probe(ctx, data):
    """"<callee>:<payload>" -> "<status name>:<output or message>", always 200 (as the C++
    test relay): shows what a child call returned."""
    callee, _, payload = data.partition(b":")
    try:
        return b"ok:" + await ctx.invoke(callee.decode(), payload)
    except nightjar.InvokeError as e:
        return f"{e.status_name}:{e.message}"


async def gather(ctx, data):
    """"<n>:<callee>[:<payload>]": n concurrent invokes of <callee>, each with <payload> or
    else "<i>", outputs joined by ','."""
    n, callee, *payload = data.decode().split(":", 2)
    outputs = await asyncio.gather(
        *(ctx.invoke(callee, payload[0] if payload else str(i)) for i in range(int(n))))
    return b",".join(outputs)


_orphans = []


async def orphan(ctx, data):
    """Starts an invoke of <data> as a task and returns without awaiting it; "count" reports
    how many such tasks ended (cancelled or done) so far."""
    if data == b"count":
        return f"{sum(t.done() for t in _orphans)}/{len(_orphans)}"
    _orphans.append(asyncio.ensure_future(ctx.invoke(data.decode(), b"5000")))
    await asyncio.sleep(0)
    return b"left one behind"


_arrived = {}
_everyone_here = {}


async def rendezvous(ctx, data):
    """"<key>:<n>": returns "met <n>" once n calls with this key run at the same time in this
    process; a call that waits alone until its deadline times out. Proves concurrency
    without a timing assertion."""
    key, _, n = data.decode().partition(":")
    event = _everyone_here.setdefault(key, asyncio.Event())
    _arrived[key] = _arrived.get(key, 0) + 1
    if _arrived[key] >= int(n):
        event.set()
    await event.wait()
    return f"met {n}"


def connect(ctx, data):
    """"<host>:<port>": tries a TCP connection; "connected" or "error: <why>"."""
    import socket
    host, _, port = data.decode().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return "connected"
    except OSError as e:
        return f"error: {e}"


def write_file(ctx, data):
    """"<path>": tries to create the file; "wrote <path>" or "error: <why>"."""
    path = data.decode()
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("x")
        return f"wrote {path}"
    except OSError as e:
        return f"error: {e}"


def new_namespaces(ctx, data):
    """Tries to make new namespaces with unshare(2) and with clone(2): "unshare:<errno>
    clone:<errno>" (0 = it worked; a clone child exits at once)."""
    import ctypes
    import signal
    libc = ctypes.CDLL(None, use_errno=True)
    flags = 0x10000000 | 0x00020000  # CLONE_NEWUSER | CLONE_NEWNS
    out = []
    child = os.fork()  # unshare in a child, so this process keeps its namespaces
    if child == 0:
        os._exit(0 if libc.unshare(flags) == 0 else ctypes.get_errno())
    out.append(f"unshare:{os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])}")
    r = libc.syscall(56, flags | signal.SIGCHLD, 0, 0, 0, 0)  # clone on x86-64
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
    out.append(f"clone:{0 if r > 0 else ctypes.get_errno()}")
    return " ".join(out)


def _hello_request(name: bytes) -> bytes:
    # helloworld.HelloRequest{name}: field 1, length-delimited (names under 128 bytes).
    return b"\x0a" + bytes([len(name)]) + name


async def grpc_greet(ctx, data):
    """Internal gRPC call (tests/test_grpc.py): SayHello(HelloRequest{name: data}) on
    helloworld.Greeter; answers the HelloReply's bytes."""
    return await ctx.invoke_grpc("helloworld.Greeter", "SayHello", _hello_request(data))


def grpc_service(ctx, data):
    """A gRPC service in Python (tests/test_grpc.py): answers "<method>:<message>"."""
    path, _, message = data.partition(b"\n")
    return path.rpartition(b"/")[2] + b":" + message


async def traceparent(ctx, data):
    """"<f1>/<f2>/...": this call's traceparent, then (one per line) what calling f1 with
    "<f2>/..." returned; "" -> the traceparent alone (tests/test_tracing.py)."""
    own = ctx.traceparent().encode()
    if not data:
        return own
    first, _, rest = data.partition(b"/")
    return own + b"\n" + await ctx.invoke(first.decode(), rest)


def log_print(ctx, data):
    """Prints a line on stdout and one on stderr inside the call; answers the call id."""
    import sys
    token = data.decode()
    print("py out", token)
    print("py err", token, file=sys.stderr)
    return f"{ctx.call_id:016x}"


async def log_print_async(ctx, data):
    """As log_print, from an async handler after an await (the context follows the task)."""
    token = data.decode()
    await asyncio.sleep(0)
    print("py async", token, end="")  # no newline: ends with the call
    return f"{ctx.call_id:016x}"
