"""Interleaved A/B of an internal nop call to a process-mode callee and to the same callee in
an OCI container (docs/performance.md, F14). Root and runc only.

    taskset -c 1 /usr/bin/python3 bench/container_ab.py [BUILD_DIR] [PAIRS] [CALLS] [--one-cpu-cgroup]

Starts `nightjar up` (BUILD_DIR, default build/release) with nop (16 workers), c-nop (the
same library and pool, isolation: container) and bench_caller, then alternates batches of
CALLS sequential calls (default 10,000) from bench_caller to each callee, PAIRS times
(default 16; the order flips every pair), and prints each batch's p50 and p99 and the
median of the per-pair ratios. Back-to-back batches share the machine's regime of the moment
(F10, F13), which a harness run, measuring the two minutes apart, does not.

--one-cpu-cgroup moves every thread of the deployment, the container's included, into one
new cpu cgroup, so caller, engine and both callees are one scheduler task group, and removes
that cgroup at the end: the experiment that separates the container's scheduling group from
its other differences (namespaces, seccomp, mounts).
"""

import http.client
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import time


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    one_cgroup = "--one-cpu-cgroup" in sys.argv
    build = os.path.abspath(args[0] if args else "build/release")
    pairs = int(args[1]) if len(args) > 1 else 16
    calls = int(args[2]) if len(args) > 2 else 10000
    lib = build + "/examples/cpp"
    tag = f"nightjar-bench-ab-{os.getpid()}"
    work, ipc = f"/tmp/{tag}", f"/dev/shm/{tag}"
    os.makedirs(work, exist_ok=True)
    os.makedirs(ipc, exist_ok=True)
    with open(work + "/config.yaml", "w") as f:
        f.write(f"""gateway: {{host: 127.0.0.1, http_port: 0}}
engine: {{io_threads: 1}}
functions:
  - {{name: nop, handler: {lib}/libnop.so, min_workers: 16, max_workers: 16}}
  - {{name: c-nop, handler: {lib}/libnop.so, min_workers: 16, max_workers: 16, isolation: container}}
  - {{name: bench_caller, handler: {lib}/libbench_caller.so, min_workers: 1, max_workers: 2,
      timeout_ms: 600000}}
""")
    log_path = work + "/nightjar.log"
    engine = subprocess.Popen(
        [build + "/nightjar", "up", work + "/config.yaml", "--http-port", "0", "--ipc-root", ipc],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
        env=dict(os.environ, NIGHTJAR_LOG_LEVEL="warning"))
    cgroup = f"/sys/fs/cgroup/cpu/{tag}"  # cgroup v1, as on the development VM
    try:
        port = None
        for _ in range(3000):
            m = re.search(r"serving http://[^:]+:(\d+)", open(log_path).read())
            if m:
                port = int(m.group(1))
                break
            if engine.poll() is not None:
                break
            time.sleep(0.01)
        if port is None:
            sys.exit("nightjar up did not serve:\n" + open(log_path).read())
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def batch(callee, n):
            conn.request("POST", "/function/bench_caller", body=f"callee={callee} n={n}")
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit(f"bench_caller answered {r.status}: {body!r}")
            s = sorted(struct.unpack(f"<{n}I", body))
            return s[n // 2] / 1e3, s[n * 99 // 100] / 1e3

        batch("nop", 5000)
        batch("c-nop", 5000)
        if one_cgroup:
            os.makedirs(cgroup, exist_ok=True)
            moved = 0
            for pid in deployment_pids(engine.pid):
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(cgroup + "/tasks", "w") as f:
                        f.write(tid)
                    moved += 1
            print(f"moved {moved} threads into {cgroup}", flush=True)
        ratios, p50 = [], {"nop": [], "c-nop": []}
        for i in range(pairs):
            res = {}
            for callee in ("nop", "c-nop") if i % 2 == 0 else ("c-nop", "nop"):
                res[callee] = batch(callee, calls)
                p50[callee].append(res[callee][0])
            ratios.append(res["c-nop"][0] / res["nop"][0])
            print(f"pair {i}: nop p50 {res['nop'][0]:.1f} p99 {res['nop'][1]:.1f} us, "
                  f"c-nop p50 {res['c-nop'][0]:.1f} p99 {res['c-nop'][1]:.1f} us, "
                  f"ratio {ratios[-1]:.3f}", flush=True)
        print(f"median: nop p50 {statistics.median(p50['nop']):.2f} us, c-nop p50 "
              f"{statistics.median(p50['c-nop']):.2f} us, ratio {statistics.median(ratios):.3f}")
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=30)
        subprocess.run(["rm", "-rf", ipc, work])
        if os.path.isdir(cgroup):
            for _ in range(50):  # its tasks are gone once the containers are deleted
                try:
                    os.rmdir(cgroup)
                    break
                except OSError:
                    time.sleep(0.1)


def deployment_pids(engine_pid):
    """The engine, its descendants, and its containers' processes (by cgroup, as
    bench/proc_stat.cc finds them)."""
    parent = {}
    for x in os.listdir("/proc"):
        if x.isdigit():
            try:
                parent[int(x)] = int(open(f"/proc/{x}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    tree = {engine_pid}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    tag = f":/nightjar/nightjar-{engine_pid}-"
    for pid in parent:
        try:
            if tag in open(f"/proc/{pid}/cgroup").read():
                tree.add(pid)
        except OSError:
            pass
    return sorted(tree)


if __name__ == "__main__":
    main()
