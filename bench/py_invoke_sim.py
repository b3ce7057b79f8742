"""The Python runtime's invoke path in one process, for profiling it without the engine or
the machine's scheduling in the way (docs/performance.md, "Python runtime").

    /usr/bin/python3 bench/py_invoke_sim.py [RUNTIME_DIR] [CALLS] [REPEATS]

RUNTIME_DIR holds the `nightjar` package with its generated _wire.py (default
build/release/runtimes/python). A real Slot and Context make CALLS sequential
`await ctx.invoke("nop", b"")` on a stock asyncio loop; the "engine" is a reader callback on
the same loop that answers each INVOKE with a COMPLETE on the slot's input pipe. Prints wall
and CPU time per invoke, REPEATS times. Deterministic cost: run it under
`valgrind --tool=callgrind` with two CALLS values and divide the difference in instructions
by the difference in calls. The fake engine's own work (a read, an unpack, a pack, a write
and one more loop turn) is in every number.
"""

import asyncio
import os
import sys
import time


def run(calls, P, W, R, Context):
    loop = asyncio.new_event_loop()

    class FakeRuntime:  # the attributes of Runtime that Slot and Context read
        pass

    runtime = FakeRuntime()
    runtime.loop = loop
    runtime.function = "sim"
    runtime.functions = {"nop": 1}
    runtime.root = P.IpcRoot("/nonexistent")  # inline payloads only: never touched
    slot = R.Slot(runtime, 7, 3)
    to_engine_r, slot.out_fd = os.pipe()
    slot.in_fd, to_slot_w = os.pipe()
    os.set_blocking(slot.in_fd, False)
    loop.add_reader(slot.in_fd, slot.on_readable)

    complete = bytearray(W.MESSAGE_SIZE)

    def engine():
        invoke = P.HEADER.unpack_from(os.read(to_engine_r, W.MESSAGE_SIZE))
        values = [0] * len(W.HEADER_FIELDS)
        values[P.H_TYPE] = W.MSG_COMPLETE
        values[P.H_CALL_ID] = invoke[P.H_CALL_ID]
        P.HEADER.pack_into(complete, 0, *values)
        os.write(to_slot_w, complete)

    loop.add_reader(to_engine_r, engine)
    parent = [0] * len(W.HEADER_FIELDS)
    parent[P.H_CALL_ID] = 99
    call = R.Call(tuple(parent), b"", 0)
    slot.current = call
    ctx = Context(slot, call)

    async def caller():
        for _ in range(calls):
            await ctx.invoke("nop", b"")

    wall0, cpu0 = time.perf_counter(), time.process_time()
    loop.run_until_complete(caller())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    for fd in (to_engine_r, slot.out_fd, slot.in_fd, to_slot_w):
        os.close(fd)
    loop.close()
    print(f"{wall / calls * 1e6:.2f} us wall, {cpu / calls * 1e6:.2f} us CPU per invoke "
          f"({calls} calls)")


def main(argv):
    runtime_dir = argv[1] if len(argv) > 1 else "build/release/runtimes/python"
    calls = int(argv[2]) if len(argv) > 2 else 50000
    repeats = int(argv[3]) if len(argv) > 3 else 3
    sys.path.insert(0, runtime_dir)
    from nightjar import _protocol as P, _runtime as R, _wire as W
    from nightjar._api import Context
    for _ in range(repeats):
        run(calls, P, W, R, Context)


if __name__ == "__main__":
    main(sys.argv)
