#!/usr/bin/python3
"""A Grafana-style picture of GET /metrics from a real run (docs/operations.md, "Metrics").

Starts `nightjar up` (build/release, functions echo, relay, fail, slow from examples/cpp),
Debian's prometheus scraping it every second, and a load of three phases against it; then asks
Prometheus's HTTP API for ranges (query_range) of the queries docs/operations.md shows -- call
rate per function, p99 latency per function from gateway_functions_seconds, error ratio --
and plots them with gnuplot (as bench/plots.cc does) into one PNG.

    /usr/bin/python3 scripts/metrics_dashboard.py [--seconds 60] [--out bench/results/metrics_dashboard.png]

The load, per phase of a third of the run each (rates are what the client threads aim at):
  1. echo 100/s, relay -> echo 40/s
  2. echo 300/s, relay 80/s, fail 20/s, slow (5 ms) 20/s, slow past its deadline 2/s (504)
  3. echo 50/s, relay 20/s
Uses the standard library and the test harness (tests/nightjar_harness.py) only.
"""
import argparse
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
import nightjar_harness as nj  # noqa: E402

FUNCTIONS = ["echo", "relay", "fail", "slow"]

# (function, body, headers, rate per phase)
STREAMS = [
    ("echo", b"ping", {}, (100, 300, 50)),
    ("relay", b"echo:hop", {}, (40, 80, 20)),
    ("fail", b"", {}, (0, 20, 0)),
    ("slow", b"5", {}, (0, 20, 0)),
    ("slow", b"500", {"X-Nightjar-Timeout-Ms": "50"}, (0, 2, 0)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drive(dep, fn, body, headers, rates, start, seconds, stop, counts):
    """Calls fn at rates[phase] per second (paced from the start, on one keep-alive
    connection) until the run ends."""
    conn = http.client.HTTPConnection(dep.connect_host, dep.port, timeout=30)
    phase_len = seconds / 3
    next_t = start
    while not stop.is_set():
        now = time.monotonic()
        if now - start >= seconds:
            break
        rate = rates[min(2, int((now - start) / phase_len))]
        if rate == 0:
            time.sleep(0.05)
            next_t = time.monotonic()
            continue
        if now < next_t:
            time.sleep(next_t - now)
        next_t = max(next_t + 1.0 / rate, time.monotonic() - 0.5)
        try:
            conn.request("POST", f"/function/{fn}", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            counts[r.status] = counts.get(r.status, 0) + 1
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(dep.connect_host, dep.port, timeout=30)
    conn.close()


def query_range(base, query, start, end, step):
    url = f"{base}/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": query, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    if body["status"] != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


def write_series(path: Path, result, label: str, t0: float, scale: float = 1.0) -> list:
    """One data block per series (gnuplot `index`); returns their titles."""
    titles = []
    with open(path, "w") as f:
        for s in sorted(result, key=lambda s: s["metric"].get(label, "")):
            titles.append(s["metric"].get(label, "?"))
            f.write(f"# {titles[-1]}\n")
            for t, v in s["values"]:
                v = float(v)
                f.write(f"{float(t) - t0:.1f} {v * scale if v == v else '?'}\n")
            f.write("\n\n")
    return titles


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "metrics_dashboard.png"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nightjar-dashboard-"))
    functions = [nj.function("echo"), nj.function("relay"), nj.function("fail"),
                 nj.function("slow", max_workers=16)]
    with nj.nightjar_up(work / "up", functions=functions) as dep:
        port = free_port()
        (work / "prom").mkdir()
        cfg = work / "prom" / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nightjar\n"
                       f"    static_configs:\n      - targets: ['{dep.connect_host}:{dep.port}']\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={cfg}",
                                 f"--storage.tsdb.path={work / 'prom' / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            nj.wait_until(lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=5).status == 200,
                          60, "prometheus ready", interval_s=0.1)
            t0 = time.time()
            start = time.monotonic()
            stop = threading.Event()
            counts = {}
            threads = [threading.Thread(target=drive, args=(dep, fn, body, hdr, rates, start,
                                                            args.seconds, stop, counts))
                       for fn, body, hdr, rates in STREAMS]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(3)  # two more scrapes, so the last phase is in the TSDB
            t1 = time.time()
            print(f"answers by status: {dict(sorted(counts.items()))}")
            step = 1
            rate = query_range(base, "sum by (function_name) "
                               "(rate(gateway_function_invocation_total[5s]))", t0, t1, step)
            p99 = query_range(base, "histogram_quantile(0.99, sum by (le, function_name) "
                              "(rate(gateway_functions_seconds_bucket[5s])))", t0, t1, step)
            errors = query_range(base, "sum by (function_name) "
                                 "(rate(gateway_function_invocation_total{code!=\"200\"}[5s])) / "
                                 "sum by (function_name) "
                                 "(rate(gateway_function_invocation_total[5s]))", t0, t1, step)
            internal = query_range(base, "sum by (caller) "
                                   "(rate(nightjar_internal_calls_total[5s]))", t0, t1, step)
        finally:
            prom.send_signal(signal.SIGTERM)
            prom.wait(timeout=30)
    data = work / "data"
    data.mkdir()
    panels = [
        ("calls/s per function (rate of gateway_function_invocation_total)", "calls/s",
         write_series(data / "rate.dat", rate, "function_name", t0), "rate.dat", False),
        ("p99 latency per function (histogram_quantile over gateway_functions_seconds)", "ms",
         write_series(data / "p99.dat", p99, "function_name", t0, 1e3), "p99.dat", True),
        ("error ratio per function (code != 200)", "fraction",
         write_series(data / "errors.dat", errors, "function_name", t0), "errors.dat", False),
        ("internal calls/s by caller (nightjar_internal_calls_total)", "calls/s",
         write_series(data / "internal.dat", internal, "caller", t0), "internal.dat", False),
    ]
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    gp = ["set terminal pngcairo noenhanced size 1200,900 font 'sans,10'",
          f"set output '{Path(args.out).resolve()}'",
          "set datafile missing '?'", "set grid", "set key outside right top",
          "set multiplot layout 2,2 title 'Nightjar GET /metrics scraped by Prometheus "
          f"(1 s), {args.seconds:.0f} s of load in three phases'",
          "set xlabel 'seconds'", f"set xrange [0:{args.seconds + 5:.0f}]"]
    for title, ylabel, titles, dat, log_y in panels:
        gp += [f"set title '{title}'", f"set ylabel '{ylabel}'",
               "set logscale y" if log_y else "unset logscale y"]
        if not titles:
            gp.append("plot 0 notitle")
            continue
        plots = [f"'{data / dat}' index {i} using 1:2 with lines lw 2 lc rgb '{colours[i % 5]}' "
                 f"title '{t}'" for i, t in enumerate(titles)]
        gp.append("plot " + ", ".join(plots))
    gp.append("unset multiplot")
    (work / "dashboard.gp").write_text("\n".join(gp) + "\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gnuplot", str(work / "dashboard.gp")], check=True, timeout=120)
    print(f"wrote {args.out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
