"""HTTP/2 on the gateway's port (issue 13; src/gateway/h2_session.h, http2_handler.h): prior
knowledge and `Upgrade: h2c` with curl, the same statuses and bodies as HTTP/1.1, many
concurrent streams on one connection, and hostile clients speaking raw frames (a malformed
frame, a flood of RST_STREAMs, stalled streams), which must leave the gateway serving the
others; GOAWAY when the gateway shuts down."""
import socket
import struct
import subprocess
import threading
import time

import pytest

import nightjar_harness as nj
from nightjar_harness import MIB

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def curl(dep, *args, body=None):
    cmd = ["curl", "-s", "--max-time", "60", *args]
    if body is not None:
        cmd += ["--data-binary", "@-"]
    res = subprocess.run(cmd, input=body, capture_output=True, timeout=90)
    assert res.returncode == 0, res
    return res.stdout


# --------------------------------------------------------------------------------------------
# Raw frames (RFC 9113 §4): enough of a client to misbehave on purpose.


def frame(ftype: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(
        ">I", stream) + payload


def hpack_literal(name: bytes, value: bytes) -> bytes:
    # Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2);
    # short strings only.
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request_headers(path: bytes, method: bytes = b"POST") -> bytes:
    return (hpack_literal(b":method", method) + hpack_literal(b":scheme", b"http") +
            hpack_literal(b":path", path) + hpack_literal(b":authority", b"gw"))


class RawH2:
    def __init__(self, dep):
        self.sock = socket.create_connection((dep.connect_host, dep.port), timeout=30)
        self.buf = b""
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data: bytes):
        self.sock.sendall(data)

    def read_frame(self):
        """(type, flags, stream, payload), or None at EOF."""
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    f = self.buf[:9 + length]
                    self.buf = self.buf[9 + length:]
                    return f[3], f[4], int.from_bytes(f[5:9], "big") & 0x7FFFFFFF, f[9:]
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def frames_until_close(self, limit_s: float = 30):
        frames = []
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            f = self.read_frame()
            if f is None:
                break
            frames.append(f)
        return frames

    def close(self):
        self.sock.close()


def assert_serving(dep, what):
    r = nj.call(dep, "echo", b"still-here")
    nj.expect(r, 200, b"still-here", dep, what)
    out = curl(dep, "--http2-prior-knowledge", f"{dep.url}/function/echo", body=b"h2-still-here")
    assert out == b"h2-still-here", what


# --------------------------------------------------------------------------------------------
# curl


def test_prior_knowledge_echo(dep):
    out = curl(dep, "--http2-prior-knowledge", "-w", " %{http_code} %{http_version}",
               f"{dep.url}/function/echo", body=b"ping")
    assert out == b"ping 200 2"


def test_upgrade_h2c_echo(dep):
    out = curl(dep, "--http2", "-w", " %{http_code} %{http_version}", f"{dep.url}/function/echo",
               body=b"ping")
    assert out == b"ping 200 2"


def test_upgrade_h2c_get_and_then_more_streams_on_the_connection(dep):
    # The upgraded request is stream 1; the next URLs reuse the connection as HTTP/2 streams.
    out = curl(dep, "--http2", "-w", "[%{http_code} %{http_version}]", f"{dep.url}/healthz",
               f"{dep.url}/healthz", f"{dep.url}/status?format=text")
    assert out.startswith(b"ok\n[200 2]ok\n[200 2]") and out.endswith(b"[200 2]"), out


@pytest.mark.parametrize("size", [0, nj.INLINE_PAYLOAD, nj.INLINE_PAYLOAD + 1, MIB],
                         ids=lambda s: f"{s}B")
def test_bodies_in_both_directions(dep, size):
    data = bytes((i * 7) & 0xFF for i in range(size))
    out = curl(dep, "--http2-prior-knowledge", f"{dep.url}/function/echo", body=data)
    assert out == data


@pytest.mark.parametrize("method,path,body,headers", [
    ("POST", "/function/hello", b"Ada", []),
    ("POST", "/function/no-such", b"", []),
    ("POST", "/function/fail", b"", []),
    ("POST", "/function/crash", b"crash", []),
    ("GET", "/function/echo", None, []),
    ("OPTIONS", "/function/echo", None, []),
    ("GET", "/healthz", None, []),
    ("HEAD", "/healthz", None, []),
    ("DELETE", "/healthz", None, []),
    ("GET", "/nowhere", None, []),
    ("POST", "/function/slow", b"2000", ["X-Nightjar-Timeout-Ms: 100"]),
    ("POST", "/function/echo", b"x", ["X-Nightjar-Timeout-Ms: nope"]),
    ("POST", "/function/bad%zz", b"", []),
], ids=["ok", "404", "502-fail", "502-crash", "405", "options", "healthz", "head", "405-healthz",
        "404-path", "504", "400-timeout", "400-escape"])
def test_same_status_body_and_allow_as_http11(dep, method, path, body, headers):
    def run(proto):
        args = [proto, "-X", method, "-D", "-", "-o", "-"]
        if method == "HEAD":
            args = [proto, "-I"]
        for h in headers:
            args += ["-H", h]
        out = curl(dep, *args, f"{dep.url}{path}", body=body)
        head, _, payload = out.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(b":") for line in lines[1:])}
        return status, payload, fields.get(b"allow"), fields.get(b"content-type")

    h1 = run("--http1.1")
    h2 = run("--http2-prior-knowledge")
    assert h1 == h2, (h1, h2)


def test_hundred_concurrent_streams_on_one_connection_each_answered(dep, tmp_path):
    # curl multiplexes the parallel transfers over one HTTP/2 connection (num_connects
    # counts the connections each transfer opened: one in all). Each answer goes to its own
    # file, so that answers arriving interleaved stay apart.
    n = 100
    args = ["--http2-prior-knowledge", "--parallel", "--parallel-max", str(n)]
    for i in range(n):
        if i:
            args.append("--next")
        args += ["--data-binary", f"body-{i}", "-o", str(tmp_path / f"out-{i}"),
                 "-w", f"{i}:%{{http_code}}:%{{num_connects}}\n", f"{dep.url}/function/echo"]
    out = curl(dep, *args).decode()
    results = {}
    for line in out.splitlines():
        i, code, connects = line.split(":")
        results[int(i)] = (code, int(connects))
    assert sorted(results) == list(range(n)), out[:2000]
    for i, (code, _) in results.items():
        assert code == "200" and (tmp_path / f"out-{i}").read_bytes() == f"body-{i}".encode(), i
    assert sum(c for _, c in results.values()) == 1, "expected one connection"


def test_h2load_against_nop_all_2xx(dep, tmp_path):
    (tmp_path / "body").write_bytes(b"x")
    res = subprocess.run(["h2load", "-n", "2000", "-c", "2", "-m", "50", "-d",
                          str(tmp_path / "body"), f"{dep.url}/function/nop"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res
    assert "2000 succeeded" in res.stdout and "status codes: 2000 2xx" in res.stdout, res.stdout


# --------------------------------------------------------------------------------------------
# Raw frames


def test_raw_client_request_and_answer(dep):
    c = RawH2(dep)
    c.send(frame(HEADERS, END_HEADERS, 1, request_headers(b"/function/echo")) +
           frame(DATA, END_STREAM, 1, b"raw"))
    got = b""
    while True:
        f = c.read_frame()
        assert f is not None
        if f[0] == DATA and f[2] == 1:
            got += f[3]
            if f[1] & END_STREAM:
                break
    c.close()
    assert got == b"raw"


@pytest.mark.parametrize("bad", [
    frame(SETTINGS, 0, 0, b"\x00\x03\x00"),          # length not a multiple of 6
    frame(HEADERS, END_HEADERS, 2, request_headers(b"/healthz", b"GET")),  # even stream id
    frame(DATA, 0, 1, b"no such stream"),            # DATA on an idle stream
    frame(PING, 0, 3, b"12345678"),                  # PING on a stream
    frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff"),  # HPACK garbage
    b"\x00\x00",                                     # a truncated frame, then EOF
    PREFACE[:10] + b"garbage!!" * 3,                 # not the preface after all
], ids=["settings-size", "even-stream", "data-idle", "ping-stream", "hpack", "truncated",
        "bad-preface"])
def test_malformed_frames_end_that_connection_only(dep, bad):
    if bad.startswith(PREFACE[:10]):
        s = socket.create_connection((dep.connect_host, dep.port), timeout=30)
        s.sendall(bad)
        s.settimeout(30)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        s.close()
    else:
        c = RawH2(dep)
        c.send(bad)
        if bad == b"\x00\x00":
            c.sock.shutdown(socket.SHUT_WR)
        frames = c.frames_until_close()
        c.close()
        if bad != b"\x00\x00":
            assert any(f[0] == GOAWAY for f in frames), frames
    assert_serving(dep, "after a malformed frame")


def test_rst_stream_flood_leaves_the_gateway_serving(dep):
    c = RawH2(dep)
    burst = b""
    for i in range(5000):
        sid = 2 * i + 1
        burst += frame(HEADERS, END_HEADERS, sid, request_headers(b"/function/slow")) + \
            frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
    try:
        c.send(burst)
    except (BrokenPipeError, ConnectionResetError):
        pass  # told to go away (rapid reset protection) mid-flood
    frames = c.frames_until_close(limit_s=10)
    c.close()
    assert any(f[0] == GOAWAY for f in frames), "the flood should end in GOAWAY"
    assert_serving(dep, "after an RST_STREAM flood")


def test_calls_reset_by_the_client_are_dropped_and_others_answered(dep):
    c = RawH2(dep)
    # Stream 1: a slow call, reset while it runs; stream 3: a quick one, answered.
    c.send(frame(HEADERS, END_HEADERS, 1, request_headers(b"/function/slow")) +
           frame(DATA, END_STREAM, 1, b"300"))
    c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    c.send(frame(HEADERS, END_HEADERS, 3, request_headers(b"/function/echo")) +
           frame(DATA, END_STREAM, 3, b"three"))
    got = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        f = c.read_frame()
        assert f is not None
        if f[0] == DATA:
            got[f[2]] = got.get(f[2], b"") + f[3]
            if f[2] == 3 and f[1] & END_STREAM:
                break
    # The answer to stream 1 (due after 300 ms) must never come: ask a PING and wait past it.
    time.sleep(0.5)
    c.send(frame(PING, 0, 0, b"pingpong"))
    while True:
        f = c.read_frame()
        assert f is not None
        if f[0] == PING and f[1] & ACK:
            break
        assert not (f[2] == 1 and f[0] in (HEADERS, DATA)), f
    c.close()
    assert got == {3: b"three"}


def test_header_list_over_the_limit_is_431(dep):
    # One 20 KB field: over gateway.max_header_bytes (16 KiB) in HTTP/2 as in HTTP/1.1. curl
    # splits the header block into HEADERS + CONTINUATION frames.
    big = "X-Big: " + "v" * 20000
    for proto in ("--http2-prior-knowledge", "--http1.1"):
        out = curl(dep, proto, "-H", big, "-o", "/dev/null", "-w", "%{http_code}",
                   f"{dep.url}/function/echo", body=b"x")
        assert out == b"431", (proto, out)
    assert_serving(dep, "after an oversized header list")


# --------------------------------------------------------------------------------------------
# Shutdown


def test_goaway_on_shutdown(tmp_path):
    frames = []
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")]) as d:
        c = RawH2(d)
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_headers(b"/healthz", b"GET")))
        while True:  # the answer to stream 1: the connection is established
            f = c.read_frame()
            assert f is not None
            if f[2] == 1 and f[1] & END_STREAM:
                break
        reader = threading.Thread(target=lambda: frames.extend(c.frames_until_close()))
        reader.start()
    reader.join(timeout=30)
    c.close()
    goaways = [f for f in frames if f[0] == GOAWAY]
    assert goaways, frames
    last_stream, code = struct.unpack(">II", goaways[0][3][:8])
    assert (last_stream & 0x7FFFFFFF, code) == (1, 0)  # NO_ERROR, stream 1 processed
