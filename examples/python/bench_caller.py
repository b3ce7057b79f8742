"""py-bench_caller: times internal calls from inside a Python function; the Python twin of
examples/cpp/bench_caller.cc, driven by the harness (bench/python_calls.cc,
docs/performance.md).

Input: "callee=<name> n=<calls> [bytes=<input size>] [arg=<input prefix>]" (space-separated
key=value pairs; unknown keys are ignored, but the C++ caller's fanout= is refused rather
than silently measured as fan-out 1). Makes `n` sequential awaited invokes of `callee`
with an input of `bytes` bytes that starts with `arg`, and times each with
time.monotonic_ns (CLOCK_MONOTONIC, as the C++ caller) around the invoke only. Output: n
little-endian uint32 call times in ns, clamped to 2**32 - 1. Fails (502) on bad input or on
the first failed child (the message names the round and the child's status).
"""

import array
import sys
import time

import nightjar

_MAX_CALLS = 10_000_000
_MAX_BYTES = 64 << 20
_MAX_SAMPLE = 0xFFFFFFFF
_USAGE = "input must be callee=<name> n=<calls> [bytes=<size>] [arg=<prefix>]"


def _args(data):
    args = {}
    for item in data.decode().split():
        key, eq, value = item.partition("=")
        if eq:
            args.setdefault(key, value)  # the first occurrence wins, as in bench_util.h
    return args


def _number(args, key, fallback, maximum):
    text = args.get(key)
    if text is None:
        return fallback
    if not text.isdigit() or int(text) > maximum:
        raise ValueError(f"bench_caller: {key}={text}: {_USAGE}")
    return int(text)


async def handle(ctx, data):
    args = _args(data)
    callee = args.get("callee", "")
    n = _number(args, "n", 1, _MAX_CALLS)
    size = _number(args, "bytes", 0, _MAX_BYTES)
    if not callee or "fanout" in args:
        raise ValueError(f"bench_caller: {_USAGE}")
    prefix = args.get("arg", "").encode()
    child_input = prefix + b"x" * (size - len(prefix)) if len(prefix) < size else prefix

    samples = array.array("I", bytes(4 * n))
    assert samples.itemsize == 4
    invoke = ctx.invoke
    now = time.monotonic_ns
    for i in range(n):
        start = now()
        try:
            await invoke(callee, child_input)
        except nightjar.InvokeError as e:
            raise RuntimeError(f"bench_caller: round {i} failed: {e}") from None
        samples[i] = min(now() - start, _MAX_SAMPLE)
    if sys.byteorder != "little":
        samples.byteswap()
    return samples.tobytes()
