"""GET /metrics (issue 15, docs/operations.md "Metrics"): Debian's Prometheus scrapes a live
`nightjar up` and reports the exact call counts per function and code; `promtool check metrics`
accepts the page; the split deployment merges each engine's metrics under an `engine` label;
HTTP/2 and gRPC calls are counted like HTTP/1.1 ones; `engine.metrics: false` answers 404."""
import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import nightjar_harness as nj
from nightjar_harness import call, expect

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

GRPC_DIR = nj.examples_dir().parent / "grpc"


# ---------------------------------------------------------------------------------------------
# Helpers

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_exposition(text: str) -> dict:
    """{(name, frozenset of (label, value))): float} of every sample line; also checks that
    every family has at most one HELP and one TYPE line (the format's rule)."""
    samples = {}
    seen_types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            key = (line[2:6], line.split(" ")[2])
            assert key not in seen_types, f"second {key[0]} line for {key[1]}:\n{text}"
            seen_types[key] = True
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset((k, bytes(v, "utf-8").decode("unicode_escape"))
                           for k, v in _LABEL_RE.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(m.group(3))
    return samples


def series(samples: dict, name: str, **labels) -> dict:
    """The samples of `name` whose labels include `labels`: {frozenset(labels): value}."""
    want = set(labels.items())
    return {ls: v for (n, ls), v in samples.items() if n == name and want <= ls}


def value(samples: dict, name: str, **labels) -> float:
    found = [v for (n, ls), v in samples.items() if n == name and ls == frozenset(labels.items())]
    assert len(found) == 1, f"{name}{labels}: {len(found)} series"
    return found[0]


def scrape(dep) -> tuple:
    r = nj.request(dep, "GET", "/metrics")
    assert r.status == 200, r.summary()
    return r, parse_exposition(r.body.decode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def promtool_check(text: bytes) -> None:
    res = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                         timeout=60)
    assert res.returncode == 0, (
        f"promtool check metrics failed ({res.returncode}):\n{res.stdout.decode()}"
        f"{res.stderr.decode()}\n--- page ---\n{text.decode()}")


@contextlib.contextmanager
def prometheus(workdir, target: str):
    """Debian's Prometheus scraping http://<target>/metrics every second, on a free port with
    its own TSDB under workdir; yields its base URL once /-/ready answers 200."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: nightjar\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['{target}']\n")
    log = open(workdir / "prometheus.log", "wb")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                             f"--storage.tsdb.path={workdir / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        def ready():
            assert proc.poll() is None, f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-4000:]}"
            with urllib.request.urlopen(f"{base}/-/ready", timeout=5) as r:
                return r.status == 200
        nj.wait_until(ready, 60, "prometheus to be ready", interval_s=0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def prom_query(base: str, query: str) -> list:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


# ---------------------------------------------------------------------------------------------
# Prometheus scraping a live `nightjar up`


def test_prometheus_scrapes_exact_counts_per_function_and_code(tmp_path):
    functions = [nj.function("echo"), nj.function("fail"), nj.function("relay"),
                 nj.function("slow", max_workers=2)]
    with nj.nightjar_up(tmp_path / "up", functions=functions) as d:
        for i in range(5):
            expect(call(d, "echo", f"e{i}"), 200, f"e{i}", d)
        for _ in range(3):
            expect(call(d, "fail", b""), 502, None, d)
        for _ in range(4):  # not configured: no series may appear for it
            expect(call(d, "no-such-function", b""), 404, None, d)
        for _ in range(2):
            expect(call(d, "slow", b"3000", headers={"X-Nightjar-Timeout-Ms": "50"}), 504, None, d)
        for i in range(2):
            expect(call(d, "relay", f"echo:r{i}"), 200, f"r{i}", d)
        want = {("echo", "200"): 5, ("fail", "502"): 3, ("slow", "504"): 2, ("relay", "200"): 2}

        with prometheus(tmp_path / "prom", f"{d.connect_host}:{d.port}") as prom:
            def counts():
                got = {(r["metric"]["function_name"], r["metric"]["code"]): float(r["value"][1])
                       for r in prom_query(prom, "gateway_function_invocation_total")}
                return got if got == want else None
            try:
                nj.wait_until(counts, 60, f"Prometheus to report {want}", interval_s=0.2)
            except AssertionError:
                got = prom_query(prom, "gateway_function_invocation_total")
                raise AssertionError(f"Prometheus has {got}\npage:\n{scrape(d)[0].body.decode()}")

            def one(query):
                res = prom_query(prom, query)
                return float(res[0]["value"][1]) if len(res) == 1 else None
            # The histogram counted the same calls; the engine counted the internal ones.
            assert one('gateway_functions_seconds_count{function_name="echo",code="200"}') == 5
            assert one('gateway_functions_seconds_bucket{function_name="fail",code="502",le="+Inf"}') == 3
            nj.wait_until(lambda: one('nightjar_internal_calls_total{caller="relay",callee="echo"}') == 2,
                          30, "nightjar_internal_calls_total relay -> echo = 2", interval_s=0.2)
            # echo ran 5 external + 2 internal calls; each reported its execution time.
            assert one('nightjar_function_execution_seconds_count{function="echo"}') == 7
            assert one('nightjar_function_calls_total{function="fail",outcome="function_error"}') == 3
            assert one('nightjar_function_calls_total{function="slow",outcome="timeout"}') == 2
            assert one('process_open_fds') > 0
            assert prom_query(prom, '{function_name="no-such-function"}') == []


# ---------------------------------------------------------------------------------------------
# The page itself


def test_metrics_page_passes_promtool_and_has_every_documented_family(tmp_path):
    functions = [nj.function("echo"), nj.function("fail"), nj.function("relay")]
    with nj.nightjar_up(tmp_path, functions=functions) as d:
        expect(call(d, "echo", b"x"), 200, b"x", d)
        expect(call(d, "fail", b""), 502, None, d)
        expect(call(d, "relay", b"echo:y"), 200, b"y", d)
        r, s = scrape(d)
        assert r.headers["content-type"] == CONTENT_TYPE
        promtool_check(r.body)
        assert value(s, "gateway_function_invocation_total", function_name="echo", code="200") == 1
        assert value(s, "gateway_function_invocation_total", function_name="fail", code="502") == 1
        assert value(s, "gateway_functions_seconds_count", function_name="relay", code="200") == 1
        assert value(s, "nightjar_function_calls_total", function="echo", outcome="ok") == 2
        assert value(s, "nightjar_internal_calls_total", caller="relay", callee="echo") == 1
        assert value(s, "nightjar_function_workers", function="echo", state="idle") >= 1
        assert value(s, "nightjar_function_queue_length", function="echo") == 0
        assert value(s, "nightjar_function_concurrency_target", function="echo") >= 1
        assert value(s, "nightjar_function_dispatch_delay_seconds_count", function="echo") == 2
        assert value(s, "nightjar_function_payload_bytes_total", function="echo", direction="in") == 2
        assert value(s, "nightjar_function_worker_starts_total", function="echo") >= 1
        assert value(s, "nightjar_function_worker_crashes_total", function="echo") == 0
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds"):
            assert len(series(s, name)) == 1, name  # one process: its metrics once
        assert value(s, "process_start_time_seconds") > time.time() - 3600

        # HEAD: the same head, no body; other methods: 405 with Allow.
        h = nj.request(d, "HEAD", "/metrics")
        assert h.status == 200 and h.body == b"" and h.headers["content-type"] == CONTENT_TYPE
        p = nj.request(d, "POST", "/metrics", b"")
        assert p.status == 405 and p.headers["allow"] == "GET, HEAD, OPTIONS", p.summary()
        # /status is unchanged.
        st = json.loads(nj.request(d, "GET", "/status").body)
        fn = {f["name"]: f for f in st["engines"][0]["functions"]}
        assert fn["echo"]["calls"]["ok"] == 2 and fn["fail"]["calls"]["failed"] == 1


def test_crashes_and_restarts_are_counted(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("crash"), nj.function("echo")]) as d:
        r = call(d, "crash", b"crash")
        assert r.status == 502, r.summary()
        nj.wait_until(lambda: value(scrape(d)[1], "nightjar_function_worker_starts_total",
                                    function="crash") >= 2, 30, "the crashed worker's replacement")
        s = scrape(d)[1]
        assert value(s, "nightjar_function_worker_crashes_total", function="crash") == 1
        assert value(s, "nightjar_function_calls_total", function="crash", outcome="worker_died") == 1
        assert value(s, "gateway_function_invocation_total", function_name="crash", code="502") == 1


def test_http2_and_grpc_calls_are_counted(tmp_path):
    grpc = pytest.importorskip("grpc", reason="python3-grpcio (scripts/setup.sh installs it)")
    functions = [nj.function("echo"),
                 nj.function("greeter") | {"handler": str((GRPC_DIR / "libgreeter.so").resolve()),
                                           "grpc": "helloworld.Greeter"}]
    with nj.nightjar_up(tmp_path, functions=functions) as d:
        for _ in range(3):
            res = subprocess.run(["curl", "-s", "--max-time", "60", "--http2-prior-knowledge",
                                  "--data-binary", "h2", f"{d.url}/function/echo"],
                                 capture_output=True, timeout=90)
            assert res.returncode == 0 and res.stdout == b"h2", res
        with grpc.insecure_channel(f"{d.connect_host}:{d.port}") as ch:
            stub = ch.unary_unary("/helloworld.Greeter/SayHello",
                                  request_serializer=lambda b: b, response_deserializer=lambda b: b)
            for _ in range(2):
                stub(b"", timeout=30)
            unknown = ch.unary_unary("/no.Such/Method", request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
            with pytest.raises(grpc.RpcError):
                unknown(b"", timeout=30)
        # Scraped over HTTP/2 too.
        res = subprocess.run(["curl", "-s", "--max-time", "60", "--http2-prior-knowledge",
                              "-D", "-", f"{d.url}/metrics"], capture_output=True, timeout=90)
        assert res.returncode == 0, res
        head, _, body = res.stdout.partition(b"\r\n\r\n")
        assert f"content-type: {CONTENT_TYPE}".encode() in head.lower(), head
        s = parse_exposition(body.decode())
        assert value(s, "gateway_function_invocation_total", function_name="echo", code="200") == 3
        assert value(s, "gateway_function_invocation_total", function_name="greeter",
                     code="200") == 2
        assert not [k for k in s if ("function_name", "no.Such") in k[1]
                    or ("function_name", "grpc:no.Such") in k[1]]


def test_metrics_off_answers_404_and_calls_still_work(tmp_path):
    with nj.nightjar_up(tmp_path, functions=[nj.function("echo")],
                        engine={"metrics": False}) as d:
        expect(call(d, "echo", b"x"), 200, b"x", d)
        r = nj.request(d, "GET", "/metrics")
        assert r.status == 404 and b"engine.metrics" in r.body, r.summary()
        st = json.loads(nj.request(d, "GET", "/status").body)
        assert st["engines"][0]["functions"][0]["calls"]["ok"] == 1


# ---------------------------------------------------------------------------------------------
# Split deployment: the gateway gathers each engine's metrics over its link


def test_split_deployment_merges_engine_metrics_with_an_engine_label(tmp_path):
    with nj.split_deployment(tmp_path, [nj.function("echo"), nj.function("relay")]) as split:
        d = split.dep
        # No engine yet: the gateway's own metrics only.
        r, s = scrape(d)
        promtool_check(r.body)
        assert not series(s, "nightjar_function_calls_total")
        split.start_engine()
        nj.call_until(d, "echo", b"hello", 200, tolerate={503}, timeout_s=nj.READY_TIMEOUT_S)
        expect(call(d, "relay", b"echo:z"), 200, b"z", d)
        r, s = scrape(d)
        promtool_check(r.body)
        ok = series(s, "nightjar_function_calls_total", function="echo", outcome="ok")
        assert len(ok) == 1, ok
        (labels, n), = ok.items()
        engine_label = dict(labels)["engine"]
        assert re.fullmatch(r"127\.0\.0\.1:\d+", engine_label), engine_label
        assert n == 2  # the external call that answered 200, and relay's internal one
        assert value(s, "nightjar_internal_calls_total", caller="relay", callee="echo",
                     engine=engine_label) == 1
        # Both processes' process metrics, in one family: the gateway's without the label.
        fds = series(s, "process_open_fds")
        assert {dict(ls).get("engine") for ls in fds} == {None, engine_label}, fds
        gw_echo = series(s, "gateway_function_invocation_total", function_name="echo",
                         code="200")
        assert sum(gw_echo.values()) >= 1
