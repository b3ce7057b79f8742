"""Python functions (runtime: python, issue 9): the examples, the API (invoke, gather,
remaining, init state, errors), slots sharing a runtime process, a runtime process dying
mid-call, deadlines in and out of Python, and idle slots retired. docs/runtimes.md."""
import array
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect

REPLACEMENT_DEADLINE_S = 15.0


def examples(**extra):
    """The Python examples, the C++ relay and echo (relay chains mix them), and fail."""
    return [nj.python_function("py-hello", "examples/python/hello.py:handle"),
            nj.python_function("py-echo", "examples/python/echo.py:handle", max_workers=8),
            nj.python_function("py-relay", "examples/python/relay.py:handle", max_workers=8),
            nj.function("relay", max_workers=8), nj.function("echo"), nj.function("fail"),
            nj.function("slow", timeout_ms=60000)] + [
        nj.python_function(name, f"probe.py:{handler}", **options)
        for name, (handler, options) in extra.items()]


def test_hello_and_echo_sizes(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        expect(call(d, "py-hello", b"Ada"), 200, b"Hello, Ada!", d)
        expect(call(d, "py-hello", b""), 200, b"Hello, world!", d)
        for size in (0, 1, nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, 4096, nj.MIB, 16 * nj.MIB):
            data = os.urandom(size)
            expect(call(d, "py-echo", data, timeout_s=60), 200, data, d, f"py-echo of {size} bytes")


def test_relays_mix_python_and_cpp_in_both_directions(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        cases = [
            ("py-relay", b"relay/py-relay/echo:hi", b"hi"),
            ("relay", b"py-relay/relay/py-echo:hi", b"hi"),
            ("py-relay", b"py-relay/py-relay/py-echo:deep", b"deep"),
            ("relay", b"py-relay/echo:x", b"x"),
            ("py-relay", b"relay/py-relay/relay/echo:y", b"y"),
            ("py-relay", b":data", b"data"),
            ("py-relay", b":", b""),
            ("relay", b":a:b", b"a:b"),
        ]
        for name, data, want in cases:
            expect(call(d, name, data), 200, want, d, f"{name}({data!r})")
        big = os.urandom(3 * nj.MIB)
        expect(call(d, "py-relay", b"relay/py-echo:" + big, timeout_s=60), 200, big, d,
               "3 MiB through py-relay -> relay -> py-echo")
        # A callee's failure is passed on: 502 with the callee's own message, at every hop.
        for name, data in (("py-relay", b"fail:x"), ("relay", b"py-relay/fail:x"),
                           ("py-relay", b"relay/py-relay/fail:x")):
            expect(call(d, name, data), 502, b"fail: requested failure\n", d, f"{name}({data!r})")
        r = call(d, "py-relay", b"no-such-function:x")
        assert r.status == 502 and b"no-such-function" in r.body, r.summary()
        r = call(d, "py-relay", b"no colon")
        assert r.status == 502 and b"ValueError" in r.body, r.summary()


def test_exception_and_bad_return_are_502_with_the_message(tmp_path):
    fns = examples(**{"py-fail": ("fail", {}), "py-async-fail": ("async_fail", {}),
                      "py-wrong-type": ("wrong_type", {})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "py-fail", b"x"), 502, b"ValueError: bad input: x\n", d)
        expect(call(d, "py-async-fail", b""), 502, b"RuntimeError: failed after awaiting\n", d)
        r = call(d, "py-wrong-type", b"")
        assert r.status == 502 and r.body.startswith(b"TypeError: handler returned int"), r.summary()
        # The process survived all of it.
        expect(call(d, "py-fail", b"again"), 502, b"ValueError: bad input: again\n", d)


def test_base_exceptions_are_502_and_never_cost_a_slot(tmp_path):
    # One slot each: a call that lost its slot would leave the next one waiting (504).
    fns = examples(**{"py-base": ("base_exception", {"min_workers": 1, "max_workers": 1}),
                      "py-async-base": ("async_base_exception",
                                        {"min_workers": 1, "max_workers": 1})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for name in ("py-base", "py-async-base"):
            for _ in range(3):
                expect(call(d, name, b"exit"), 502, b"SystemExit: 3\n", d, name)
                expect(call(d, name, b"cancel"), 502, b"CancelledError\n", d, name)
                expect(call(d, name, b"x"), 502, b"Custom: not an Exception\n", d, name)


def test_gather_of_8_invokes_runs_them_concurrently(tmp_path):
    # rendezvous answers only when all 8 of its calls run at once (one runtime process, 8
    # slots): sequential invokes would leave the first one waiting until its deadline.
    fns = examples(**{"py-gather": ("gather", {}),
                      "py-meet": ("rendezvous", {"min_workers": 8, "max_workers": 8,
                                                 "slots_per_process": 8})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "py-gather", b"8:py-echo"), 200, b"0,1,2,3,4,5,6,7", d)
        expect(call(d, "py-gather", b"8:echo"), 200, b"0,1,2,3,4,5,6,7", d)
        expect(call(d, "py-gather", b"8:py-meet:g:8"), 200, b",".join([b"met 8"] * 8), d)


def test_an_invoke_left_running_by_a_finished_call_is_cancelled(tmp_path):
    fns = examples(**{"py-orphan": ("orphan", {"min_workers": 1, "max_workers": 1})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "py-orphan", b"slow"), 200, b"left one behind", d)
        expect(call(d, "py-orphan", b"count"), 200, b"1/1", d)


def test_slots_share_runtime_processes_and_state_is_per_slot(tmp_path):
    fns = examples(**{"py-state": ("state", {"min_workers": 1, "max_workers": 1}),
                      "py-who": ("whoami", {"min_workers": 8, "max_workers": 8,
                                            "slots_per_process": 4})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for n in (1, 2, 3):
            expect(call(d, "py-state", b""), 200, f"py-state:1:{n}".encode(), d)
        # 8 slots, 4 per process: two runtime processes serve py-who.
        pids = set()
        with ThreadPoolExecutor(16) as pool:
            for r in pool.map(lambda _: call(d, "py-who", b""), range(64)):
                assert r.status == 200 and r.body.startswith(b"py-who:"), r.summary()
                pids.add(int(r.body.split(b":")[1]))
        assert 1 <= len(pids) <= 2, f"py-who answered from {len(pids)} processes: {pids}"
        who = [p for p in nj.runtime_pids(d.ipc_root)
               if "py-who" in (nj.read_proc(p).cmdline if nj.read_proc(p) else "")]
        assert len(who) == 2, (f"expected 2 runtime processes for 8 slots of 4, found "
                               f"{[(p, nj.read_proc(p)) for p in who]}\n{d.process.stderr_text()}")


def test_200_concurrent_calls_to_one_python_function(tmp_path):
    fns = examples()
    fns[1] = nj.python_function("py-echo", "examples/python/echo.py:handle", max_workers=8,
                                slots_per_process=4)
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        def one(i):
            data = f"call {i} ".encode() * (1 + i % 300)  # 7 B .. 3 KB: inline and shm
            return data, call(d, "py-echo", data, timeout_s=60)

        with ThreadPoolExecutor(200) as pool:
            results = list(pool.map(one, range(200)))
        for data, r in results:
            expect(r, 200, data, d)


def test_bench_functions_time_each_call_both_ways(tmp_path):
    """examples/python/bench_caller.py and nop.py, as the benchmark harness deploys them."""
    fns = [nj.python_function("py-bench_caller", "examples/python/bench_caller.py:handle"),
           nj.python_function("py-nop", "examples/python/nop.py:handle", min_workers=2,
                              max_workers=2, slots_per_process=2),
           nj.function("nop"), nj.function("bench_caller")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "py-nop", b"anything"), 200, b"", d)
        for caller, callee in (("py-bench_caller", "nop"), ("py-bench_caller", "py-nop"),
                               ("bench_caller", "py-nop")):
            r = expect(call(d, caller, f"callee={callee} n=50 bytes=100".encode()), 200, None, d)
            samples = array.array("I", r.body)
            assert len(samples) == 50 and all(0 < s < 10**9 for s in samples), (caller, callee,
                                                                               samples)
        r = call(d, "py-bench_caller", b"callee=no-such-function n=3")
        assert r.status == 502 and b"round 0 failed: not found" in r.body, r.summary()
        r = call(d, "py-bench_caller", b"n=3")
        assert r.status == 502 and b"ValueError: bench_caller: input must be" in r.body, r.summary()


def test_runtime_process_that_exits_mid_call_is_502_and_replaced(tmp_path):
    fns = examples(**{"py-exit": ("exit_mid_call", {"min_workers": 1, "max_workers": 2})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        before = call(d, "py-exit", b"hi")
        assert before.status == 200 and before.body.startswith(b"alive:"), before.summary()
        for round_ in range(3):
            r = call(d, "py-exit", b"exit")
            assert r.status == 502 and r.body, f"round {round_}: {r.summary()}"
            # The next call succeeds (issue 9): it waits for the replacement if need be.
            after = call(d, "py-exit", b"hi")
            assert after.status == 200, f"round {round_}: {after.summary()}"
            assert after.body.startswith(b"alive:"), after.summary()
            assert after.body != before.body, "the dead runtime process answered again"


def test_killed_runtime_process_fails_exactly_the_calls_it_held(tmp_path):
    # 4 slots in 2 processes, 4 sleeping calls: killing one process fails its 2 calls only.
    fns = examples(**{"py-sleep": ("sleep", {"min_workers": 4, "max_workers": 4,
                                             "slots_per_process": 2, "timeout_ms": 60000})})
    started = tmp_path / "started"
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        nj.wait_until(lambda: len(nj.runtime_pids(d.ipc_root)) >= 3, 10,
                      "2 py-sleep runtime processes (+ the examples')")
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(call, d, "py-sleep", f"8000:{started}".encode(), None, 30)
                       for _ in range(4)]
            nj.wait_until(lambda: started.exists() and len(started.read_text().split()) == 4, 10,
                          "4 sleeping py-sleep calls")
            pids = [int(p) for p in started.read_text().split()]
            assert len(set(pids)) == 2, f"4 calls in 2 processes of 2 slots, got pids {pids}"
            victim = pids[0]
            os.kill(victim, signal.SIGKILL)
            replies = [f.result() for f in futures]
        failed = [r for r in replies if r.status == 502]
        ok = [r for r in replies if r.status == 200]
        assert len(failed) == 2 and len(ok) == 2, [r.summary() for r in replies]
        assert all(int(r.body) != victim for r in ok), [r.summary() for r in replies]
        call_until(d, "py-sleep", b"1", 200, tolerate={503}, timeout_s=REPLACEMENT_DEADLINE_S)


def test_deadlines_propagate_into_and_out_of_python(tmp_path):
    fns = examples(**{"py-sleep": ("sleep", {"min_workers": 1, "max_workers": 1,
                                             "timeout_ms": 60000}),
                      "py-remaining": ("remaining", {}),
                      "py-probe": ("probe", {"timeout_ms": 60000})})
    fns.append(nj.test_function("cpp-probe", timeout_ms=60000) | {
        "handler": nj.test_function("relay")["handler"]})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        # Into Python: the header's deadline reaches ctx.remaining() ...
        r = call(d, "py-remaining", b"", headers={"X-Nightjar-Timeout-Ms": "2000"})
        assert r.status == 200 and 0.0 < float(r.body) <= 2.0, r.summary()
        # ... and a handler past it is stopped: 504, and its only slot serves the next call.
        expect(call(d, "py-sleep", b"20000", headers={"X-Nightjar-Timeout-Ms": "300"}), 504,
               dep=d)
        r = call_until(d, "py-sleep", b"5", 200, tolerate={503}, timeout_s=10)
        # Out of Python: a C++ callee inherits the Python caller's deadline.
        r = call(d, "py-probe", b"slow:20000", headers={"X-Nightjar-Timeout-Ms": "400"})
        assert r.status in (200, 504), r.summary()
        if r.status == 200:
            assert r.body.startswith(b"timeout:"), r.summary()
        expect(call(d, "py-probe", b"slow:5"), 200, b"ok:slept 5ms", d)
        expect(call(d, "py-probe", b"nope:x"), 200, b"not found:no function named 'nope'", d)
        # C++ into Python: the Python callee inherits the C++ caller's deadline.
        r = call(d, "cpp-probe", b"py-remaining:", headers={"X-Nightjar-Timeout-Ms": "3000"})
        assert r.status == 200 and r.body.startswith(b"NJ_OK:"), r.summary()
        assert 0.0 < float(r.body[len(b"NJ_OK:"):]) <= 3.0, r.summary()
        r = call(d, "cpp-probe", b"py-sleep:20000", headers={"X-Nightjar-Timeout-Ms": "400"})
        assert r.status in (200, 504), r.summary()
        if r.status == 200:
            assert r.body.startswith(b"NJ_ERR_TIMEOUT"), r.summary()


def test_idle_slots_are_retired_and_their_process_goes(tmp_path):
    fns = examples(**{"py-sleep": ("sleep", {"min_workers": 0, "max_workers": 4,
                                             "slots_per_process": 2})})
    with nj.nightjar_up(tmp_path, functions=fns,
                        engine={"worker_idle_timeout_ms": 300}) as d:
        def sleepers():
            return [p for p in nj.runtime_pids(d.ipc_root)
                    if "py-sleep" in (nj.read_proc(p).cmdline if nj.read_proc(p) else "")]

        with ThreadPoolExecutor(4) as pool:
            for r in pool.map(lambda _: call(d, "py-sleep", b"300"), range(4)):
                expect(r, 200, dep=d)
        assert len(sleepers()) == 2, f"4 slots of 2 should be 2 processes: {sleepers()}"
        # The engine keeps one worker (min_workers 0 counts as 1): the other process goes.
        nj.wait_until(lambda: len(sleepers()) == 1, 15,
                      "3 idle py-sleep slots retired and their empty process stopped")
        expect(call(d, "py-sleep", b"1"), 200, dep=d)  # and a new one starts on demand


def test_a_handler_that_cannot_load_fails_calls_fast(tmp_path):
    fns = examples(**{"py-missing": ("no_such_handler", {})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        r = call(d, "py-missing", b"x", timeout_s=30)
        assert r.status == 503, r.summary()
        expect(call(d, "py-hello", b"still"), 200, b"Hello, still!", d)


def test_config_errors_name_the_key(tmp_path):
    cases = [
        ({"runtime": "python", "handler": "examples/python/hello.py"}, "handler"),
        ({"runtime": "python", "handler": "examples/python/nope.py:handle"}, "does not exist"),
        ({"runtime": "python", "handler": "examples/python/hello.py:1bad"}, "handler"),
        ({"runtime": "python", "handler": "examples/python/hello.py:handle",
          "interpreter": "/nonexistent/python3"}, "interpreter"),
        ({"runtime": "cpp", "handler": "x", "slots_per_process": 2}, "slots_per_process"),
        ({"runtime": "ruby", "handler": "x"}, "runtime"),
    ]
    for i, (entry, want) in enumerate(cases):
        handler = entry["handler"]
        if handler.startswith("examples/"):
            entry = entry | {"handler": str(nj.REPO_ROOT / handler)}
        fn = {"name": "f"} | entry
        if fn["runtime"] == "cpp" and fn["handler"] == "x":
            fn["handler"] = nj.function("echo")["handler"]
        config = nj.write_config(tmp_path / f"bad{i}.yaml",
                                 nj.make_config(tmp_path / "ipc", functions=[fn]))
        p = nj.subprocess.run([str(nj.nightjar_bin()), "up", str(config)], capture_output=True,
                              text=True, timeout=30)
        assert p.returncode != 0, f"{entry}: nightjar up accepted it"
        assert want in p.stderr + p.stdout, f"{entry}: error does not mention {want!r}:\n{p.stderr}"


def test_event_loop_is_uvloop_when_installed_and_asyncio_on_request(tmp_path):
    has_uvloop = nj.subprocess.run(["/usr/bin/python3", "-c", "import uvloop"]).returncode == 0
    fns = [nj.python_function("py-loop", "probe.py:loop_kind")]
    with nj.nightjar_up(tmp_path / "default", functions=fns) as d:
        r = expect(call(d, "py-loop", b""), 200, dep=d)
        assert r.body.startswith(b"uvloop." if has_uvloop else b"asyncio."), r.body
    env = dict(os.environ, NIGHTJAR_PYTHON_EVENT_LOOP="asyncio")
    with nj.nightjar_up(tmp_path / "asyncio", functions=fns, env=env) as d:
        r = expect(call(d, "py-loop", b""), 200, dep=d)
        assert r.body.startswith(b"asyncio."), r.body
