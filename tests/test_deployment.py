"""Process-level behaviour: split gateway/engine deployment, shutdown by signal, config
validation at start-up, and the CLI (`invoke`, `--help`)."""
import json
import shutil
import signal
import threading

import pytest

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect


# ---------------------------------------------------------------------------------------------
# Split deployment


def test_split_gateway_and_engine(tmp_path):
    with nj.split_deployment(tmp_path) as split:
        d = split.dep
        r = call(d, "echo", b"too-early")
        assert r.status == 503, \
            f"gateway without an engine: expected 503, got {r.summary()}\n{split.gateway.describe()}"

        engine = split.start_engine()
        call_until(d, "echo", b"hello", 200, tolerate={503}, timeout_s=nj.READY_TIMEOUT_S)
        expect(call(d, "echo", b"split-echo"), 200, b"split-echo", d, "echo through the link")
        big = bytes(range(256)) * 4096  # 1 MiB across the link
        expect(call(d, "echo", big), 200, big, d, "1 MiB echo through the link")
        expect(call(d, "chain", b"3:hi"), 200, b"hi...", d, "chain(3:hi) in split mode")
        expect(call(d, "fanout", b"4:x"), 200, b"0:x\n1:x\n2:x\n3:x", d, "fanout in split mode")
        r = call(d, "no-such-function", b"")
        assert r.status == 404, f"unknown function in split mode: {r.summary()}"

        # Engine goes away: its workers and IPC files go with it, the gateway answers 503.
        split.stop_engine(engine)
        call_until(d, "echo", b"engine-gone", 503, tolerate={200}, timeout_s=10)
        assert split.gateway.alive(), \
            f"gateway died when the engine left\n{split.gateway.describe()}"


# ---------------------------------------------------------------------------------------------
# Shutdown


def test_sigint_shuts_down_cleanly(tmp_path):
    # The harness asserts exit code 0, no leftover processes and an empty IPC root.
    with nj.nightjar_up(tmp_path, stop_signal=signal.SIGINT) as d:
        expect(call(d, "echo", b"before-sigint"), 200, b"before-sigint", d)
        big = b"q" * 100_000  # leave a used shared-memory path behind, too
        expect(call(d, "echo", big), 200, big, d)


def test_sigterm_with_a_call_in_flight_exits_cleanly(tmp_path):
    # Shutdown while a worker is busy must still end every worker and clean the IPC root.
    with nj.nightjar_up(tmp_path, functions=[nj.function("slow", max_workers=1)]) as d:
        # The reply (or a reset) is irrelevant; only the clean exit is checked.
        def quiet_call():
            try:
                nj.call(d, "slow", b"1000", timeout_s=25)
            except OSError:
                pass
        t = threading.Thread(target=quiet_call, daemon=True)
        t.start()
        nj.wait_for_sleeping_worker(d, prefer="slow", timeout_s=10)
    t.join(timeout=30)


# ---------------------------------------------------------------------------------------------
# Config validation


def _bad_config(ipc_root, **edits):
    cfg = nj.make_config(ipc_root, functions=[nj.function("echo")])
    for where, value in edits.items():
        if where == "top":
            cfg.update(value)
        elif where == "function":
            cfg["functions"][0].update(value)
        else:
            cfg[where].update(value)
    return cfg


# (id, edits, key the error message must name)
BAD_CONFIGS = [
    ("unknown-top-level-key", {"top": {"bogus_top_key": 1}}, "bogus_top_key"),
    ("unknown-gateway-key", {"gateway": {"colour_of_sky": "blue"}}, "colour_of_sky"),
    ("unknown-engine-key", {"engine": {"io_thread_count": 2}}, "io_thread_count"),
    ("unknown-function-key", {"function": {"min_wrkers": 1}}, "min_wrkers"),
    ("max-workers-below-min-workers", {"function": {"min_workers": 4, "max_workers": 2}},
     "max_workers"),
    ("non-numeric-max-connections", {"gateway": {"max_connections": "lots"}},
     "max_connections"),
    ("io-threads-out-of-range", {"engine": {"io_threads": 0}}, "io_threads"),
    ("unsupported-runtime", {"function": {"runtime": "cobol"}}, "runtime"),
]


@pytest.mark.parametrize("case,edits,key", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_rejected_at_startup(tmp_path, case, edits, key):
    ipc_root = nj.make_ipc_root()
    try:
        config = nj.write_config(tmp_path / "bad.yaml", _bad_config(ipc_root, **edits))
        res = nj.run_cli(["up", config, "--http-port", "0", "--ipc-root", ipc_root], timeout_s=20)
        summary = nj.cli_summary(res) + "\nconfig:\n" + config.read_text()
        assert res.returncode != 0, f"{case}: nightjar up accepted a bad config\n{summary}"
        assert b"nightjar: serving" not in res.stdout, f"{case}: served a bad config\n{summary}"
        assert key.encode() in res.stderr, f"{case}: stderr does not name {key!r}\n{summary}"
        leftovers = nj.check_no_leftovers(ipc_root)
        assert not leftovers, f"{case}: " + "; ".join(leftovers)
    finally:
        shutil.rmtree(ipc_root, ignore_errors=True)


def test_missing_config_file_is_rejected(tmp_path):
    res = nj.run_cli(["up", tmp_path / "does-not-exist.yaml", "--http-port", "0"], timeout_s=20)
    assert res.returncode != 0, f"nightjar up ran without a config file\n{nj.cli_summary(res)}"
    assert res.stderr.strip(), f"no error message on stderr\n{nj.cli_summary(res)}"


# ---------------------------------------------------------------------------------------------
# CLI


@pytest.fixture(scope="module")
def cli_deployment(tmp_path_factory):
    with nj.nightjar_up(tmp_path_factory.mktemp("cli")) as d:
        yield d


def test_invoke_echo_prints_output(cli_deployment):
    res = nj.run_cli(["invoke", "echo", "--data", "hi", "--url", cli_deployment.url])
    assert res.returncode == 0, nj.cli_summary(res)
    assert res.stdout in (b"hi", b"hi\n"), f"expected 'hi' on stdout\n{nj.cli_summary(res)}"


def test_invoke_reads_data_from_file(cli_deployment, tmp_path):
    data = b"from a file " * 200  # over the inline size
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    res = nj.run_cli(["invoke", "echo", "--data", f"@{path}", "--url", cli_deployment.url])
    assert res.returncode == 0, nj.cli_summary(res)
    assert res.stdout in (data, data + b"\n"), \
        f"output differs from the file\n{nj.cli_summary(res)}"


def test_invoke_without_data_sends_empty_input(cli_deployment):
    res = nj.run_cli(["invoke", "hello", "--url", cli_deployment.url])
    assert res.returncode == 0, nj.cli_summary(res)
    assert res.stdout.rstrip(b"\n") == b"Hello, world!", nj.cli_summary(res)


def test_invoke_failure_exits_nonzero_with_message(cli_deployment):
    res = nj.run_cli(["invoke", "fail", "--data", "x", "--url", cli_deployment.url])
    assert res.returncode != 0, f"invoke of a failing function exited 0\n{nj.cli_summary(res)}"
    assert b"fail: requested failure" in res.stderr, nj.cli_summary(res)


def test_invoke_unknown_function_exits_nonzero(cli_deployment):
    res = nj.run_cli(["invoke", "no-such-function", "--data", "x", "--url", cli_deployment.url])
    assert res.returncode != 0, f"invoke of an unknown function exited 0\n{nj.cli_summary(res)}"
    assert res.stderr.strip(), f"no error message on stderr\n{nj.cli_summary(res)}"


@pytest.mark.parametrize("args", [["--help"], ["up", "--help"], ["gateway", "--help"],
                                  ["engine", "--help"], ["invoke", "--help"]],
                         ids=lambda a: "-".join(x.strip("-") for x in a))
def test_help_exits_zero(args):
    res = nj.run_cli(args, timeout_s=10)
    assert res.returncode == 0, nj.cli_summary(res)
    assert (res.stdout + res.stderr).strip(), f"help printed nothing\n{nj.cli_summary(res)}"


def test_split_two_engines_least_outstanding(tmp_path):
    # Each engine runs one `slow` worker. While a long call occupies one engine, the next
    # call must go to the other (fewest outstanding calls) -- /status shows where each ran.
    fns = [nj.function("slow", min_workers=1, max_workers=1, concurrency="unmanaged")]
    with nj.split_deployment(tmp_path, fns) as split:
        d = split.dep
        split.start_engine()
        split.start_engine()

        def engines():
            r = nj.request(d, "GET", "/status")
            return json.loads(r.body)["engines"] if r.status == 200 else []

        nj.wait_until(lambda: len(engines()) == 2, nj.READY_TIMEOUT_S, "two engines linked")
        long_reply = {}
        t = threading.Thread(target=lambda: long_reply.update(r=call(d, "slow", b"1500")),
                             daemon=True)
        t.start()
        nj.wait_until(lambda: sum(e["calls_in_flight"] for e in engines()) == 1, 5,
                      "the long call to be in flight")
        expect(call(d, "slow", b"10"), 200, b"slept 10ms", d, "second call")
        t.join(10)
        expect(long_reply["r"], 200, b"slept 1500ms", d, "long call")
        ok = sorted(e["functions"][0]["calls"]["ok"] for e in engines())
        assert ok == [1, 1], f"calls per engine {ok}: the second call did not go to the idle engine"
        text = nj.request(d, "GET", "/status?format=text").body.decode()
        assert "engine 1:" in text and "engine 2:" in text, text
