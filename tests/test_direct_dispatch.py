"""Direct dispatch (docs/architecture.md, "Direct dispatch"; issue #16): a native caller hands
its call to an idle native callee itself (2 pipe hops), the engine hears of it off the
critical path, and nothing is weaker than on the engine path: every call is answered once,
workers are reused, counters add up, and a caller or callee SIGKILLed at any point of the
protocol leaves no claimed worker, no call in flight and no held payload behind."""

import json
import struct
import threading

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect

CLAIM_FLOOR = 1 << 52  # src/ipc/dispatch_board.h: words at or above it are claims


def status(d) -> dict:
    r = nj.request(d, "GET", "/status")
    expect(r, 200, dep=d, what="GET /status")
    body = json.loads(r.body)["engines"][0]
    return {"in_flight": body["calls_in_flight"], **{f["name"]: f for f in body["functions"]}}


def board_words(d, function_id: int) -> list:
    inst = [p for p in d.ipc_root.iterdir() if p.is_dir() and not p.name.endswith(".containers")]
    data = (inst[0] / f"board-{function_id}").read_bytes()
    magic, slots = struct.unpack_from("<QI", data, 0)
    return [struct.unpack_from("<Q", data, 64 + 16 * i)[0] for i in range(slots)]


def quiet(d, names) -> bool:
    s = status(d)
    if s["in_flight"] != 0:
        return False
    for n in names:
        f = s[n]
        if f["workers"]["running"] or f["workers"]["blocked"] or f["queued"] or f["workers"]["starting"]:
            return False
    return True


def fns(**callee):
    # relay is function 1, echo function 2 (config order).
    return [nj.function("relay", min_workers=2, max_workers=4),
            nj.function("echo", min_workers=2, max_workers=4, **callee)]


@pytest.mark.parametrize("direct", [True, False])
def test_internal_calls_take_the_direct_path_when_a_callee_is_idle(tmp_path, direct):
    with nj.nightjar_up(tmp_path, functions=fns(), engine={"direct_dispatch": direct}) as d:
        for i in range(200):
            data = f"call {i} ".encode() * (1 + i % 300)  # inline, arena and region sizes
            expect(call(d, "relay", b"echo:" + data), 200, data, dep=d)
        nj.wait_until(lambda: quiet(d, ["relay", "echo"]), 10, "the deployment to go quiet")
        s = status(d)
        assert s["relay"]["calls"]["ok"] == 200 and s["echo"]["calls"]["ok"] == 200, s
        if direct:
            # Sequential calls always find an idle echo worker offered.
            assert s["echo"]["calls"]["direct"] >= 150, s["echo"]
            assert s["echo"]["offered"] == s["echo"]["workers"]["idle"], s["echo"]
            assert all(w < CLAIM_FLOOR for w in board_words(d, 2)), board_words(d, 2)
        else:
            assert s["echo"]["calls"]["direct"] == 0, s["echo"]
            assert s["echo"]["offered"] == 0, s["echo"]


def test_chains_and_fan_out_mix_direct_and_engine_paths(tmp_path):
    # More concurrent callers than callee workers: some calls find no offered worker and
    # go through the engine's queue; every one is answered, with the right output. (relay
    # calls relay: 8 clients need up to 16 relay workers at once, or the nested calls wait
    # for workers held by their own parents: a pool bound, not a dispatch path, matter.)
    functions = [nj.function("relay", min_workers=4, max_workers=16),
                 nj.function("echo", min_workers=1, max_workers=2)]
    with nj.nightjar_up(tmp_path, functions=functions) as d:
        errors = []

        def client(k):
            for i in range(40):
                data = f"{k}-{i}".encode() * (1 + (k * 7 + i) % 200)
                r = call(d, "relay", b"relay/echo:" + data)
                if r.status != 200 or r.body != data:
                    errors.append((k, i, r.summary()))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[:3]
        nj.wait_until(lambda: quiet(d, ["relay", "echo"]), 10, "the deployment to go quiet")
        s = status(d)
        assert s["relay"]["calls"]["ok"] == 640 and s["echo"]["calls"]["ok"] == 320, s
        assert all(w < CLAIM_FLOOR for w in board_words(d, 2))


POINTS = ["after_claim", "after_dispatch", "after_notice",
          "callee_after_read", "callee_after_complete", "callee_after_notice"]


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_at_any_point_of_a_direct_call_loses_nothing(tmp_path, point):
    # 5% of the workers reaching `point` SIGKILL themselves. Every call still gets exactly
    # one answer (200 with the right output, or 502 for a worker that died), then the
    # deployment goes quiet with nothing claimed, in flight or counted twice.
    calls_made = 400
    env = {"NIGHTJAR_FAULT_INJECTION": f"{point}:50"}
    with nj.nightjar_up(tmp_path, functions=fns(), env=env) as d:
        results = []
        lock = threading.Lock()

        def client(k):
            for i in range(calls_made // 4):
                data = f"{point}-{k}-{i}".encode() * (1 + i % 100)
                r = call(d, "relay", b"echo:" + data)
                with lock:
                    results.append((r.status, r.body == data, r.summary()))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert len(results) == calls_made
        bad = [r for r in results if not ((r[0] == 200 and r[1]) or r[0] == 502)]
        assert not bad, bad[:3]
        ok = sum(1 for r in results if r[0] == 200)
        assert ok >= calls_made // 2, f"only {ok} of {calls_made} succeeded"
        try:
            nj.wait_until(lambda: quiet(d, ["relay", "echo"]), 20, "the deployment to go quiet")
        except AssertionError:
            raise AssertionError(f"{status(d)} {board_words(d, 2)}")
        s = status(d)
        relay, echo = s["relay"]["calls"], s["echo"]["calls"]
        # The engine answered each external call exactly once.
        assert relay["ok"] + relay["failed"] + relay["timed_out"] == calls_made, s["relay"]
        assert relay["ok"] == ok, (relay, ok)
        echo_total = echo["ok"] + echo["failed"] + echo["timed_out"]
        assert echo["direct"] > 0, s["echo"]
        if point.startswith("callee"):
            # relay never dies: each of its calls made exactly one call to echo. (A callee
            # that answered its caller and died before its notice counts as failed, as on
            # the engine path: the engine cannot know the answer went out.)
            assert echo_total == calls_made, s["echo"]
        else:
            # A caller may die before its call reaches echo, never after echo counted twice.
            assert echo_total <= calls_made and echo["ok"] >= ok, s["echo"]
        nj.wait_until(lambda: all(w < CLAIM_FLOOR for w in board_words(d, 2)), 10,
                      "every claim to be released")
        assert s["echo"]["offered"] <= s["echo"]["workers"]["idle"], s["echo"]


@pytest.mark.parametrize("point", ["after_claim", "after_dispatch"])
def test_a_caller_killed_while_its_callee_waits_on_a_child(tmp_path, point):
    # The callee of a dead caller is itself waiting on a child when the engine's FENCE
    # arrives: it acks only after its call is over, so the engine never frees a worker
    # that is still running (found in review: an early ack let a second call in).
    functions = [nj.function("relay", min_workers=4, max_workers=16),
                 nj.function("echo", min_workers=2, max_workers=4)]
    env = {"NIGHTJAR_FAULT_INJECTION": f"{point}:50"}
    with nj.nightjar_up(tmp_path, functions=functions, env=env) as d:
        results = []
        lock = threading.Lock()

        def client(k):
            for i in range(60):
                data = f"{k}-{i}".encode() * (1 + i % 50)
                r = call(d, "relay", b"relay/echo:" + data)
                with lock:
                    results.append((r.status, r.body == data, r.summary()))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert len(results) == 240
        bad = [r for r in results if not ((r[0] == 200 and r[1]) or r[0] == 502)]
        assert not bad, bad[:3]
        nj.wait_until(lambda: quiet(d, ["relay", "echo"]), 20, "the deployment to go quiet")
        s = status(d)
        assert s["relay"]["calls"]["ok"] >= sum(1 for r in results if r[0] == 200), s["relay"]
        for fid in (1, 2):
            nj.wait_until(lambda: all(w < CLAIM_FLOOR for w in board_words(d, fid)), 10,
                          "every claim to be released")
        # The workers are usable again: with 5% of callers dying, one of a few calls succeeds.
        assert any(call(d, "relay", b"relay/echo:after").status == 200 for _ in range(10))
