"""Calls that are already answered leave the queue (issue #8, item 3): a call whose deadline
passes while it waits in the engine queue frees its queue slot at once, and neither it nor
an abandoned running call feeds the concurrency estimator."""

import json
import threading
import time

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect


def status(d) -> dict:
    r = nj.request(d, "GET", "/status")
    expect(r, 200, dep=d, what="GET /status")
    return {f["name"]: f for f in json.loads(r.body)["engines"][0]["functions"]}


def start_call(d, name: str, data: bytes, headers=None) -> tuple:
    """Runs call() on a thread; returns (thread, box) where box[0] is the reply."""
    box = [None]

    def run():
        box[0] = call(d, name, data, headers)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


@pytest.mark.parametrize("mode", ["managed", "unmanaged"])
def test_expired_queued_calls_free_their_queue_slots(tmp_path, mode):
    # The exact case of the issue: max_queue 3, one worker, one slow call running, three
    # queued calls that time out. Before the fix the next call got 503 "queue full" and
    # /status showed queued: 3 with nobody waiting.
    fns = [nj.function("slow", min_workers=1, max_workers=1, timeout_ms=10000, concurrency=mode)]
    with nj.nightjar_up(tmp_path, functions=fns, engine={"max_queue": 3}) as d:
        running, running_box = start_call(d, "slow", b"2500")
        nj.wait_until(lambda: status(d)["slow"]["workers"]["running"] == 1, 10,
                      "the slow call to be running")
        queued = [start_call(d, "slow", b"1", {"X-Nightjar-Timeout-Ms": "300"})
                  for _ in range(3)]
        for t, box in queued:
            t.join(10)
            assert box[0] is not None and box[0].status == 504, box[0] and box[0].summary()
        s = status(d)["slow"]
        assert s["queued"] == 0, s
        assert s["calls"]["timed_out"] == 3, s
        # The queue has room again: the next call waits for the worker, then runs.
        expect(call(d, "slow", b"1"), 200, b"slept 1ms", dep=d)
        running.join(10)
        expect(running_box[0], 200, b"slept 2500ms", dep=d)
        assert status(d)["slow"]["queued"] == 0


def test_abandoned_running_call_does_not_feed_the_estimate(tmp_path):
    # A call answered by its deadline keeps its worker busy until the function returns;
    # its running time (here 1.5 s) says nothing about the function's normal calls.
    fns = [nj.function("slow", min_workers=1, max_workers=1, timeout_ms=10000,
                       concurrency="managed")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for _ in range(3):
            expect(call(d, "slow", b"10"), 200, b"slept 10ms", dep=d)
        expect(call(d, "slow", b"1500", {"X-Nightjar-Timeout-Ms": "200"}), 504, dep=d)
        # This call waits for the abandoned one to finish, then runs.
        expect(call(d, "slow", b"10"), 200, b"slept 10ms", dep=d)
        s = status(d)["slow"]
        assert s["calls"] == {"ok": 4, "failed": 0, "timed_out": 1, "direct": 0}, s
        assert s["running_time_ms"] < 200, s


def test_expired_calls_leave_the_queue_under_a_burst(tmp_path):
    # Many queued calls expiring at once: every one is answered, and the queue is empty
    # as soon as they are.
    fns = [nj.function("slow", min_workers=1, max_workers=1, timeout_ms=10000)]
    with nj.nightjar_up(tmp_path, functions=fns, engine={"max_queue": 50}) as d:
        running, running_box = start_call(d, "slow", b"2000")
        nj.wait_until(lambda: status(d)["slow"]["workers"]["running"] == 1, 10,
                      "the slow call to be running")
        waiting = [start_call(d, "slow", b"1", {"X-Nightjar-Timeout-Ms": str(200 + 10 * i)})
                   for i in range(20)]
        for t, box in waiting:
            t.join(10)
            assert box[0] is not None and box[0].status == 504, box[0] and box[0].summary()
        assert status(d)["slow"]["queued"] == 0
        running.join(10)
        expect(running_box[0], 200, b"slept 2000ms", dep=d)


def test_prefetched_call_that_expires_is_skipped(tmp_path):
    # Short calls make the engine send a waiting call ahead to the busy worker (prefetch).
    # If its deadline passes while it waits there, it is answered at once, stops counting
    # as queued, and the worker skips it instead of running it late.
    fns = [nj.function("slow", min_workers=1, max_workers=1, timeout_ms=10000)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for _ in range(5):
            expect(call(d, "slow", b"0"), 200, b"slept 0ms", dep=d)
        running, running_box = start_call(d, "slow", b"2500")
        nj.wait_until(lambda: status(d)["slow"]["workers"]["running"] == 1, 10,
                      "the slow call to be running")
        # Were it run, this call would hold the one worker for 3 s after the slow one.
        waiting, waiting_box = start_call(d, "slow", b"3000", {"X-Nightjar-Timeout-Ms": "1000"})
        nj.wait_until(lambda: status(d)["slow"]["prefetched"] == 1, 0.9,
                      "the waiting call to be sent ahead to the busy worker")
        waiting.join(10)
        expect(waiting_box[0], 504, dep=d)
        s = status(d)["slow"]
        assert s["queued"] == 0 and s["prefetched"] == 0, s
        running.join(10)
        expect(running_box[0], 200, b"slept 2500ms", dep=d)
        # The worker skipped the expired call and serves the next one at once.
        start = time.monotonic()
        expect(call(d, "slow", b"0"), 200, b"slept 0ms", dep=d)
        assert time.monotonic() - start < 2.0, "the worker ran the expired call"
        s = status(d)["slow"]
        assert s["calls"] == {"ok": 7, "failed": 0, "timed_out": 1, "direct": 0}, s
        assert s["queued"] == 0 and s["workers"]["running"] == 0, s
