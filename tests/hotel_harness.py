"""Helpers for the hotel application's tests (test_hotel.py): the real stores (redis-server and
memcached, on loopback, on free ports, in a temporary directory), the dataset loader, and the
RPC arm (one hotel_rpc_server process per service and the HTTP frontend).

Binaries come from the build beside NIGHTJAR_BIN (build/<preset>/apps/hotel/), else
build/release/apps/hotel/. Nothing sleeps to synchronize: each start waits for a line or an
answer with a deadline.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

from nightjar_harness import REPO_ROOT, nightjar_bin

START_TIMEOUT_S = 30.0
LEAF_SERVICES = ("geo", "rate", "profile", "recommendation", "user", "reservation")
ALL_SERVICES = ("frontend", "search") + LEAF_SERVICES
SERVING_RE = re.compile(r"^hotel-([a-z]+): serving 127\.0\.0\.1:(\d+)$")


def hotel_dir() -> Path:
    if os.environ.get("NIGHTJAR_BIN"):
        return nightjar_bin().resolve().parent / "apps" / "hotel"
    return REPO_ROOT / "build" / "release" / "apps" / "hotel"


def missing_prerequisites() -> Optional[str]:
    missing = [b for b in ("redis-server", "memcached") if shutil.which(b) is None]
    d = hotel_dir()
    for name in ["hotel_load", "hotel_rpc_server", "hotel_rpc_frontend"] + \
            [f"libhotel-{s}.so" for s in ALL_SERVICES]:
        if not (d / name).exists():
            missing.append(str(d / name))
    return ", ".join(missing) if missing else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose stdout is read by a thread (kept in .lines), stderr in a file."""

    def __init__(self, args: list, workdir: Path, label: str, env: Optional[dict] = None):
        self.label = label
        self.args = [str(a) for a in args]
        self.stderr_path = workdir / f"{label}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.lines: list = []
        self._cv = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, cwd=str(workdir),
                                     start_new_session=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            with self._cv:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self._cv.notify_all()
        with self._cv:
            self._eof = True
            self._cv.notify_all()

    def describe(self) -> str:
        self._stderr.flush()
        err = self.stderr_path.read_bytes()[-4000:].decode("utf-8", "replace")
        return f"--- {self.label}: {' '.join(self.args)}\nstdout: {self.lines[-20:]}\nstderr: {err}"

    def wait_for_line(self, pattern: re.Pattern, timeout_s: float = START_TIMEOUT_S) -> re.Match:
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._cv:
            while True:
                while seen < len(self.lines):
                    m = pattern.match(self.lines[seen])
                    seen += 1
                    if m:
                        return m
                if self._eof or time.monotonic() > deadline:
                    raise AssertionError(f"{self.label}: no line {pattern.pattern!r}\n"
                                         f"{self.describe()}")
                self._cv.wait(timeout=0.2)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; closes the files. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


def _answers(port: int, command: bytes, want: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(command)
            return s.recv(256).startswith(want)
    except OSError:
        return False


def _wait_answer(proc: Process, port: int, command: bytes, want: bytes) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers(port, command, want):
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{proc.label} did not come up on port {port}\n{proc.describe()}")
        time.sleep(0.02)  # polling a condition with a deadline, not synchronizing by sleep


class Stores:
    """redis-server and memcached on free loopback ports, with their files in workdir."""

    def __init__(self, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.memcached_port = free_port()
        self.redis = Process(["redis-server", "--port", self.redis_port, "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", workdir],
                             workdir, "redis")
        mc = ["memcached", "-l", "127.0.0.1", "-p", self.memcached_port, "-U", "0", "-m", "256"]
        if os.geteuid() == 0:
            mc += ["-u", "root"]
        self.memcached = Process(mc, workdir, "memcached")
        try:
            _wait_answer(self.redis, self.redis_port, b"PING\r\n", b"+PONG")
            _wait_answer(self.memcached, self.memcached_port, b"version\r\n", b"VERSION")
        except BaseException:
            self.stop()
            raise

    @property
    def env(self) -> dict:
        return {"HOTEL_REDIS": f"127.0.0.1:{self.redis_port}",
                "HOTEL_MEMCACHED": f"127.0.0.1:{self.memcached_port}"}

    def load(self, dump_json: Optional[Path] = None) -> None:
        """Empties both stores and loads the dataset (hotel_load)."""
        args = [hotel_dir() / "hotel_load", "--redis", self.env["HOTEL_REDIS"],
                "--memcached", self.env["HOTEL_MEMCACHED"]]
        if dump_json is not None:
            args += ["--dump-json", dump_json]
        subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        self.redis.stop()
        self.memcached.stop()


def nightjar_functions(**overrides) -> list:
    """The `functions:` entries of the Nightjar arm (as apps/hotel/nightjar.yaml)."""
    return [dict({"name": f"hotel-{s}", "runtime": "cpp",
                  "handler": str(hotel_dir() / f"libhotel-{s}.so"),
                  "min_workers": 1, "max_workers": 4}, **overrides) for s in ALL_SERVICES]


@contextlib.contextmanager
def rpc_arm(workdir: Path, stores: Stores) -> Iterator[int]:
    """Starts the RPC arm: the leaf services, then search, then the HTTP frontend. Yields the
    frontend's port; stops every process on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **stores.env)
    procs = []
    try:
        server = hotel_dir() / "hotel_rpc_server"
        for name in LEAF_SERVICES:
            procs.append(Process([server, name, 0], workdir, f"rpc-{name}", env))
        for p in procs:
            m = p.wait_for_line(SERVING_RE)
            env[f"HOTEL_{m.group(1).upper()}"] = f"127.0.0.1:{m.group(2)}"
        search = Process([server, "search", 0], workdir, "rpc-search", env)
        procs.append(search)
        env["HOTEL_SEARCH"] = f"127.0.0.1:{search.wait_for_line(SERVING_RE).group(2)}"
        frontend = Process([hotel_dir() / "hotel_rpc_frontend", 0], workdir, "rpc-frontend", env)
        procs.append(frontend)
        yield int(frontend.wait_for_line(SERVING_RE).group(2))
    finally:
        for p in reversed(procs):
            p.stop()
