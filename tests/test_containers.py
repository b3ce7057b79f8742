"""isolation: container (issue 12; docs/isolation.md): functions in OCI containers run by runc.
Namespaces, the memory limit and its OOM message, no network to the host, a read-only root,
calls between containers and processes both ways, a container that cannot start, and nothing
left behind after shutdown or after the engine is SIGKILLed. Needs root and runc (CI has both:
scripts/setup.sh installs runc)."""
import json
import os
import shutil
import signal
import socket
import subprocess

import pytest

import nightjar_harness as nj
from nightjar_harness import call, call_until, expect

RUNC = shutil.which("runc") or "/usr/sbin/runc"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(RUNC),
                                 reason="containers need root and runc")


def container(fn, **extra):
    return fn | {"isolation": "container"} | extra


def ns(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def runc_ids():
    out = subprocess.run([RUNC, "list", "--quiet"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.split() if line]


def engine_ids(engine_pid):
    return [i for i in runc_ids() if i.startswith(f"nightjar-{engine_pid}-")]


def cgroup_dirs(ids):
    found = []
    for hierarchy in ("memory", "pids", "cpu", ""):
        for i in ids:
            path = os.path.join("/sys/fs/cgroup", hierarchy, "nightjar", i)
            if os.path.exists(path):
                found.append(path)
    return found


def mounts_mentioning(text):
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [line for line in f if text in line]


def test_whoami_runs_in_its_own_namespaces(tmp_path):
    fns = [container(nj.function("whoami")), nj.function("echo")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        r = expect(call(d, "whoami", b""), 200, dep=d)
        me = json.loads(r.body)
        engine = d.process.pid
        for kind, key in (("pid", "pid_ns"), ("net", "net_ns"), ("mnt", "mnt_ns")):
            assert me[key] != ns(engine, kind), f"whoami shares the engine's {kind} namespace: {me}"
        assert me["hostname"] == "nightjar-whoami", me
        assert me["uid"] == 0, me


def test_memory_limit_kills_the_worker_with_a_clear_message_then_it_recovers(tmp_path):
    fns = [container(nj.function("hog", max_workers=2), limits={"memory_mb": 64, "pids": 64})]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        expect(call(d, "hog", b"16"), 200, b"ok 16 MiB", d)
        r = call(d, "hog", b"512")
        assert r.status == 502, r.summary()
        assert b"memory limit (64 MiB)" in r.body and b"OOM" in r.body, r.summary()
        r = call_until(d, "hog", b"16", 200, tolerate={502, 503}, timeout_s=15)
        assert r.body == b"ok 16 MiB", r.summary()


def test_no_network_to_the_host_and_a_read_only_root(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    fns = [container(nj.python_function("net", "probe.py:connect")),
           container(nj.python_function("writer", "probe.py:write_file")),
           nj.python_function("host-net", "probe.py:connect")]
    try:
        with nj.nightjar_up(tmp_path, functions=fns) as d:
            # The same probe outside a container reaches the port: the test can fail.
            expect(call(d, "host-net", f"127.0.0.1:{port}".encode()), 200, b"connected", d)
            r = expect(call(d, "net", f"127.0.0.1:{port}".encode()), 200, dep=d)
            assert r.body.startswith(b"error:"), f"a container reached the host's port: {r.body!r}"
            for path in ("/etc/nightjar-test", "/usr/nightjar-test", "/nightjar-test",
                         str(nj.REPO_ROOT / "tests" / "functions" / "python" / "x")):
                r = expect(call(d, "writer", path.encode()), 200, dep=d)
                assert r.body.startswith(b"error:") and b"Read-only" in r.body, (path, r.body)
                assert not os.path.exists(path), path
            expect(call(d, "writer", b"/tmp/scratch"), 200, b"wrote /tmp/scratch", d)
            assert not os.path.exists("/tmp/scratch"), "the container's /tmp is the host's"
    finally:
        listener.close()


def test_seccomp_refuses_new_namespaces_by_unshare_and_by_clone(tmp_path):
    fns = [container(nj.python_function("ns", "probe.py:new_namespaces")),
           nj.python_function("host-ns", "probe.py:new_namespaces")]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        # Outside a container (root) both work: the probe can tell.
        expect(call(d, "host-ns", b""), 200, b"unshare:0 clone:0", d)
        expect(call(d, "ns", b""), 200, b"unshare:1 clone:1", d)  # EPERM, both ways


def test_a_container_that_cannot_restart_fails_calls_fast_then_recovers(tmp_path):
    # A runc that refuses `run` while a file exists: the function's launcher is killed, its
    # restart fails, calls get 503 (not a wait until their deadline), and once runc works
    # again the engine's retries bring the function back.
    fail = tmp_path / "FAIL"
    wrapper = tmp_path / "runc"
    wrapper.write_text(f"""#!/bin/sh
for a in "$@"; do
  if [ "$a" = run ] && [ -e {fail} ]; then echo 'simulated failure' >&2; exit 1; fi
done
exec {RUNC} "$@"
""")
    wrapper.chmod(0o755)
    fns = [container(nj.function("echo", timeout_ms=20000))]
    with nj.nightjar_up(tmp_path, functions=fns,
                        engine={"runc": str(wrapper), "max_crash_backoff_ms": 400}) as d:
        expect(call(d, "echo", b"a"), 200, b"a", d)
        launchers = [p for p in nj.processes_mentioning(str(d.ipc_root))
                     if " launcher " in p.cmdline]
        assert len(launchers) == 1, launchers
        fail.write_text("")
        os.kill(launchers[0].pid, signal.SIGKILL)
        r = call_until(d, "echo", b"b", 503, tolerate={200, 502}, timeout_s=15)
        assert b"crashing" in r.body or b"start" in r.body, r.summary()
        fail.unlink()
        call_until(d, "echo", b"c", 200, tolerate={503, 502}, timeout_s=20)


def test_calls_between_containers_and_processes_both_ways(tmp_path):
    fns = [container(nj.function("relay", max_workers=4)),
           nj.function("plain-relay", lib="relay", max_workers=4),
           container(nj.function("boxed-echo", lib="echo")),
           nj.function("echo"),
           container(nj.python_function("py-relay", "examples/python/relay.py:handle"))]
    with nj.nightjar_up(tmp_path, functions=fns) as d:
        for name, data in (("relay", b"echo:a"), ("plain-relay", b"boxed-echo:b"),
                           ("relay", b"plain-relay/boxed-echo:c"),
                           ("py-relay", b"plain-relay/relay/py-relay/echo:d")):
            expect(call(d, name, data), 200, data.rsplit(b":", 1)[1], d, f"{name}({data!r})")
        big = os.urandom(2 * nj.MIB)
        expect(call(d, "plain-relay", b"boxed-echo:" + big, timeout_s=60), 200, big, d,
               "2 MiB into a container and back through shared memory")


def test_a_container_that_cannot_start_stops_start_up_with_runcs_error(tmp_path):
    empty_root = tmp_path / "empty-root"
    empty_root.mkdir()
    ipc_root = nj.make_ipc_root()
    config = nj.write_config(tmp_path / "bad.yaml", nj.make_config(
        ipc_root, functions=[container(nj.function("echo"), rootfs=str(empty_root))]))
    try:
        p = subprocess.run([str(nj.nightjar_bin()), "up", str(config)], capture_output=True,
                           text=True, timeout=60)
        assert not os.listdir(ipc_root), f"a failed start left {os.listdir(ipc_root)}"
    finally:
        shutil.rmtree(ipc_root, ignore_errors=True)
    assert p.returncode != 0, "nightjar up started a function whose container cannot start"
    assert "function echo: its container" in p.stderr, p.stderr
    # runc's own reason, from the container's init: the binary is not in that root.
    assert "no such file or directory" in p.stderr, p.stderr


def test_shutdown_and_sigkill_leave_nothing_behind(tmp_path):
    fns = [container(nj.function("echo")), container(nj.function("hog"), limits={"memory_mb": 64})]
    ipc_root = nj.make_ipc_root()
    with nj.nightjar_up(tmp_path / "a", functions=fns, ipc_root=ipc_root) as d:
        expect(call(d, "echo", b"x"), 200, b"x", d)
        ids = engine_ids(d.process.pid)
        assert len(ids) == 2, runc_ids()
        assert cgroup_dirs(ids), "no cgroup found for the containers: the check cannot fail"
        instance = [p for p in os.listdir(ipc_root)]
    assert not engine_ids(d.process.pid), runc_ids()
    assert not cgroup_dirs(ids), cgroup_dirs(ids)
    assert not any(mounts_mentioning(str(ipc_root) + "/" + i) for i in instance)

    # SIGKILL the engine: its containers and instance directory stay ...
    config = nj.write_config(tmp_path / "k.yaml", nj.make_config(ipc_root, functions=fns))
    victim = nj.NightjarProcess(["up", config, "--http-port", "0", "--ipc-root", ipc_root],
                                tmp_path, "victim")
    try:
        victim.wait_for_line(nj.SERVING_RE)
        killed_pid = victim.pid
        os.kill(killed_pid, signal.SIGKILL)  # the engine alone, as the OOM killer would
        nj.wait_until(lambda: not victim.alive(), 10, "the SIGKILLed engine to go")
        left = engine_ids(killed_pid)
        assert left, "nothing left after SIGKILL: the next check cannot fail"
    finally:
        victim.close()
    # ... until the next engine starts and removes them.
    with nj.nightjar_up(tmp_path / "b", functions=fns, ipc_root=ipc_root) as d:
        assert not engine_ids(killed_pid), runc_ids()
        assert not cgroup_dirs(left), cgroup_dirs(left)
        assert not [n for n in os.listdir(ipc_root) if n.startswith(f"{killed_pid}-")]
        expect(call(d, "echo", b"y"), 200, b"y", d)
