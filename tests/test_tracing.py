"""Call breakdown and tracing (issue 15 items 2, 3; docs/operations.md, "Call breakdown and
tracing"): X-Nightjar-Call-Id and Server-Timing on every call's answer (HTTP/1.1, HTTP/2,
gRPC metadata), gateway.server_timing: false, W3C traceparent accepted or made and read by
a function in every runtime (tests/functions/*: "traceparent" probes), internal calls
carrying the trace on the 2-hop and the 3-hop path, and the engine's spans exported as
OTLP/HTTP JSON to a receiver this test starts (Python's http.server on 127.0.0.1), which
may be down or slow without delaying or failing a call.

No timing thresholds: the one timing assertion is that the parts of Server-Timing add up to
no more than what the client measured around the same call.
"""
import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect

CALL_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
# W3C Server Timing: server-timing = #server-timing-metric; metric = name *(OWS ";" OWS param)
TIMING_ITEM_RE = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(;dur=(\d+(\.\d+)?))?$")

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_PARENT = "00f067aa0ba902b7"
INCOMING = f"00-{INCOMING_TRACE}-{INCOMING_PARENT}-01"


def server_timing(value):
    """{name: ms} of a Server-Timing value; asserts the W3C syntax of every item."""
    parts = {}
    for item in value.split(","):
        m = TIMING_ITEM_RE.match(item.strip())
        assert m, f"not a Server-Timing metric: {item!r} in {value!r}"
        parts[m.group(1)] = float(m.group(3))
    return parts


def traceparents(body):
    """The traceparent lines a chain of traceparent probes returned, parsed."""
    out = []
    for line in body.decode().splitlines():
        m = TRACEPARENT_RE.match(line)
        assert m, f"not a traceparent: {line!r} in {body!r}"
        out.append(m.groups())
    return out


def functions():
    return [nj.function("echo"), nj.function("slow", timeout_ms=60000),
            nj.test_function("traceparent", max_workers=4),
            nj.python_function("py-traceparent", "probe.py:traceparent", max_workers=4),
            nj.node_function("node-traceparent", "probe.js#traceparent", max_workers=4),
            nj.go_function("go-traceparent", "probe", max_workers=4)]


@pytest.fixture(scope="module")
def dep(tmp_path_factory):
    with nj.nightjar_up(tmp_path_factory.mktemp("tracing"), functions=functions()) as d:
        yield d


# --------------------------------------------------------------------------------------------
# X-Nightjar-Call-Id and Server-Timing


def test_call_id_and_server_timing_add_up_to_no_more_than_the_latency(dep):
    ids = set()
    for i in range(20):
        start = time.monotonic()
        r = call(dep, "echo", f"e{i}")
        latency_ms = (time.monotonic() - start) * 1000
        expect(r, 200, f"e{i}".encode(), dep)
        call_id = r.headers.get("x-nightjar-call-id", "")
        assert CALL_ID_RE.match(call_id), r.headers
        ids.add(call_id)
        parts = server_timing(r.headers["server-timing"])
        assert set(parts) == {"queue", "dispatch", "exec", "child"}, parts
        assert parts["queue"] + parts["dispatch"] + parts["exec"] <= latency_ms, (parts, latency_ms)
        assert parts["child"] == 0, parts  # echo calls nobody
    assert len(ids) == 20


def test_child_time_is_reported_and_within_exec(dep):
    # Each runtime's probe calls slow (20 ms) and waits for it: its child time.
    for runtime_probe in ("traceparent", "py-traceparent", "node-traceparent", "go-traceparent"):
        start = time.monotonic()
        r = call(dep, runtime_probe, "slow/20")  # calls slow, which sleeps 20 ms
        latency_ms = (time.monotonic() - start) * 1000
        assert r.status == 200, (runtime_probe, r.summary())
        parts = server_timing(r.headers["server-timing"])
        assert parts["child"] > 0, (runtime_probe, parts)
        assert parts["child"] <= parts["exec"], (runtime_probe, parts)
        assert parts["queue"] + parts["dispatch"] + parts["exec"] <= latency_ms, (runtime_probe, parts)


def test_http2_answers_carry_the_same_headers(dep):
    out = subprocess.run(["curl", "-s", "--max-time", "60", "--http2-prior-knowledge", "-D", "-",
                          "--data-binary", "h2", f"{dep.url}/function/echo"],
                         capture_output=True, timeout=90, check=True).stdout.decode()
    head = out.split("\r\n\r\n", 1)[0].lower()
    assert head.startswith("http/2 200"), out
    m = re.search(r"^x-nightjar-call-id: ([0-9a-f]+)\r?$", head, re.M)
    assert m and CALL_ID_RE.match(m.group(1)), head
    m = re.search(r"^server-timing: (.*?)\r?$", head, re.M)
    assert m and set(server_timing(m.group(1))) == {"queue", "dispatch", "exec", "child"}, head


def test_engine_errors_carry_the_call_id_and_what_is_known(dep):
    r = call(dep, "slow", "2000", headers={"X-Nightjar-Timeout-Ms": "50"})
    assert r.status == 504, r.summary()
    assert CALL_ID_RE.match(r.headers.get("x-nightjar-call-id", "")), r.headers
    assert "queue" in server_timing(r.headers["server-timing"])
    # No call is made for an unknown function: no id to show.
    r = call(dep, "no-such-function", "x")
    assert r.status == 404 and "x-nightjar-call-id" not in r.headers, r.headers


def test_server_timing_off_drops_both_headers(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")],
                        gateway={"server_timing": False}) as d:
        r = expect(call(d, "echo", "x"), 200, b"x", d)
        assert "x-nightjar-call-id" not in r.headers and "server-timing" not in r.headers, r.headers


# --------------------------------------------------------------------------------------------
# traceparent


def test_valid_traceparent_is_continued(dep):
    r = expect(call(dep, "traceparent", "", headers={"traceparent": INCOMING}), 200, None, dep)
    [(trace, span, flags)] = traceparents(r.body)
    assert trace == INCOMING_TRACE and flags == "01"
    assert span not in (INCOMING_PARENT, "0" * 16)  # the call's own span, a child of the caller's
    r = expect(call(dep, "traceparent", "", headers={"traceparent": INCOMING[:-2] + "00"}),
               200, None, dep)
    assert traceparents(r.body)[0][2] == "00"  # not sampled stays not sampled


@pytest.mark.parametrize("bad", [
    f"00-{INCOMING_TRACE.upper()}-{INCOMING_PARENT}-01",      # upper case
    f"ff-{INCOMING_TRACE}-{INCOMING_PARENT}-01",              # version ff
    f"00-{'0' * 32}-{INCOMING_PARENT}-01",                    # all-zero trace id
    f"00-{INCOMING_TRACE}-{'0' * 16}-01",                     # all-zero parent id
    f"00-{INCOMING_TRACE}-{INCOMING_PARENT}-01-extra",        # version 00 with more
    f"00-{INCOMING_TRACE[:-1]}-{INCOMING_PARENT}-01",         # short trace id
    "garbage",
], ids=["upper", "version-ff", "zero-trace", "zero-parent", "trailing", "short", "garbage"])
def test_invalid_traceparent_starts_a_new_trace(dep, bad):
    r = expect(call(dep, "traceparent", "", headers={"traceparent": bad}), 200, None, dep)
    [(trace, _span, flags)] = traceparents(r.body)
    assert trace != INCOMING_TRACE and trace != "0" * 32, (bad, trace)
    assert flags == "01", bad


def test_future_version_is_read_as_00(dep):
    r = expect(call(dep, "traceparent", "",
                    headers={"traceparent": f"cc-{INCOMING_TRACE}-{INCOMING_PARENT}-01-later"}),
               200, None, dep)
    assert traceparents(r.body)[0][0] == INCOMING_TRACE


def test_absent_traceparent_makes_a_new_trace_per_call(dep):
    traces = {traceparents(expect(call(dep, "traceparent", ""), 200, None, dep).body)[0][0]
              for _ in range(5)}
    assert len(traces) == 5 and "0" * 32 not in traces


def test_every_runtime_reads_its_traceparent_and_passes_the_trace_on(dep):
    chain = ["traceparent", "py-traceparent", "node-traceparent", "go-traceparent",
             "traceparent", "go-traceparent", "node-traceparent", "py-traceparent"]
    r = call(dep, chain[0], "/".join(chain[1:]), headers={"traceparent": INCOMING})
    expect(r, 200, None, dep)
    got = traceparents(r.body)
    assert len(got) == len(chain), r.body
    assert {trace for trace, _s, _f in got} == {INCOMING_TRACE}, got
    spans = [span for _t, span, _f in got]
    assert len(set(spans)) == len(spans) and INCOMING_PARENT not in spans, spans


def test_grpc_metadata_traceparent_and_headers(tmp_path):
    grpc = pytest.importorskip("grpc", reason="python3-grpcio (scripts/setup.sh installs it)")
    fns = [nj.test_function("grpc_probe", grpc="test.Probe", max_workers=2)]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        with grpc.insecure_channel(f"{d.connect_host}:{d.port}") as ch:
            rpc = ch.unary_unary("/test.Probe/Echo")
            reply, c = rpc.with_call(b"echo:abc", metadata=[("traceparent", INCOMING)], timeout=30)
            assert reply == b"abc"
            meta = dict(c.initial_metadata())
            assert CALL_ID_RE.match(meta.get("x-nightjar-call-id", "")), meta
            assert "exec" in server_timing(meta["server-timing"]), meta


# --------------------------------------------------------------------------------------------
# OTLP/HTTP JSON export


class Receiver:
    """An OTLP/HTTP receiver: POST /v1/traces with an ExportTraceServiceRequest in JSON; keeps
    every span. `hold` (an Event) makes it hang on each request until set (a slow receiver)."""

    def __init__(self, hold=None):
        self.spans = []
        self.lock = threading.Lock()
        self.bad = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if hold is not None:
                    hold.wait(60)
                try:
                    assert self.path == "/v1/traces", self.path
                    assert self.headers.get("Content-Type", "").startswith("application/json")
                    request = json.loads(body)
                    with receiver.lock:
                        for rs in request["resourceSpans"]:
                            for ss in rs["scopeSpans"]:
                                receiver.spans.extend(ss["spans"])
                except (AssertionError, ValueError, KeyError) as e:
                    with receiver.lock:
                        receiver.bad.append(repr(e))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["traceId"] == trace_id]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def attribute(span, key):
    for a in span["attributes"]:
        if a["key"] == key:
            return next(iter(a["value"].values()))
    return None


@pytest.mark.parametrize("direct", [True, False], ids=["2-hop", "3-hop"])
def test_three_hop_chain_is_one_trace_with_parented_spans(tmp_path, direct):
    receiver = Receiver()
    try:
        fns = [nj.function("relay", max_workers=4), nj.function("echo"),
               nj.test_function("traceparent", max_workers=4)]
        with nj.nightjar_up(tmp_path, functions=fns, engine={"direct_dispatch": direct},
                            tracing={"otlp_endpoint": receiver.endpoint,
                                     "service_name": "nightjar-test"}) as d:
            r = expect(call(d, "relay", "relay/echo:hi", headers={"traceparent": INCOMING}),
                       200, b"hi", d)
            root_id = r.headers["x-nightjar-call-id"]
            nj.wait_until(lambda: len(receiver.trace(INCOMING_TRACE)) >= 3, 30,
                          "three spans of the chain at the receiver")
            spans = receiver.trace(INCOMING_TRACE)
            assert len(spans) == 3, spans
            by_id = {s["spanId"]: s for s in spans}
            assert len(by_id) == 3, "duplicate span ids"
            [root] = [s for s in spans if s.get("parentSpanId") == INCOMING_PARENT]
            assert root["name"] == "relay" and attribute(root, "faas.invocation_id") == root_id
            [middle] = [s for s in spans if s.get("parentSpanId") == root["spanId"]]
            [leaf] = [s for s in spans if s.get("parentSpanId") == middle["spanId"]]
            assert (middle["name"], leaf["name"]) == ("relay", "echo")
            for s in spans:
                assert s["status"]["code"] == 1 and attribute(s, "nightjar.status") == "ok", s
                assert int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]), s
                assert CALL_ID_RE.match(attribute(s, "faas.invocation_id")), s
            assert int(root["startTimeUnixNano"]) <= int(leaf["startTimeUnixNano"])

            # The span ids the functions see are the ones exported (traceparent probe chain,
            # two C++ hops: direct when allowed).
            r = expect(call(d, "traceparent", "traceparent/traceparent"), 200, None, d)
            seen = traceparents(r.body)
            trace = seen[0][0]
            nj.wait_until(lambda: len(receiver.trace(trace)) >= 3, 30, "the probe chain's spans")
            exported = {s["spanId"]: s for s in receiver.trace(trace)}
            assert {span for _t, span, _f in seen} == set(exported), (seen, exported)
            parents = [exported[span].get("parentSpanId") for _t, span, _f in seen]
            assert parents[0] is None  # no incoming traceparent: a root
            assert parents[1:] == [seen[0][1], seen[1][1]], (parents, seen)
            # The path the parametrization promises was the one taken.
            status = json.loads(nj.request(d, "GET", "/status").body)
            n_direct = sum(f["calls"]["direct"] for e in status["engines"] for f in e["functions"])
            assert (n_direct > 0) == direct, status
        assert not receiver.bad, receiver.bad
    finally:
        receiver.close()


@pytest.mark.parametrize("kind", ["down", "slow"])
def test_a_receiver_that_is_down_or_slow_never_fails_calls(tmp_path, kind):
    hold = threading.Event()
    receiver = Receiver(hold=hold)
    endpoint = receiver.endpoint
    if kind == "down":
        receiver.close()  # nobody listens on that port now
    try:
        fns = [nj.function("relay", max_workers=4), nj.function("echo")]
        with nj.nightjar_up(tmp_path, functions=fns,
                            tracing={"otlp_endpoint": endpoint}) as d:
            for i in range(300):
                expect(call(d, "relay", f"echo:{i}"), 200, str(i).encode(), d, f"call {i}")
    finally:
        hold.set()
        if kind == "slow":
            receiver.close()


def test_split_deployment_passes_trace_and_breakdown_over_the_engine_link(tmp_path):
    with nj.split_deployment(tmp_path, [nj.function("echo"),
                                        nj.test_function("traceparent")]) as split:
        d = split.dep
        r = call(d, "echo", "early")  # no engine yet: the gateway's own 503, no call id
        assert r.status == 503 and "x-nightjar-call-id" not in r.headers, r.headers
        split.start_engine()
        nj.call_until(d, "echo", b"up", 200, tolerate={503}, timeout_s=nj.READY_TIMEOUT_S)
        start = time.monotonic()
        r = expect(call(d, "traceparent", "echo", headers={"traceparent": INCOMING}), 200, None, d)
        latency_ms = (time.monotonic() - start) * 1000
        [(trace, span, _f)] = traceparents(r.body.split(b"\n")[0])
        assert trace == INCOMING_TRACE and span != INCOMING_PARENT
        assert CALL_ID_RE.match(r.headers.get("x-nightjar-call-id", "")), r.headers
        parts = server_timing(r.headers["server-timing"])
        assert set(parts) == {"queue", "dispatch", "exec", "child"}, parts
        assert parts["queue"] + parts["dispatch"] + parts["exec"] <= latency_ms, (parts, latency_ms)
