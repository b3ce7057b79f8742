"""Go functions (runtime: go, issue 11): the examples, the API (Invoke, InvokeContext,
concurrent invokes from goroutines, Call.Context's deadline, per-slot state, errors and
panics), relays mixing Go, Node.js, Python and C++, a process that exits mid-call, 200
concurrent calls, config errors. docs/runtimes.md; test-only behaviours in
tests/functions/go/probe.go (chosen by the function's name)."""
import array
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect


def examples(*probes, **probe_options):
    """The Go examples and the relays and echoes of the other languages, plus probe
    functions: each name in probes is deployed as the probe binary (its last word says what
    it does); probe_options maps a name (with '_' for '-') to extra options."""
    fns = [nj.go_function("go-hello", "examples/hello"),
           nj.go_function("go-echo", "examples/echo", max_workers=8, max_payload_bytes=16 * nj.MIB),
           nj.go_function("go-relay", "examples/relay", max_workers=8),
           nj.node_function("node-relay", "examples/node/relay.js#handle", max_workers=8),
           nj.node_function("node-echo", "examples/node/echo.js"),
           nj.python_function("py-relay", "examples/python/relay.py:handle", max_workers=8),
           nj.python_function("py-echo", "examples/python/echo.py:handle"),
           nj.function("relay", max_workers=8), nj.function("echo"), nj.function("fail"),
           nj.function("slow", timeout_ms=60000)]
    for name in probes:
        fns.append(nj.go_function(name, "probe", **probe_options.get(name.replace("-", "_"), {})))
    return fns


def test_hello_and_echo_sizes(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        expect(call(d, "go-hello", b"Ada"), 200, b"Hello, Ada!", d)
        expect(call(d, "go-hello", b""), 200, b"Hello, world!", d)
        for size in (0, 1, nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, 4096, 100 * 1024, nj.MIB, 16 * nj.MIB):
            data = os.urandom(size)
            expect(call(d, "go-echo", data, timeout_s=60), 200, data, d, f"go-echo of {size} B")


def test_relays_mix_go_with_node_python_and_cpp(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        expect(call(d, "go-relay", b"node-relay/py-relay/relay/go-relay/echo:hi"), 200, b"hi", d)
        relays = ("relay", "py-relay", "node-relay", "go-relay")
        for order in itertools.permutations(relays):
            if order[0] != "go-relay" and "go-relay" not in order[1:]:
                continue
            first, rest = order[0], "/".join(order[1:])
            for leaf in ("echo", "go-echo"):
                data = f"{rest}/{leaf}:{first}-{leaf}".encode()
                expect(call(d, first, data), 200, f"{first}-{leaf}".encode(), d, f"{first}({data!r})")
        big = os.urandom(3 * nj.MIB)
        expect(call(d, "go-relay", b"py-relay/go-relay/relay/go-echo:" + big, timeout_s=60), 200,
               big, d, "3 MiB through go-relay -> py-relay -> go-relay -> relay -> go-echo")
        for name, data in (("go-relay", b"fail:x"), ("relay", b"go-relay/fail:x"),
                           ("node-relay", b"go-relay/py-relay/fail:x")):
            expect(call(d, name, data), 502, b"fail: requested failure\n", d, f"{name}({data!r})")
        # The same answers as every other relay for an unknown callee and empty names.
        expect(call(d, "go-relay", b"no-such-function:x"), 502,
               b"no function named 'no-such-function'\n", d)
        for bad in (b"echo/:x", b"/echo:x", b"echo//echo:x"):
            r = call(d, "go-relay", bad)
            assert r.status == 502 and b"empty function name" in r.body, (bad, r.summary())
        expect(call(d, "go-relay", b":data"), 200, b"data", d)
        r = call(d, "go-relay", b"no colon")
        assert r.status == 502 and b"input must be" in r.body, r.summary()


def test_errors_and_panics_are_502_and_the_process_survives(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples("go-fail", "go-panic", "go-whoami")) as d:
        expect(call(d, "go-fail", b"x"), 502, b"bad input: x\n", d)
        before = call(d, "go-panic", b"")
        for i in range(3):
            expect(call(d, "go-panic", f"{i}".encode()), 502, f"panic: boom: {i}\n".encode(), d)
        expect(call(d, "go-fail", b"again"), 502, b"bad input: again\n", d)
        assert before.status == 502, before.summary()
        # Still the same process: a panic fails the call, not the runtime.
        pids = nj.runtime_pids(d.ipc_root)
        r = expect(call(d, "go-whoami", b""), 200, None, d)
        assert r.body.startswith(b"go-whoami:"), r.summary()
        assert nj.runtime_pids(d.ipc_root) == pids


def test_big_outputs_go_through_shared_memory(tmp_path):
    fns = examples("go-big", go_big={"max_payload_bytes": 8 * nj.MIB})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for n in (nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, 100 * 1024, 5 * nj.MIB):
            expect(call(d, "go-big", str(n).encode(), timeout_s=60), 200, b"b" * n, d, f"{n} B")
        # Past the function's max_payload_bytes.
        r = call(d, "go-big", str(9 * nj.MIB).encode(), timeout_s=60)
        assert r.status == 413, r.summary()


def test_concurrent_invokes_from_goroutines(tmp_path):
    fns = examples("go-gather", "go-meet",
                   go_meet={"min_workers": 8, "max_workers": 8, "slots_per_process": 8})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for callee in ("go-echo", "py-echo", "node-echo", "echo"):
            expect(call(d, "go-gather", f"8:{callee}".encode()), 200, b"0,1,2,3,4,5,6,7", d)
        # Answers only when all 8 invokes run at once (in one process of 8 slots).
        expect(call(d, "go-gather", b"8:go-meet:g:8"), 200, b",".join([b"met 8"] * 8), d)


def test_state_is_per_slot_and_orphaned_invokes_end(tmp_path):
    fns = examples("go-state", "go-orphan", go_state={"min_workers": 1, "max_workers": 1},
                   go_orphan={"min_workers": 1, "max_workers": 1})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        first = expect(call(d, "go-state", b""), 200, None, d).body
        slot = first.split(b":")[1]
        assert first == b"go-state:" + slot + b":1", first
        for n in (2, 3):
            expect(call(d, "go-state", b""), 200, b"go-state:" + slot + f":{n}".encode(), d)
        expect(call(d, "go-orphan", b"slow"), 200, b"left one behind", d)
        nj.wait_until(lambda: call(d, "go-orphan", b"count").body == b"1/1", 10,
                      "the orphaned invoke to end when its call did")


def test_os_exit_mid_call_is_502_then_replaced(tmp_path):
    fns = examples("go-exit", go_exit={"min_workers": 1, "max_workers": 2})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        before = call(d, "go-exit", b"hi")
        assert before.status == 200 and before.body.startswith(b"alive:"), before.summary()
        for round_ in range(3):
            r = call(d, "go-exit", b"exit")
            assert r.status == 502 and r.body, f"round {round_}: {r.summary()}"
            after = call(d, "go-exit", b"hi")  # the next call succeeds, in a new process
            assert after.status == 200, f"round {round_}: {after.summary()}"
            assert after.body.startswith(b"alive:") and after.body != before.body, after.summary()
            before = after


def test_deadlines_flow_through_context(tmp_path):
    fns = examples("go-sleep", "go-remaining", "go-probe", "go-ctxprobe", "go-cancel",
                   go_sleep={"min_workers": 1, "max_workers": 1, "timeout_ms": 60000},
                   go_probe={"timeout_ms": 60000}, go_ctxprobe={"timeout_ms": 60000},
                   go_cancel={"timeout_ms": 60000})
    fns.append(nj.test_function("cpp-probe", timeout_ms=60000) | {
        "handler": nj.test_function("relay")["handler"]})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        # Into Go: Call.Context() carries the call's deadline.
        r = call(d, "go-remaining", b"", headers={"X-Nightjar-Timeout-Ms": "2000"})
        assert r.status == 200 and 0.0 < float(r.body) <= 2000.0, r.summary()
        r = call(d, "cpp-probe", b"go-remaining:", headers={"X-Nightjar-Timeout-Ms": "3000"})
        assert r.status == 200 and r.body.startswith(b"NJ_OK:"), r.summary()
        assert 0.0 < float(r.body[len(b"NJ_OK:"):]) <= 3000.0, r.summary()
        # A handler past its deadline: 504, and the slot is free again (the late result dropped).
        expect(call(d, "go-sleep", b"20000", headers={"X-Nightjar-Timeout-Ms": "300"}), 504, dep=d)
        call_until(d, "go-sleep", b"5", 200, tolerate={503}, timeout_s=10)
        # Out of Go: an invoke inherits the call's deadline ...
        r = call(d, "go-probe", b"slow:20000", headers={"X-Nightjar-Timeout-Ms": "400"})
        assert r.status in (200, 504), r.summary()
        if r.status == 200:
            assert r.body.startswith(b"timeout:"), r.summary()
        expect(call(d, "go-probe", b"slow:5"), 200, b"ok:slept 5ms", d)
        expect(call(d, "go-probe", b"nope:x"), 200, b"not found:no function named 'nope'", d)
        # ... and the deadline of the context.Context passed to InvokeContext.
        r = call(d, "go-ctxprobe", b"2000:go-remaining:")
        assert r.status == 200 and r.body.startswith(b"ok:"), r.summary()
        assert 0.0 < float(r.body[3:]) <= 2000.0, r.summary()
        r = call(d, "go-ctxprobe", b"200:slow:20000", timeout_s=30)
        assert r.status == 200 and r.body.startswith(b"timeout:"), r.summary()
        assert r.body.endswith(b"(context.DeadlineExceeded)") or b"deadline" in r.body, r.summary()
        # Cancelling the context ends the invoke at once.
        r = call(d, "go-cancel", b"100:slow:20000", timeout_s=30)
        expect(r, 200, b"unavailable:context canceled (context.Canceled) returned early", d)


def test_200_concurrent_calls_to_one_go_function(tmp_path):
    fns = examples()
    fns[1] = nj.go_function("go-echo", "examples/echo", max_workers=8, slots_per_process=4)
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        def one(i):
            data = f"call {i} ".encode() * (1 + i % 300)
            return data, call(d, "go-echo", data, timeout_s=60)

        with ThreadPoolExecutor(200) as pool:
            results = list(pool.map(one, range(200)))
        for data, r in results:
            expect(r, 200, data, d)
        who = [p for p in nj.runtime_pids(d.ipc_root)
               if "go-echo" in (nj.read_proc(p).cmdline if nj.read_proc(p) else "")]
        assert 1 <= len(who) <= 2, f"8 slots of 4 are at most 2 Go processes: {who}"


def test_config_errors_name_the_key(tmp_path):
    hello = nj.go_function("f", "examples/hello")["handler"]
    cases = [({"handler": hello + "-missing"}, "does not exist; runtime \"go\" takes the built binary"),
             ({"handler": str(nj.REPO_ROOT / "examples" / "go" / "hello" / "main.go")},
              "is not executable"),
             ({"handler": hello, "interpreter": "/usr/bin/go"}, "interpreter")]
    for i, (entry, want) in enumerate(cases):
        fn = {"name": "f", "runtime": "go"} | entry
        config = nj.write_config(tmp_path / f"bad{i}.yaml",
                                 nj.make_config(tmp_path / "ipc", functions=[fn]))
        p = nj.subprocess.run([str(nj.nightjar_bin()), "up", str(config)], capture_output=True,
                              text=True, timeout=30)
        assert p.returncode != 0 and want in p.stderr, (entry, p.stderr)
    # A binary whose init fails cannot start: its calls fail fast (503), not hang.
    with nj.nightjar_up(tmp_path / "up", functions=[nj.go_function("go-badinit", "probe")]) as d:
        r = call(d, "go-badinit", b"x", timeout_s=30)
        assert r.status == 503, r.summary()


def test_bench_functions_time_each_call_both_ways(tmp_path):
    """examples/go/bench_caller and nop, as the benchmark harness deploys them."""
    fns = [nj.go_function("go-bench_caller", "examples/bench_caller"),
           nj.go_function("go-nop", "examples/nop", min_workers=2, max_workers=2,
                          slots_per_process=2),
           nj.function("nop"), nj.function("bench_caller")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "go-nop", b"anything"), 200, b"", d)
        for caller, callee in (("go-bench_caller", "nop"), ("go-bench_caller", "go-nop"),
                               ("bench_caller", "go-nop")):
            r = expect(call(d, caller, f"callee={callee} n=50 bytes=100".encode()), 200, None, d)
            samples = array.array("I", r.body)
            assert len(samples) == 50 and all(0 < s < 10**9 for s in samples), (caller, callee)
        r = call(d, "go-bench_caller", b"callee=no-such-function n=3")
        assert r.status == 502 and b"round 0 failed: not found" in r.body, r.summary()
        r = call(d, "go-bench_caller", b"n=3")
        assert r.status == 502 and b"bench_caller: input must be" in r.body, r.summary()


def test_calls_sent_ahead_are_answered_in_order_under_load(tmp_path):
    """Regression: with two threads, a Go slot could start a DISPATCH that arrived while the
    previous call was being answered ahead of one the engine had sent earlier; the engine
    then never freed the slot, and within a few thousand calls every slot was stuck
    (bench_rate's max-rate run timed out)."""
    fns = [nj.go_function("go-nop", "examples/nop", min_workers=8, max_workers=8,
                          slots_per_process=8),
           nj.function("bench_rate", timeout_ms=120000)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for window in (16, 4):
            r = call(d, "bench_rate", f"callee=go-nop n=10000 window={window}".encode(),
                     timeout_s=150)
            assert r.status == 200 and r.body.startswith(b"calls=10000 "), r.summary()
        expect(call(d, "go-nop", b""), 200, b"", d)
