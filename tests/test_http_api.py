"""The HTTP front end against one shared `nightjar up` (DESIGN.md §4, §8): payload sizes around
the inline/shared-memory boundary and the body limit, internal calls (chain, fanout), error
statuses, keep-alive, pipelining and idle timeouts."""
import http.client
import random

import pytest

import nightjar_harness as nj
from nightjar_harness import MIB, call, expect


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# nj.INLINE_PAYLOAD = inline payload of one message (docs/protocol.md); one more is the first
# size that needs shared memory. 16 MiB is the default gateway.max_body_bytes and function
# max_payload_bytes.
@pytest.mark.parametrize("size", [0, 1, nj.INLINE_PAYLOAD - 1, nj.INLINE_PAYLOAD,
                                  nj.INLINE_PAYLOAD + 1, 4096, 65537, MIB, 16 * MIB],
                         ids=lambda s: f"{s}B")
def test_echo_returns_input_exactly(dep, size):
    data = payload(size, seed=size)
    r = call(dep, "echo", data, timeout_s=120)
    expect(r, 200, data, dep, f"echo of {size} bytes")


def test_echo_same_size_repeated_reuses_regions_correctly(dep):
    # Several large calls in a row: a region reused or freed too early would show as wrong bytes.
    for i in range(5):
        data = payload(100_000 + i, seed=1000 + i)
        expect(call(dep, "echo", data), 200, data, dep, f"large echo #{i}")


@pytest.mark.parametrize("n", [0, 1, nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, MIB, 16 * MIB], ids=lambda s: f"{s}B")
def test_big_output(dep, n):
    want = (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]  # byte k = 'a' + k % 26
    r = call(dep, "big", str(n), timeout_s=120)
    expect(r, 200, want, dep, f"big({n})")


def test_nop_returns_empty_body(dep):
    expect(call(dep, "nop", b"anything"), 200, b"", dep, "nop")


@pytest.mark.parametrize("data,want", [(b"", b"Hello, world!"), (b"Ada", b"Hello, Ada!")],
                         ids=["empty", "name"])
def test_hello(dep, data, want):
    expect(call(dep, "hello", data), 200, want, dep, f"hello({data!r})")


def test_body_over_default_limit_is_413_and_gateway_keeps_serving(dep):
    r = nj.send_body_until_answered(dep, "/function/echo", nj.DEFAULT_MAX_BODY + 1)
    assert r.status == 413, f"16 MiB + 1 byte body: expected 413, got {r.summary()}"
    expect(call(dep, "echo", b"after-413"), 200, b"after-413", dep,
           "a new request after a 413")


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_chain_internal_calls(dep, depth):
    expect(call(dep, "chain", f"{depth}:hi"), 200, b"hi" + b"." * depth, dep,
           f"chain({depth}:hi)")


@pytest.mark.parametrize("n", [1, 4, 8])
def test_fanout_concurrent_internal_calls(dep, n):
    want = "\n".join(f"{i}:x" for i in range(n)).encode()
    expect(call(dep, "fanout", f"{n}:x"), 200, want, dep, f"fanout({n}:x)")


def test_fanout_with_payloads_over_inline_size(dep):
    data = "y" * 2000  # every child call's input and output needs shared memory
    want = "\n".join(f"{i}:{data}" for i in range(4)).encode()
    expect(call(dep, "fanout", f"4:{data}"), 200, want, dep, "fanout(4:<2000 bytes>)")


def test_unknown_function_is_404(dep):
    r = call(dep, "no-such-function", b"x")
    assert r.status == 404, f"unknown function: expected 404, got {r.summary()}"


def test_fail_is_502_with_message(dep):
    for attempt in range(2):  # a failing call must not break the worker for the next one
        r = call(dep, "fail", b"x")
        assert r.status == 502, f"fail #{attempt}: expected 502, got {r.summary()}"
        assert b"fail: requested failure" in r.body, \
            f"fail #{attempt}: 502 body lacks the function's message: {r.summary()}"


def test_healthz(dep):
    r = nj.request(dep, "GET", "/healthz")
    assert r.status == 200, f"GET /healthz: expected 200, got {r.summary()}"


def test_malformed_request_is_400_and_gateway_keeps_serving(dep):
    with nj.RawConnection(dep) as conn:
        conn.sendall(b"GARBAGE\r\n\r\n")
        r = conn.read_response()
        assert r.status == 400, f"b'GARBAGE\\r\\n\\r\\n': expected 400, got {r.summary()}"
    expect(call(dep, "echo", b"after-400"), 200, b"after-400", dep, "a new request after a 400")


def test_ipc_root_holds_an_instance_directory_while_running(dep):
    entries = [p for p in dep.ipc_root.iterdir()]
    assert any(p.is_dir() for p in entries), \
        f"expected an instance directory under {dep.ipc_root}, found {entries}"


def test_keep_alive_50_requests_on_one_connection(dep):
    conn = http.client.HTTPConnection(dep.connect_host, dep.port, timeout=nj.REQUEST_TIMEOUT_S)
    try:
        first_sock = None
        for i in range(50):
            body = f"keepalive-{i}".encode() * (i + 1)
            conn.request("POST", "/function/echo", body=body)
            resp = conn.getresponse()
            got = resp.read()
            assert resp.status == 200 and got == body, \
                f"request {i}: HTTP {resp.status}, body {got[:100]!r} (expected {body[:100]!r})"
            assert (resp.getheader("Connection") or "").lower() != "close", \
                f"request {i}: gateway asked to close a keep-alive connection"
            if first_sock is None:
                first_sock = conn.sock
            assert conn.sock is first_sock and first_sock is not None, \
                f"request {i}: the connection was not kept alive (client had to reconnect)"
    finally:
        conn.close()


def test_pipelining_responses_in_request_order(dep):
    bodies = [f"pipelined-{i}-".encode() * (1 + 97 * i) for i in range(10)]  # up to ~13 KB
    with nj.RawConnection(dep) as conn:
        conn.sendall(b"".join(nj.http_request_bytes("POST", "/function/echo", b) for b in bodies))
        for i, b in enumerate(bodies):
            r = conn.read_response()
            assert r.status == 200, f"pipelined response {i}: {r.summary()}"
            assert r.body == b, (f"pipelined response {i} out of order or wrong: got "
                                 f"{r.body[:40]!r}... ({len(r.body)} bytes), expected "
                                 f"{b[:40]!r}... ({len(b)} bytes)")


def test_pipelining_keeps_order_when_first_call_is_slowest(dep):
    requests = [("slow", b"300", b"slept 300ms"), ("echo", b"one", b"one"),
                ("hello", b"two", b"Hello, two!"), ("echo", b"three", b"three"),
                ("nop", b"", b"")]
    with nj.RawConnection(dep) as conn:
        conn.sendall(b"".join(nj.http_request_bytes("POST", f"/function/{fn}", data)
                              for fn, data, _ in requests))
        for i, (fn, data, want) in enumerate(requests):
            r = conn.read_response()
            assert r.status == 200 and r.body == want, \
                f"pipelined response {i} ({fn}): expected {want!r}, got {r.summary()}"


def test_pipelined_request_split_across_writes(dep):
    # One request delivered byte-group by byte-group, the next glued to its tail.
    one = nj.http_request_bytes("POST", "/function/echo", b"first")
    two = nj.http_request_bytes("POST", "/function/echo", b"second")
    stream = one + two
    with nj.RawConnection(dep) as conn:
        for i in range(0, len(stream), 7):
            conn.sendall(stream[i:i + 7])
        for want in (b"first", b"second"):
            r = conn.read_response()
            assert r.status == 200 and r.body == want, f"expected {want!r}, got {r.summary()}"


def test_idle_connections_are_closed(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")],
                        gateway={"idle_timeout_ms": 300}) as d:
        # A keep-alive connection that goes quiet after one request...
        with nj.RawConnection(d) as conn:
            conn.sendall(nj.http_request_bytes("POST", "/function/echo", b"ping"))
            expect(conn.read_response(), 200, b"ping", d, "echo before going idle")
            assert conn.wait_closed(timeout_s=10), \
                "gateway did not close a connection idle for 10 s (idle_timeout_ms: 300)"
        # ...and one that never sends anything.
        with nj.RawConnection(d) as conn:
            assert conn.wait_closed(timeout_s=10), \
                "gateway did not close a silent connection within 10 s (idle_timeout_ms: 300)"
        expect(call(d, "echo", b"still-up"), 200, b"still-up", d, "new request after idle closes")


def test_configured_max_body_bytes(tmp_path):
    limit = 1024
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")],
                        gateway={"max_body_bytes": limit}) as d:
        data = payload(limit, seed=7)
        expect(call(d, "echo", data), 200, data, d, f"body of exactly max_body_bytes ({limit})")
        r = nj.send_body_until_answered(d, "/function/echo", limit + 1)
        assert r.status == 413, f"body of max_body_bytes + 1: expected 413, got {r.summary()}"
        expect(call(d, "echo", b"ok"), 200, b"ok", d, "request after a 413")


def test_headers_over_the_limit_are_431(dep):
    # gateway.max_header_bytes defaults to 16 KiB.
    with nj.RawConnection(dep) as conn:
        conn.sendall(b"POST /function/echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                     b"\r\nContent-Length: 0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 431, f"20 KB of headers: expected 431, got {r.summary()}"
    expect(call(dep, "echo", b"after-431"), 200, b"after-431", dep, "a new request after a 431")


def test_wrong_method_and_bad_timeout_header(dep):
    r = nj.request(dep, "GET", "/function/echo")
    assert r.status == 405, f"GET /function/echo: expected 405, got {r.summary()}"
    r = call(dep, "echo", b"x", {"X-Nightjar-Timeout-Ms": "soon"})
    assert r.status == 400 and b"X-Nightjar-Timeout-Ms" in r.body, r.summary()
    r = nj.request(dep, "GET", "/nowhere")
    assert r.status == 404, f"GET /nowhere: expected 404, got {r.summary()}"
