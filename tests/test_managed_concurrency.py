"""Managed concurrency and the worker lifecycle against the real binary (issue #3):
GET /status and `nightjar status`, pool growth and idle reaping, crash-loop back-off,
deadline propagation to child calls, launcher restart."""

import json
import os
import signal
import threading
import time

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect


def status(d) -> dict:
    r = nj.request(d, "GET", "/status")
    expect(r, 200, dep=d, what="GET /status")
    assert r.headers.get("content-type") == "application/json", r.headers
    body = json.loads(r.body)
    assert len(body["engines"]) == 1, body
    return {f["name"]: f for f in body["engines"][0]["functions"]}


def pool_size(fn: dict) -> int:
    w = fn["workers"]
    return w["starting"] + w["idle"] + w["running"] + w["blocked"]


def in_parallel(n: int, target) -> list:
    results = [None] * n

    def run(i):
        try:
            results[i] = target(i)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


def test_status_reports_pool_queue_target_and_counters(tmp_path):
    fns = [nj.function("echo", min_workers=2, max_workers=4, concurrency="managed"),
           nj.function("fail"),
           nj.function("slow", min_workers=1, max_workers=2)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for i in range(5):
            expect(call(d, "echo", f"x{i}"), 200, f"x{i}", dep=d)
        expect(call(d, "fail", b""), 502, dep=d)
        expect(call(d, "slow", b"1000", {"X-Nightjar-Timeout-Ms": "100"}), 504, dep=d)
        s = status(d)
        assert s["echo"]["calls"] == {"ok": 5, "failed": 0, "timed_out": 0, "direct": 0}, s["echo"]
        assert s["fail"]["calls"]["failed"] == 1, s["fail"]
        assert s["slow"]["calls"]["timed_out"] == 1, s["slow"]
        echo = s["echo"]
        assert echo["concurrency"] == "managed"
        # Sequential calls never need more than min_workers. (This was relaxed once: start-up
        # and the launcher's hello both started min_workers workers, a race now closed.)
        assert pool_size(echo) == 2 and echo["queued"] == 0, echo
        # At least min_workers, unless the machine bound (the cores) is lower; at most max.
        assert 1 <= echo["target"] <= 4, echo
        assert 0 < echo["cpu_share"] <= 1 and echo["cpu_bound"] >= 1, echo
        assert echo["prefetched"] == 0 and echo["handoff"]["count"] >= 0, echo
        assert echo["rate_per_s"] > 0 and echo["running_time_ms"] > 0, echo
        # The CLI shows the same numbers as a table.
        res = nj.run_cli(["status", "--url", d.url])
        assert res.returncode == 0, nj.cli_summary(res)
        lines = {ln.split()[0]: ln.split() for ln in res.stdout.decode().splitlines()[1:]}
        assert lines["echo"][9] == "5", res.stdout.decode()  # OK column
        res = nj.run_cli(["status", "--url", d.url, "--json"])
        assert res.returncode == 0 and json.loads(res.stdout)["engines"], nj.cli_summary(res)


def test_pool_grows_under_load_and_idle_workers_are_reaped(tmp_path):
    fns = [nj.function("slow", min_workers=1, max_workers=4, concurrency="unmanaged")]
    engine = {"worker_idle_timeout_ms": 500, "spawn_interval_ms": 20}
    with nj.nightjar_up(tmp_path, functions=fns, engine=engine) as d:
        grown = 0
        deadline = time.monotonic() + 20
        while grown < 3 and time.monotonic() < deadline:
            replies = in_parallel(4, lambda i: call(d, "slow", b"150"))
            assert all(r.status == 200 for r in replies), [r.summary() for r in replies]
            grown = max(grown, pool_size(status(d)["slow"]))
        assert grown >= 3, f"pool never grew past {grown} workers under 4 concurrent calls"
        nj.wait_until(lambda: pool_size(status(d)["slow"]) == 1, 15,
                      "idle workers above min_workers to be reaped")
        expect(call(d, "slow", b"1"), 200, b"slept 1ms", dep=d)


def test_managed_function_queues_beyond_its_target(tmp_path):
    # One function that sleeps, called 6 at a time: its calls want almost no CPU, so the
    # machine bound does not hold them to the core count; they wait in the engine queue
    # only while the pool grows (one worker per spawn interval), and every call is answered.
    fns = [nj.function("slow", min_workers=1, max_workers=8, concurrency="managed")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        seen_queue = 0

        def watch():
            nonlocal seen_queue
            end = time.monotonic() + 3
            while time.monotonic() < end:
                seen_queue = max(seen_queue, status(d)["slow"]["queued"])
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        replies = in_parallel(6, lambda i: call(d, "slow", b"200"))
        watcher.join()
        assert all(r.status == 200 and r.body == b"slept 200ms" for r in replies), \
            [r.summary() for r in replies]
        assert seen_queue >= 1, "no call ever waited in the engine queue"
        assert pool_size(status(d)["slow"]) <= 8


def test_crash_loop_backs_off_and_fails_fast(tmp_path):
    fns = [nj.test_function("start_crash"), nj.function("echo")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        start = time.monotonic()
        r = call(d, "start_crash", b"x")
        assert r.status == 503, r.summary()
        assert b"crashing" in r.body, r.summary()
        assert r.headers.get("retry-after") == "1", r.headers
        assert time.monotonic() - start < 5, "a crash-looping function must fail fast"
        s = status(d)["start_crash"]
        assert s["workers"]["idle"] == 0 and s["workers"]["running"] == 0, s
        expect(call(d, "echo", b"still fine"), 200, b"still fine", dep=d)


def test_deadline_travels_to_child_calls(tmp_path):
    # relay calls slow(5000); slow's own timeout is 60 s, so only the parent's 400 ms
    # deadline, passed down, can time the child out.
    fns = [nj.test_function("relay", timeout_ms=30000),
           nj.function("slow", timeout_ms=60000, min_workers=1, max_workers=2)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        r = call(d, "relay", b"slow:5000", {"X-Nightjar-Timeout-Ms": "400"})
        assert r.status == 504, r.summary()
        nj.wait_until(lambda: status(d)["slow"]["calls"]["timed_out"] == 1, 3,
                      "the child call to time out with its parent's deadline")
        # With time to spare, the relay reports what the child answered.
        expect(call(d, "relay", b"slow:5"), 200, b"NJ_OK:slept 5ms", dep=d)


def test_launcher_that_dies_is_restarted(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")]) as d:
        expect(call(d, "echo", b"before"), 200, b"before", dep=d)
        # Launchers are the engine's children (a worker between its launcher's fork and its
        # exec still shows the launcher's command line).
        launchers = [p for p in nj.processes_mentioning(str(d.ipc_root), exclude={d.process.pid})
                     if "launcher" in p.cmdline and p.ppid == d.process.pid]
        assert len(launchers) == 1, [(p.pid, p.cmdline) for p in launchers]
        os.kill(launchers[0].pid, signal.SIGKILL)

        def new_launchers():
            return [p for p in nj.processes_mentioning(str(d.ipc_root), exclude={d.process.pid})
                    if "launcher" in p.cmdline and p.ppid == d.process.pid
                    and p.pid != launchers[0].pid]

        nj.wait_until(lambda: len(new_launchers()) == 1, 10, "a new launcher for echo")
        r = call_until(d, "echo", b"after", 200, tolerate={502, 503, 504}, timeout_s=15,
                       headers={"X-Nightjar-Timeout-Ms": "2000"})
        assert r.body == b"after"


def test_worker_start_lost_with_its_launcher_is_asked_again(tmp_path):
    # A replacement worker asked of a launcher that dies before starting it: nothing will
    # ever report that worker, and a pool with a worker "starting" does not grow, so the
    # function was left without workers. The launcher is stopped (SIGSTOP) so that the
    # request reaches it and is never acted on, then killed.
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo", min_workers=1)]) as d:
        expect(call(d, "echo", b"before"), 200, b"before", dep=d)
        launchers = [p for p in nj.processes_mentioning(str(d.ipc_root), exclude={d.process.pid})
                     if "launcher" in p.cmdline and p.ppid == d.process.pid]
        assert len(launchers) == 1, [(p.pid, p.cmdline) for p in launchers]
        launcher = launchers[0].pid
        workers = nj.worker_pids(d.ipc_root, exclude={d.process.pid, launcher})
        assert len(workers) == 1, workers
        os.kill(launcher, signal.SIGSTOP)
        try:
            os.kill(workers[0], signal.SIGKILL)
            nj.wait_until(lambda: status(d)["echo"]["workers"]["starting"] == 1, 10,
                          "the engine to ask the stopped launcher for a replacement")
        finally:
            os.kill(launcher, signal.SIGKILL)
        r = call_until(d, "echo", b"after", 200, tolerate={502, 503, 504}, timeout_s=15,
                       headers={"X-Nightjar-Timeout-Ms": "2000"})
        assert r.body == b"after"
        s = status(d)["echo"]
        assert s["workers"]["starting"] == 0 and s["workers"]["idle"] == 1, s


def test_internal_caller_gets_a_clear_error_when_its_callee_dies(tmp_path):
    fns = [nj.test_function("relay"), nj.function("crash", min_workers=1, max_workers=1)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        r = expect(call(d, "relay", b"crash:crash"), 200, dep=d)
        assert r.body.startswith(b"NJ_ERR_WORKER_DIED:"), r.summary()
        assert b"exited while running the call" in r.body, r.summary()
        deadline = time.monotonic() + 10
        while True:  # the callee is replaced; meanwhile the child call may wait or fail
            r = expect(call(d, "relay", b"crash:x"), 200, dep=d)
            if r.body == b"NJ_OK:alive" or time.monotonic() > deadline:
                break
        assert r.body == b"NJ_OK:alive", r.summary()


def test_workers_run_at_engine_worker_nice(tmp_path):
    # engine.worker_nice lowers the workers' priority below the engine's, so that the
    # engine's I/O thread wins the CPU when both want it.
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo", min_workers=2)],
                        engine={"worker_nice": 7}) as d:
        expect(call(d, "echo", b"x"), 200, b"x", dep=d)
        pids = nj.worker_pids(d.ipc_root, exclude={d.process.pid})
        assert len(pids) == 2, pids
        own = int(open(f"/proc/{d.process.pid}/stat").read().rsplit(")", 1)[1].split()[16])
        for pid in pids:
            nice = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])
            assert nice == own + 7, (pid, nice, own)
