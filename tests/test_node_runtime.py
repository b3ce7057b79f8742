"""Node.js functions (runtime: node, issue 10): the examples, the API (invoke, Promise.all,
remaining, init state, errors), relays mixing Node, Python and C++ in every order, a runtime
process dying mid-call, deadlines, 200 concurrent calls. docs/runtimes.md."""
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect


def examples(**extra):
    """The examples of all three languages (relays mix them), plus probe.js functions."""
    return [nj.node_function("node-hello", "examples/node/hello.js"),
            nj.node_function("node-echo", "examples/node/echo.js", max_workers=8),
            nj.node_function("node-relay", "examples/node/relay.js#handle", max_workers=8),
            nj.python_function("py-relay", "examples/python/relay.py:handle", max_workers=8),
            nj.python_function("py-echo", "examples/python/echo.py:handle"),
            nj.function("relay", max_workers=8), nj.function("echo"), nj.function("fail"),
            nj.function("slow", timeout_ms=60000)] + [
        nj.node_function(name, f"probe.js#{export}", **options)
        for name, (export, options) in extra.items()]


def test_hello_and_echo_sizes(tmp_path):
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        expect(call(d, "node-hello", b"Ada"), 200, b"Hello, Ada!", d)
        expect(call(d, "node-hello", b""), 200, b"Hello, world!", d)
        for size in (0, 1, nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, 4096, nj.MIB, 16 * nj.MIB):
            data = os.urandom(size)
            expect(call(d, "node-echo", data, timeout_s=60), 200, data, d, f"node-echo of {size} B")


def test_relays_mix_node_python_and_cpp_in_every_order(tmp_path):
    relays = ("relay", "py-relay", "node-relay")
    with nj.nightjar_up(tmp_path, functions=examples()) as d:
        expect(call(d, "node-relay", b"py-relay/relay/node-relay/echo:hi"), 200, b"hi", d)
        for order in itertools.permutations(relays):
            first, rest = order[0], "/".join(order[1:])
            for leaf in ("echo", "py-echo", "node-echo"):
                data = f"{rest}/{leaf}:{first}-{leaf}".encode()
                expect(call(d, first, data), 200, f"{first}-{leaf}".encode(), d, f"{first}({data!r})")
        big = os.urandom(3 * nj.MIB)
        expect(call(d, "node-relay", b"py-relay/relay/node-echo:" + big, timeout_s=60), 200, big, d,
               "3 MiB through node-relay -> py-relay -> relay -> node-echo")
        for name, data in (("node-relay", b"fail:x"), ("relay", b"node-relay/fail:x"),
                           ("py-relay", b"node-relay/py-relay/fail:x")):
            expect(call(d, name, data), 502, b"fail: requested failure\n", d, f"{name}({data!r})")
        for name in ("relay", "py-relay", "node-relay"):
            # The same answers from every relay for an unknown callee and empty names.
            expect(call(d, name, b"no-such-function:x"), 502,
                   b"no function named 'no-such-function'\n", d, name)
            for bad in (b"echo/:x", b"/echo:x", b"echo//echo:x"):
                r = call(d, name, bad)
                assert r.status == 502 and b"empty function name" in r.body, (name, bad, r.summary())
        expect(call(d, "node-relay", b":data"), 200, b"data", d)


def test_errors_are_502_with_the_message_and_the_process_survives(tmp_path):
    fns = examples(**{"node-fail": ("fail", {}), "node-async-fail": ("asyncFail", {}),
                      "node-wrong-type": ("wrongType", {})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "node-fail", b"x"), 502, b"RangeError: bad input: x\n", d)
        expect(call(d, "node-async-fail", b""), 502, b"Error: failed after awaiting\n", d)
        r = call(d, "node-wrong-type", b"")
        assert r.status == 502 and r.body.startswith(b"TypeError: handler returned number"), r.summary()
        expect(call(d, "node-fail", b"again"), 502, b"RangeError: bad input: again\n", d)


def test_promise_all_of_8_invokes_runs_them_concurrently(tmp_path):
    fns = examples(**{"node-gather": ("gather", {}),
                      "node-meet": ("rendezvous", {"min_workers": 8, "max_workers": 8,
                                                   "slots_per_process": 8})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for callee in ("node-echo", "py-echo", "echo"):
            expect(call(d, "node-gather", f"8:{callee}".encode()), 200, b"0,1,2,3,4,5,6,7", d)
        expect(call(d, "node-gather", b"8:node-meet:g:8"), 200, b",".join([b"met 8"] * 8), d)


def test_state_is_per_slot_and_orphaned_invokes_end(tmp_path):
    fns = examples(**{"node-state": ("state", {"min_workers": 1, "max_workers": 1}),
                      "node-orphan": ("orphan", {"min_workers": 1, "max_workers": 1})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for n in (1, 2, 3):
            expect(call(d, "node-state", b""), 200, f"node-state:1:{n}".encode(), d)
        expect(call(d, "node-orphan", b"slow"), 200, b"left one behind", d)
        expect(call(d, "node-orphan", b"count"), 200, b"1/1", d)


def test_process_exit_mid_call_is_502_then_replaced(tmp_path):
    fns = examples(**{"node-exit": ("exitMidCall", {"min_workers": 1, "max_workers": 2})})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        before = call(d, "node-exit", b"hi")
        assert before.status == 200 and before.body.startswith(b"alive:"), before.summary()
        for round_ in range(3):
            r = call(d, "node-exit", b"exit")
            assert r.status == 502 and r.body, f"round {round_}: {r.summary()}"
            after = call(d, "node-exit", b"hi")  # the next call succeeds
            assert after.status == 200, f"round {round_}: {after.summary()}"
            assert after.body.startswith(b"alive:") and after.body != before.body, after.summary()


def test_deadlines_propagate_into_and_out_of_node(tmp_path):
    fns = examples(**{"node-sleep": ("sleep", {"min_workers": 1, "max_workers": 1,
                                               "timeout_ms": 60000}),
                      "node-remaining": ("remaining", {}),
                      "node-probe": ("probe", {"timeout_ms": 60000})})
    fns.append(nj.test_function("cpp-probe", timeout_ms=60000) | {
        "handler": nj.test_function("relay")["handler"]})
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        r = call(d, "node-remaining", b"", headers={"X-Nightjar-Timeout-Ms": "2000"})
        assert r.status == 200 and 0.0 < float(r.body) <= 2000.0, r.summary()
        expect(call(d, "node-sleep", b"20000", headers={"X-Nightjar-Timeout-Ms": "300"}), 504, dep=d)
        call_until(d, "node-sleep", b"5", 200, tolerate={503}, timeout_s=10)
        r = call(d, "node-probe", b"slow:20000", headers={"X-Nightjar-Timeout-Ms": "400"})
        assert r.status in (200, 504), r.summary()
        if r.status == 200:
            assert r.body.startswith(b"timeout:"), r.summary()
        expect(call(d, "node-probe", b"slow:5"), 200, b"ok:slept 5ms", d)
        expect(call(d, "node-probe", b"nope:x"), 200, b"not found:no function named 'nope'", d)
        r = call(d, "cpp-probe", b"node-remaining:", headers={"X-Nightjar-Timeout-Ms": "3000"})
        assert r.status == 200 and r.body.startswith(b"NJ_OK:"), r.summary()
        assert 0.0 < float(r.body[len(b"NJ_OK:"):]) <= 3000.0, r.summary()


def test_200_concurrent_calls_to_one_node_function(tmp_path):
    fns = examples()
    fns[1] = nj.node_function("node-echo", "examples/node/echo.js", max_workers=8,
                              slots_per_process=4)
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        def one(i):
            data = f"call {i} ".encode() * (1 + i % 300)
            return data, call(d, "node-echo", data, timeout_s=60)

        with ThreadPoolExecutor(200) as pool:
            results = list(pool.map(one, range(200)))
        for data, r in results:
            expect(r, 200, data, d)
        who = [p for p in nj.runtime_pids(d.ipc_root)
               if "node-echo" in (nj.read_proc(p).cmdline if nj.read_proc(p) else "")]
        assert 1 <= len(who) <= 2, f"8 slots of 4 are at most 2 node processes: {who}"


def test_config_errors_name_the_key(tmp_path):
    hello = str(nj.REPO_ROOT / "examples" / "node" / "hello.js")
    cases = [({"handler": hello + "#1bad"}, "handler"),
             ({"handler": str(nj.REPO_ROOT / "examples" / "node" / "nope.js")}, "does not exist"),
             ({"handler": hello, "interpreter": "/nonexistent/node"}, "interpreter")]
    for i, (entry, want) in enumerate(cases):
        fn = {"name": "f", "runtime": "node"} | entry
        config = nj.write_config(tmp_path / f"bad{i}.yaml",
                                 nj.make_config(tmp_path / "ipc", functions=[fn]))
        p = nj.subprocess.run([str(nj.nightjar_bin()), "up", str(config)], capture_output=True,
                              text=True, timeout=30)
        assert p.returncode != 0 and want in p.stderr, (entry, p.stderr)
    # A module without the named export cannot start: its calls fail fast (503), not hang.
    with nj.nightjar_up(tmp_path / "up", functions=[nj.node_function("f", "probe.js#nothing")]) as d:
        r = call(d, "f", b"x", timeout_s=30)
        assert r.status == 503, r.summary()


def test_bench_functions_time_each_call_both_ways(tmp_path):
    """examples/node/bench_caller.js and nop.js, as the benchmark harness deploys them."""
    import array
    fns = [nj.node_function("node-bench_caller", "examples/node/bench_caller.js"),
           nj.node_function("node-nop", "examples/node/nop.js", min_workers=2, max_workers=2,
                            slots_per_process=2),
           nj.function("nop"), nj.function("bench_caller")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "node-nop", b"anything"), 200, b"", d)
        for caller, callee in (("node-bench_caller", "nop"), ("node-bench_caller", "node-nop"),
                               ("bench_caller", "node-nop")):
            r = expect(call(d, caller, f"callee={callee} n=50 bytes=100".encode()), 200, None, d)
            samples = array.array("I", r.body)
            assert len(samples) == 50 and all(0 < s < 10**9 for s in samples), (caller, callee)
        r = call(d, "node-bench_caller", b"callee=no-such-function n=3")
        assert r.status == 502 and b"round 0 failed: not found" in r.body, r.summary()
        r = call(d, "node-bench_caller", b"n=3")
        assert r.status == 502 and b"Error: bench_caller: input must be" in r.body, r.summary()
