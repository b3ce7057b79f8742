"""Payload arenas (docs/protocol.md, "Payload arenas"; issue #16 item 3): payloads from one byte
over the inline limit (nj.INLINE_PAYLOAD + 1) to 64 KiB travel between the engine and native
workers in persistent per-channel arenas, larger ones and those for other runtimes in region files; every payload arrives intact, and once the
calls are answered no arena slot is left in use and no region file is left behind."""

import json
import os
import struct
import threading
from pathlib import Path

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect

ARENA_MAGIC = 0x616e65726171796e  # src/ipc/payload_arena.cc
ARENA_HEADER = 4096
SLOT_BYTES = 64 * 1024


def pattern(n: int, seed: int) -> bytes:
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(n))


def instance_dir(d) -> Path:
    dirs = [p for p in d.ipc_root.iterdir() if p.is_dir() and not p.name.endswith(".containers")]
    assert len(dirs) == 1, dirs
    return dirs[0]


def arenas(d) -> dict:
    """{file name: (slots, slots in use, bytes of payload pages allocated)} for every arena."""
    out = {}
    for p in (instance_dir(d) / "shm").glob("arena-*"):
        with open(p, "rb") as f:
            head = f.read(ARENA_HEADER)
        magic, slots, slot_bytes = struct.unpack_from("<QII", head, 0)
        assert magic == ARENA_MAGIC and slot_bytes == SLOT_BYTES, p
        tags = struct.unpack_from(f"<{slots}Q", head, 64)
        out[p.name] = (slots, sum(1 for t in tags if t), os.stat(p).st_blocks * 512 - ARENA_HEADER)
    return out


def region_files(d) -> list:
    return [p.name for p in (instance_dir(d) / "shm").iterdir() if not p.name.startswith("arena-")]


def assert_nothing_held(d) -> None:
    """Every slot free and no region left: waits, since a reader frees a slot just after the
    answer may have gone out (a callee's notice races the HTTP response)."""
    nj.wait_until(lambda: all(used == 0 for _, used, _ in arenas(d).values()) and not region_files(d),
                  5, f"arena slots and regions to be freed: {arenas(d)} {region_files(d)}")


SIZES = [nj.INLINE_PAYLOAD + 1, 1024, 4096, 16 * 1024, SLOT_BYTES, SLOT_BYTES + 1, 1 << 20]


def test_native_payloads_travel_in_arenas_and_leave_nothing_behind(tmp_path):
    fns = [nj.function("echo", max_workers=4), nj.function("relay", max_workers=8)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        names = set(arenas(d))
        assert "arena-0" in names and len(names) >= 3, names  # the engine's + one per worker
        for n in SIZES:
            data = pattern(n, n)
            expect(call(d, "echo", data), 200, data, dep=d)
            expect(call(d, "relay", b"echo:" + data), 200, data, dep=d)
            expect(call(d, "relay", b"relay/relay/echo:" + data), 200, data, dep=d)
        # The engine's arena carried the external inputs: its pages were written.
        assert arenas(d)["arena-0"][2] > 0, arenas(d)
        assert_nothing_held(d)


def test_concurrent_calls_share_the_arenas_without_mixing_payloads(tmp_path):
    fns = [nj.function("echo", max_workers=4), nj.function("relay", max_workers=8)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        errors = []

        def client(k: int) -> None:
            for i in range(15):
                data = pattern(nj.INLINE_PAYLOAD + 1 + (k * 977 + i * 4099) % (2 * SLOT_BYTES), k * 100 + i)
                target = "relay" if i % 2 else "echo"
                body = b"echo:" + data if target == "relay" else data
                r = call(d, target, body)
                if r.status != 200 or r.body != data:
                    errors.append((k, i, r.summary()))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[:3]
        assert_nothing_held(d)


def test_arena_payloads_cross_to_and_from_other_runtimes(tmp_path):
    # A native caller's arena input is moved to a region for a Python or Node.js callee, and
    # a native callee answers a Python or Node.js caller in a region.
    fns = [nj.function("echo", max_workers=4), nj.function("relay", max_workers=8),
           nj.python_function("py-echo", "examples/python/echo.py:handle"),
           nj.python_function("py-relay", "examples/python/relay.py:handle", max_workers=8),
           nj.node_function("node-echo", "examples/node/echo.js"),
           nj.node_function("node-relay", "examples/node/relay.js", max_workers=8)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for n in (nj.INLINE_PAYLOAD + 1, 16 * 1024, SLOT_BYTES):
            data = pattern(n, n + 1)
            for path in ("py-echo", "node-echo", "relay/py-echo", "relay/node-echo",
                         "py-relay/relay/echo", "node-relay/relay/echo",
                         "relay/py-relay/relay/node-relay/echo"):
                expect(call(d, "relay", path.encode() + b":" + data), 200, data, dep=d,
                       what=f"relay {path} with {n} bytes")
        assert_nothing_held(d)


@pytest.mark.parametrize("mode", ["managed", "unmanaged"])
def test_unread_input_of_an_expired_call_is_freed(tmp_path, mode):
    # A call that times out in the queue (or sent ahead to the busy worker, which then skips
    # it) never reads its input: the engine, or the worker skipping it, frees the slot.
    fns = [nj.function("slow", min_workers=1, max_workers=1, timeout_ms=10000, concurrency=mode)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        box = [None]
        running = threading.Thread(target=lambda: box.__setitem__(0, call(d, "slow", b"1500")))
        running.start()
        nj.wait_until(lambda: worker_busy(d), 10, "the slow call to run")
        for _ in range(3):
            r = call(d, "slow", b"0" * 4096, {"X-Nightjar-Timeout-Ms": "200"})
            expect(r, 504, dep=d)
        running.join(30)
        expect(box[0], 200, b"slept 1500ms", dep=d)
        assert_nothing_held(d)


def worker_busy(d) -> bool:
    r = nj.request(d, "GET", "/status")
    f = json.loads(r.body)["engines"][0]["functions"][0]
    return f["workers"]["running"] == 1


def test_a_dead_workers_arena_goes_with_it(tmp_path):
    # The arena of a worker that died is removed once none of its slots is in use (here at
    # once: the crash happens while nothing is held), so arenas do not pile up as workers
    # come and go.
    fns = [nj.function("crash", min_workers=1, max_workers=1), nj.function("echo", min_workers=1,
                                                                          max_workers=1)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        before = set(arenas(d))
        assert len(before) == 3, before  # the engine's, crash's and echo's
        for _ in range(3):
            r = call(d, "crash", b"crash")
            assert r.status == 502, r.summary()
            expect(call(d, "crash", b"x" * 2000), 200, b"alive", dep=d)  # the replacement
        nj.wait_until(lambda: len(arenas(d)) == 3, 5, f"dead workers' arenas to go: {arenas(d)}")
        now = set(arenas(d))
        assert "arena-0" in now and len(now - before) == 1, (before, now)
        assert_nothing_held(d)
