"""Function logs (issue 15, part C; docs/operations.md, "Function logs"): what workers write
on stdout and stderr reaches GET /logs/<function> and `nightjar logs`, tagged with function,
worker, stream and the call id -- from C++, Python, Node.js and Go functions; a function that
floods its output or never ends a line keeps serving, and so does everyone else; the ring's
bound and its drop count; --follow; a worker that dies mid-line; container isolation."""
import os
import re
import shutil
import signal
import subprocess
import threading
import urllib.parse

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect

# "2026-11-30T08:00:00.123456Z <function> w<worker>|p<pid> <stream> <call id|-> <text>"
LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (w\d+|p\d+) "
                     r"(stdout|stderr) ([0-9a-f]{16}|-) (.*)$")
FUNCTION_SHIFT = 52  # proto::CallId: the function id is the top 12 bits


def probe():
    return nj.test_function("log_probe")


def get_logs(d, fn, query=""):
    r = nj.request(d, "GET", f"/logs/{urllib.parse.quote(fn)}{query}")
    expect(r, 200, dep=d, what=f"GET /logs/{fn}{query}")
    return r


def parse(body: bytes):
    """The log lines of a /logs body as tuples (time, fn, worker, stream, call id, text);
    '#' lines as ("#", text)."""
    out = []
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("#"):
            out.append(("#", line))
            continue
        m = LINE_RE.match(line)
        assert m, f"malformed log line {line!r}"
        out.append(m.groups())
    return out


def wait_for_line(d, fn, pred, what, timeout_s=20):
    """Polls GET /logs/<fn> until a parsed line satisfies pred; returns that line."""
    def find():
        for line in parse(get_logs(d, fn).body):
            if line[0] != "#" and pred(line):
                return line
        return None
    return nj.wait_until(find, timeout_s, what)


def with_text(text):
    return lambda line: line[5] == text


def test_cpp_print_is_tagged_with_function_worker_stream_and_call_id(tmp_path):
    fns = [nj.function("echo"), probe()]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        id_a = expect(call(d, "log_probe", b"print:tok-a"), 200, b"tok-a", d) \
            .headers.get("x-nightjar-call-id")
        id_b = expect(call(d, "log_probe", b"print:tok-b"), 200, b"tok-b", d) \
            .headers.get("x-nightjar-call-id")
        out_a = wait_for_line(d, "log_probe", with_text("out tok-a"), "stdout line of call a")
        err_a = wait_for_line(d, "log_probe", with_text("err tok-a"), "stderr line of call a")
        out_b = wait_for_line(d, "log_probe", with_text("out tok-b"), "stdout line of call b")
        assert out_a[1] == "log_probe" and out_a[3] == "stdout" and err_a[3] == "stderr"
        assert out_a[2].startswith("w"), out_a
        # The call id: 16 hex digits whose function bits name log_probe (function id 2), the
        # same for both streams of one call, different for another call.
        assert out_a[4] != "-" and int(out_a[4], 16) >> FUNCTION_SHIFT == 2, out_a
        assert err_a[4] == out_a[4], (out_a, err_a)
        assert out_b[4] != out_a[4], (out_a, out_b)
        # ... and exactly the id the answer to that call carried (X-Nightjar-Call-Id).
        assert (out_a[4], out_b[4]) == (id_a, id_b), (out_a, out_b, id_a, id_b)
        # A line a call leaves open ends with the call, and keeps its call id.
        expect(call(d, "log_probe", b"partial:tok-c"), 200, b"tok-c", d)
        open_c = wait_for_line(d, "log_probe", with_text("open tok-c"), "the open line")
        assert open_c[4] != "-" and open_c[4] not in (out_a[4], out_b[4]), open_c
        # The real CLI shows the same lines.
        url = f"http://{d.connect_host}:{d.port}"
        res = nj.run_cli(["logs", "log_probe", "--gateway", url])
        assert res.returncode == 0, nj.cli_summary(res)
        lines = parse(res.stdout)
        assert any(l[5] == "out tok-a" and l[4] == out_a[4] for l in lines), nj.cli_summary(res)
        res = nj.run_cli(["logs", "log_probe", "--url", url, "--lines", "1"])
        assert res.returncode == 0 and len(parse(res.stdout)) == 1, nj.cli_summary(res)
        # Another function's ring is its own; an unknown function is a clear 404.
        assert parse(get_logs(d, "echo").body) == []
        r = nj.request(d, "GET", "/logs/no-such-fn")
        assert r.status == 404 and b"no-such-fn" in r.body, r.summary()
        res = nj.run_cli(["logs", "no-such-fn", "--gateway", url])
        assert res.returncode == 1 and b"404" in res.stderr, nj.cli_summary(res)
        r = nj.request(d, "GET", "/logs/log_probe?after=x")
        assert r.status == 400, r.summary()
        assert nj.request(d, "POST", "/logs/log_probe", b"").status == 405
        # HTTP/2 gets the same answer (one route for both): lines, cursor, 404.
        if shutil.which("curl"):
            def h2_get(path):
                res = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-D", "-",
                                      f"{url}{path}"], capture_output=True, timeout=60)
                assert res.returncode == 0, res
                return res.stdout
            out = h2_get("/logs/log_probe?lines=2")
            assert b"HTTP/2 200" in out and b"x-nightjar-log-cursor:" in out, out
            assert len([l for l in out.split(b"\n") if LINE_RE.match(l.decode())]) == 2, out
            out = h2_get("/logs/no-such-fn")
            assert b"HTTP/2 404" in out and b'no function named "no-such-fn"' in out, out


def test_python_node_and_go_prints_carry_their_call_ids(tmp_path):
    fns = [nj.python_function("py-log", "probe.py:log_print"),
           nj.python_function("py-alog", "probe.py:log_print_async"),
           nj.node_function("node-log", "probe.js#logPrint"),
           nj.go_function("go-logprint", "probe")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        cases = [("py-log", "py-tok", [("stdout", "py out py-tok"), ("stderr", "py err py-tok")]),
                 ("py-alog", "pya-tok", [("stdout", "py async pya-tok")]),
                 ("node-log", "node-tok",
                  [("stdout", "node out node-tok"), ("stderr", "node err node-tok")]),
                 ("go-logprint", "go-tok", [("stderr", "go tagged go-tok")])]
        for fn, token, want in cases:
            r = expect(call(d, fn, token.encode()), 200, dep=d)
            call_id = r.body.decode()
            assert re.fullmatch(r"[0-9a-f]{16}", call_id), (fn, call_id)
            assert r.headers.get("x-nightjar-call-id") == call_id, (fn, r.headers, call_id)
            for stream, text in want:
                line = wait_for_line(d, fn, with_text(text), f"{fn}: {text!r}")
                assert line[3] == stream and line[4] == call_id, (fn, line, call_id)
                assert line[2].startswith("w"), line  # the slot's worker id
        # The real CLI shows the same tags.
        url = f"http://{d.connect_host}:{d.port}"
        for fn, token, want in cases:
            res = nj.run_cli(["logs", fn, "--gateway", url])
            assert res.returncode == 0, nj.cli_summary(res)
            got = {(l[3], l[5]) for l in parse(res.stdout) if l[0] != "#" and l[4] != "-"}
            assert set(want) <= got, (fn, want, nj.cli_summary(res))
        # Go's plain fmt.Println is captured, untagged, as the process's output.
        plain = wait_for_line(d, "go-logprint", with_text("go plain go-tok"), "go's fmt line")
        assert plain[4] == "-" and plain[3] == "stdout" and plain[2].startswith("p"), plain


def test_floods_and_endless_lines_are_bounded_and_everyone_keeps_serving(tmp_path):
    fns = [nj.function("echo"), probe()]
    logs = {"logs": {"lines_per_function": 50, "max_line_bytes": 100}}
    with nj.nightjar_up(tmp_path, functions=fns, extra=logs) as d:
        expect(call(d, "log_probe", b"flood:2000"), 200, b"2000", d)
        last = wait_for_line(d, "log_probe", with_text("flood 1999"), "the flood's last line")
        lines = parse(get_logs(d, "log_probe").body)
        kept = [l for l in lines if l[0] != "#"]
        assert len(kept) == 50, f"the ring holds 50 lines, got {len(kept)}"
        assert [l[5] for l in kept] == [f"flood {i}" for i in range(1950, 2000)]
        assert all(l[4] == last[4] for l in kept)
        assert lines[0] == ("#", "# 1950 lines dropped"), lines[0]
        # A cursor read: only what came after it, and how much the ring lost meanwhile.
        r = get_logs(d, "log_probe")
        cursor = int(r.headers["x-nightjar-log-cursor"])
        assert cursor == 2000, r.headers
        assert parse(get_logs(d, "log_probe", f"?after={cursor}").body) == []
        expect(call(d, "log_probe", b"flood:60"), 200, b"60", d)
        wait_for_line(d, "log_probe", with_text("flood 59"), "the second flood's last line")
        after = parse(get_logs(d, "log_probe", f"?after={cursor}").body)
        assert after[0] == ("#", "# 10 lines dropped"), after[:2]
        assert [l[5] for l in after[1:]] == [f"flood {i}" for i in range(10, 60)]

        # 50 MB without a newline: the call completes, its line is cut at 100 bytes, and
        # the function and its neighbours answer meanwhile and afterwards.
        big = {}
        writer = threading.Thread(
            target=lambda: big.update(r=call(d, "log_probe", b"nonl:52428800", timeout_s=120)))
        writer.start()
        for i in range(20):
            expect(call(d, "echo", f"during {i}".encode()), 200, f"during {i}".encode(), d)
        writer.join(timeout=180)
        expect(big["r"], 200, b"52428800", d)
        cut = wait_for_line(d, "log_probe", lambda l: l[5].startswith("x"), "the cut line")
        assert cut[5] == "x" * 100 + " [cut at 100 bytes]", cut[5][:200]
        expect(call(d, "echo", b"still here"), 200, b"still here", d)
        expect(call(d, "log_probe", b"print:after-flood"), 200, b"after-flood", d)
        line = wait_for_line(d, "log_probe", with_text("out after-flood"), "a line after")
        assert line[4] != "-" and line[4] != cut[4]


def test_follow_prints_new_lines_and_ends_when_killed(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[probe()]) as d:
        check_follow(d)


def check_follow(d):
    """`nightjar logs --follow` prints lines written after it started, each once, and ends
    when killed."""
    url = f"http://{d.connect_host}:{d.port}"
    proc = subprocess.Popen([str(nj.nightjar_bin()), "logs", "log_probe", "--follow",
                             "--gateway", url, "--interval-ms", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, b"")),
                              daemon=True)
    reader.start()
    try:
        expect(call(d, "log_probe", b"print:followed"), 200, b"followed", d)
        nj.wait_until(lambda: any(b"out followed" in l for l in seen), 20,
                      "the follower to print a line written after it started")
        expect(call(d, "log_probe", b"print:followed2"), 200, b"followed2", d)
        nj.wait_until(lambda: any(b"out followed2" in l for l in seen), 20,
                      "the follower to print a second line")
        assert sum(b"out followed\n" in l for l in seen) == 1, seen  # once, not per poll
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        reader.join(timeout=10)
    assert rc == -signal.SIGTERM, rc


def test_a_worker_that_dies_mid_line_leaves_its_line_and_is_replaced(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[probe()]) as d:
        r = call(d, "log_probe", b"crash:last-words")
        assert r.status == 502, r.summary()
        line = wait_for_line(d, "log_probe", with_text("dying last-words"), "the dying line")
        assert line[3] == "stderr" and line[4] == "-", line  # a raw write(2) is untagged
        nj.call_until(d, "log_probe", b"print:reborn", 200, tolerate={502, 503}, timeout_s=30)
        wait_for_line(d, "log_probe", with_text("out reborn"), "the replacement's line")


def test_worker_logs_flag_echoes_lines_to_stderr(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[probe()], args=["--worker-logs", "all"]) as d:
        expect(call(d, "log_probe", b"print:echoed"), 200, b"echoed", d)
        nj.wait_until(lambda: "log_probe" in d.process.stderr_text() and
                      "out echoed" in d.process.stderr_text(), 20, "the line on stderr")


RUNC = shutil.which("runc") or "/usr/sbin/runc"


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(RUNC),
                    reason="containers need root and runc")
def test_container_workers_are_captured(tmp_path):
    fns = [probe() | {"isolation": "container"}]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "log_probe", b"print:boxed"), 200, b"boxed", d)
        line = wait_for_line(d, "log_probe", with_text("out boxed"), "the container's line")
        assert line[4] != "-" and int(line[4], 16) >> FUNCTION_SHIFT == 1, line


def test_split_deployment_gathers_logs_through_the_gateway(tmp_path):
    with nj.split_deployment(tmp_path, [probe()]) as split:
        d = split.dep
        split.start_engine()
        nj.call_until(d, "log_probe", b"print:split", 200, tolerate={503},
                      timeout_s=nj.READY_TIMEOUT_S)
        line = wait_for_line(d, "log_probe", with_text("out split"), "the line via the link")
        assert line[4] != "-", line
        r = get_logs(d, "log_probe")
        assert "x-nightjar-log-cursor" not in r.headers, r.headers  # engines' cursors differ
        assert nj.request(d, "GET", "/logs/nope").status == 404
        check_follow(d)  # without a cursor, by time stamps
