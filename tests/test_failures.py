"""Failures never hang and never leak (DESIGN.md §3, §6): a worker that crashes or is killed
fails its in-flight call with 502 and is replaced; a call past its deadline gets 504 and its
late result is dropped. Each test runs its own `nightjar up`, whose shutdown check (exit 0, no
leftover processes, empty IPC root) covers the leak part."""
import os
import signal
import threading
import time

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect

REPLACEMENT_DEADLINE_S = 10.0  # a crashed worker must be replaced within this


def test_crash_is_502_then_worker_is_replaced(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("crash", min_workers=1, max_workers=2),
                                             nj.function("echo")]) as d:
        expect(call(d, "crash", b"hi"), 200, b"alive", d, "crash(hi) before any crash")
        for round_ in range(3):
            r = call(d, "crash", b"crash")
            assert r.status == 502, \
                f"round {round_}: crashing call: expected 502, got {r.summary()}"
            assert r.body, f"round {round_}: 502 for a crashed worker must carry a message"
            # The next call may briefly see 503 while the worker is replaced; never another 502.
            call_until(d, "crash", b"hi", 200, tolerate={503}, timeout_s=REPLACEMENT_DEADLINE_S)
            expect(call(d, "crash", b"hi"), 200, b"alive", d, f"round {round_}: after replacement")
        # Other functions were never affected.
        expect(call(d, "echo", b"unaffected"), 200, b"unaffected", d, "echo after crashes")


def test_deadline_from_header_is_504_and_late_result_is_dropped(tmp_path):
    # One worker only, so the follow-up call must be served after (or instead of) the worker
    # that is still sleeping for the expired call: a misrouted late result would show up there.
    with nj.nightjar_up(tmp_path, functions=[nj.function("slow", min_workers=1, max_workers=1,
                                                         timeout_ms=30000)]) as d:
        start = time.monotonic()
        r = call(d, "slow", b"2000", headers={"X-Nightjar-Timeout-Ms": "200"})
        elapsed = time.monotonic() - start
        assert r.status == 504, \
            f"slow(2000) with a 200 ms deadline: expected 504, got {r.summary()}"
        assert elapsed < 1.9, (f"504 arrived after {elapsed:.2f}s: the deadline (200 ms) was not "
                               f"enforced before the function finished")
        r = call_until(d, "slow", b"10", 200, tolerate={503}, timeout_s=REPLACEMENT_DEADLINE_S)
        assert r.body == b"slept 10ms", \
            f"call after a timed-out one got {r.body!r}: the late result leaked into it"
        expect(call(d, "slow", b"20"), 200, b"slept 20ms", d, "second call after the timeout")


def test_deadline_from_function_timeout_ms_is_504(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("slow", min_workers=1, max_workers=2,
                                                         timeout_ms=300)]) as d:
        start = time.monotonic()
        r = call(d, "slow", b"2000")
        elapsed = time.monotonic() - start
        assert r.status == 504, f"slow(2000) with timeout_ms 300: expected 504, got {r.summary()}"
        assert elapsed < 1.9, f"504 arrived after {elapsed:.2f}s (timeout_ms: 300)"
        r = call_until(d, "slow", b"10", 200, tolerate={503}, timeout_s=REPLACEMENT_DEADLINE_S)
        assert r.body == b"slept 10ms", f"call after a timed-out one got {r.body!r}"


def test_worker_killed_mid_call_is_502_and_nothing_leaks(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("slow", min_workers=1, max_workers=1,
                                                         timeout_ms=60000)]) as d:
        assert nj.worker_pids(d.ipc_root, exclude={d.process.pid}), (
            f"no worker process has {d.ipc_root} on its command line; the test finds workers "
            f"that way\nprocesses: "
            f"{[(p.pid, p.cmdline) for p in nj.processes_mentioning(str(d.ipc_root))]}")
        result = {}

        def long_call():
            try:
                result["reply"] = call(d, "slow", b"20000", timeout_s=25)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                result["error"] = e

        caller = threading.Thread(target=long_call, name="slow-caller", daemon=True)
        caller.start()
        victim = nj.wait_for_sleeping_worker(d, prefer="slow", timeout_s=10)
        os.kill(victim, signal.SIGKILL)
        caller.join(timeout=20)
        assert not caller.is_alive(), \
            "the caller of a killed worker got no answer within 20 s (must be 502, not a hang)"
        assert "error" not in result, f"the caller of a killed worker failed: {result['error']!r}"
        r = result["reply"]
        assert r.status == 502, f"caller of a killed worker: expected 502, got {r.summary()}"
        assert r.body, "502 for a killed worker must carry a message"
        nj.wait_until(lambda: not os.path.exists(f"/proc/{victim}"), 10,
                      f"the killed worker {victim} to be reaped")
        r = call_until(d, "slow", b"10", 200, tolerate={503}, timeout_s=REPLACEMENT_DEADLINE_S)
        assert r.body == b"slept 10ms", f"call after the kill got {r.body!r}"
