"""Helpers for Nightjar's end-to-end tests: start the real `nightjar` binary, talk HTTP to it.

What lives here:
  - locating the binary and the example functions (NIGHTJAR_BIN, NIGHTJAR_EXAMPLES_DIR, else
    build/release/...);
  - rendering a config file (YAML written by hand: the tests use the standard library only);
  - NightjarProcess: one child process whose stdout is drained by a thread (so the child never
    blocks on a full pipe) and whose stderr goes to a file that is printed when something fails;
  - nightjar_up(): a context manager that runs `nightjar up`, waits for the "serving" line with a
    deadline, yields a Deployment, and on exit sends SIGTERM (or SIGINT), waits, and asserts exit
    code 0, no leftover worker processes and an empty IPC root;
  - small HTTP clients: call() over http.client, RawConnection over a plain socket (for
    pipelining, malformed requests and oversized bodies).

Nothing here sleeps to synchronize: waits are polls of a condition with a deadline (wait_until).
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent

SERVING_RE = re.compile(r"^nightjar: serving http://(\[[^\]]+\]|[^\s:/]+):(\d+)\s*$")
ENGINE_LINK_RE = re.compile(r"^nightjar: engine link on (\[[^\]]+\]|[^\s:/]+):(\d+)\s*$")

MIB = 1 << 20
# proto::kInlinePayloadSize (src/proto/message.h): the largest payload that travels inside a
# message; one byte more needs a shared-memory region (or a payload arena). DESIGN.md §3's 960
# minus the 24-byte trailer of protocol 4 (docs/protocol.md, "Trailer").
INLINE_PAYLOAD = 936
DEFAULT_MAX_BODY = 16 * MIB  # gateway.max_body_bytes default (src/config/config.h)

READY_TIMEOUT_S = 30.0     # start-up: listening + min_workers started
SHUTDOWN_TIMEOUT_S = 20.0  # SIGTERM/SIGINT until exit
REQUEST_TIMEOUT_S = 30.0   # socket timeout of one HTTP exchange; nothing may hang longer

EXAMPLE_FUNCTIONS = ("nop", "echo", "hello", "chain", "fanout", "big", "crash", "slow", "fail")


# --------------------------------------------------------------------------------------------
# Locations


def nightjar_bin() -> Path:
    env = os.environ.get("NIGHTJAR_BIN")
    return Path(env) if env else REPO_ROOT / "build" / "release" / "nightjar"


def examples_dir() -> Path:
    env = os.environ.get("NIGHTJAR_EXAMPLES_DIR")
    if env:
        return Path(env)
    if os.environ.get("NIGHTJAR_BIN"):
        # Beside the binary, the way the build lays it out.
        return Path(os.environ["NIGHTJAR_BIN"]).resolve().parent / "examples" / "cpp"
    return REPO_ROOT / "build" / "release" / "examples" / "cpp"


def check_prerequisites() -> Optional[str]:
    """None if the binary and every example library exist, else a message saying what is missing."""
    missing = []
    b = nightjar_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        missing.append(f"nightjar binary {b}")
    for name in EXAMPLE_FUNCTIONS:
        lib = examples_dir() / f"lib{name}.so"
        if not lib.is_file():
            missing.append(f"example library {lib}")
    if missing:
        return ("missing: " + ", ".join(missing) +
                " (build first, or set NIGHTJAR_BIN and NIGHTJAR_EXAMPLES_DIR)")
    return None


# --------------------------------------------------------------------------------------------
# Polling


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str,
               interval_s: float = 0.02) -> object:
    """Polls predicate() until it returns a truthy value; returns that value.

    Fails the test with `what` (and the last exception the predicate raised, if any) when
    timeout_s passes. The short sleep between polls is a poll interval, not a synchronization.
    """
    deadline = time.monotonic() + timeout_s
    last_exc: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout_s:.1f}s waiting for {what}{detail}")
        time.sleep(interval_s)


# --------------------------------------------------------------------------------------------
# Config files


def function(name: str, lib: Optional[str] = None, **options) -> dict:
    """One `functions:` entry for an example library (lib defaults to name)."""
    entry = {
        "name": name,
        "runtime": "cpp",
        "handler": str((examples_dir() / f"lib{lib or name}.so").resolve()),
        "isolation": "process",
    }
    entry.update(options)
    return entry


def test_function(name: str, **options) -> dict:
    """One `functions:` entry for a test-only library from tests/functions."""
    env = os.environ.get("NIGHTJAR_TEST_FUNCTIONS_DIR")
    base = Path(env) if env else examples_dir().parent.parent / "tests" / "functions"
    return function(name, **options) | {"handler": str((base / f"lib{name}.so").resolve())}


def python_function(name: str, handler: str, **options) -> dict:
    """One `functions:` entry for runtime python. handler is "file.py:function", the file in
    tests/functions/python, or in examples/python when it starts with "examples/"."""
    path, _, func = handler.rpartition(":")
    base = REPO_ROOT if path.startswith("examples/") else REPO_ROOT / "tests" / "functions" / "python"
    entry = {"name": name, "runtime": "python", "handler": f"{(base / path).resolve()}:{func}"}
    entry.update(options)
    return entry


def node_function(name: str, handler: str, **options) -> dict:
    """One `functions:` entry for runtime node. handler is "file.js[#export]", the file in
    tests/functions/node, or in examples/node when it starts with "examples/"."""
    path, _, export = handler.partition("#")
    base = REPO_ROOT if path.startswith("examples/") else REPO_ROOT / "tests" / "functions" / "node"
    entry = {"name": name, "runtime": "node",
             "handler": str((base / path).resolve()) + (f"#{export}" if export else "")}
    entry.update(options)
    return entry


def go_function(name: str, binary: str, **options) -> dict:
    """One `functions:` entry for runtime go. binary is "examples/<name>" (the build's
    examples/go/<name>) or "probe" (the build's tests/functions/go/probe)."""
    if binary.startswith("examples/"):
        path = examples_dir().parent / "go" / binary[len("examples/"):]
    else:
        env = os.environ.get("NIGHTJAR_TEST_FUNCTIONS_DIR")
        base = Path(env) if env else examples_dir().parent.parent / "tests" / "functions"
        path = base / "go" / binary
    entry = {"name": name, "runtime": "go", "handler": str(path.resolve())}
    entry.update(options)
    return entry


def runtime_pids(ipc_root: Path) -> list:
    """Language runtime processes of a deployment (`python3 -m nightjar --ipc-root ...`,
    `node .../nightjar/main.js --ipc-root ...`, a Go binary with `--control-fd`)."""
    return sorted(p.pid for p in processes_mentioning(str(ipc_root))
                  if " -m nightjar " in p.cmdline or "nightjar/main.js " in p.cmdline
                  or " --control-fd " in p.cmdline)


def all_example_functions(**overrides: dict) -> list:
    """Every example function with default options; overrides maps a name to extra options."""
    return [function(n, **overrides.get(n, {})) for n in EXAMPLE_FUNCTIONS]


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid YAML double-quoted scalar
    if isinstance(v, dict):  # a flow mapping, e.g. limits: {memory_mb: 64}
        return "{" + ", ".join(f"{k}: {_yaml_scalar(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot render {v!r} as YAML")


def render_config(config: dict) -> str:
    """Renders {section: {key: scalar}} and {"functions": [ {key: scalar}, ... ]} as YAML."""
    lines = []
    for key, value in config.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            for k, v in value.items():
                lines.append(f"  {k}: {_yaml_scalar(v)}")
        elif isinstance(value, list):
            lines.append(f"{key}:")
            for item in value:
                first = True
                for k, v in item.items():
                    lines.append(f"  {'- ' if first else '  '}{k}: {_yaml_scalar(v)}")
                    first = False
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


def make_config(ipc_root: Path, functions: Optional[list] = None, gateway: Optional[dict] = None,
                engine: Optional[dict] = None, tracing: Optional[dict] = None,
                extra: Optional[dict] = None) -> dict:
    """A hermetic config: loopback, ephemeral ports, the given IPC root; `tracing` is the
    tracing section, `extra` adds top-level sections (e.g. {"logs": {...}})."""
    gw = {"host": "127.0.0.1", "http_port": 0, "engine_port": 0}
    gw.update(gateway or {})
    en = {"ipc_root": str(ipc_root)}
    en.update(engine or {})
    config = {"gateway": gw, "engine": en}
    if tracing:
        config["tracing"] = tracing
    config.update(extra or {})
    config["functions"] = functions if functions is not None else all_example_functions()
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(render_config(config))
    return path


# --------------------------------------------------------------------------------------------
# IPC roots and processes found through them


def make_ipc_root() -> Path:
    """A fresh, unique, short IPC root: /dev/shm/nightjar-test-<uuid> (tmpfs), else under /tmp.

    Kept short on purpose: Unix socket paths under it are limited to 107 bytes.
    """
    name = f"nightjar-test-{uuid.uuid4().hex}"
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        root = shm / name
    else:
        root = Path(tempfile.gettempdir()) / name
    root.mkdir(mode=0o700)
    return root


def list_tree(root: Path, limit: int = 50) -> list:
    """Paths (relative to root) of everything under root, at most `limit` of them."""
    found = []
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            found.append(os.path.relpath(os.path.join(dirpath, n), root))
            if len(found) >= limit:
                return found
    return found


@dataclass
class ProcInfo:
    pid: int
    ppid: int
    state: str
    cmdline: str


def read_proc(pid: int) -> Optional[ProcInfo]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: the fields after the last ')' are fixed.
    rest = stat[stat.rfind(")") + 2:].split()
    return ProcInfo(pid=pid, ppid=int(rest[1]), state=rest[0], cmdline=cmdline)


def processes() -> list:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = read_proc(int(entry))
            if info is not None:
                out.append(info)
    return out


def processes_mentioning(text: str, exclude: Iterable[int] = ()) -> list:
    """Live (non-zombie) processes whose command line contains text, except `exclude`."""
    ex = set(exclude) | {os.getpid()}
    return [p for p in processes()
            if text in p.cmdline and p.pid not in ex and p.state != "Z"]


def worker_pids(ipc_root: Path, exclude: Iterable[int] = ()) -> list:
    """Worker processes of a deployment: processes whose command line names the IPC root and
    that have no children among such processes (launchers, if any, are parents of workers)."""
    cands = processes_mentioning(str(ipc_root), exclude)
    pids = {p.pid for p in cands}
    parents = {p.ppid for p in cands if p.ppid in pids}
    return sorted(p.pid for p in cands if p.pid not in parents)


# Syscall numbers of nanosleep and clock_nanosleep, to tell a worker sleeping inside the
# `slow` function from one blocked reading its input pipe.
_SLEEP_SYSCALLS = {"x86_64": {35, 230}, "aarch64": {101, 115}}.get(platform.machine(), set())


def is_sleeping_in_nanosleep(pid: int) -> Optional[bool]:
    """True if any thread of pid is in (clock_)nanosleep; False if none is (or pid is gone);
    None if unknowable here (neither /proc/PID/task/*/syscall nor wchan is readable)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False  # gone
    known = False
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/syscall") as f:
                first = f.read().split()
        except OSError:
            first = []
        if first and first[0] == "running":
            known = True  # on a CPU, not asleep
            continue
        if first and first[0].lstrip("-").isdigit() and _SLEEP_SYSCALLS:
            known = True
            if int(first[0]) in _SLEEP_SYSCALLS:
                return True
            continue
        try:
            with open(f"{base}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            continue
        if wchan and wchan != "0":
            known = True
            if "nanosleep" in wchan:
                return True
    return False if known else None


def wait_for_sleeping_worker(dep: "Deployment", prefer: str, timeout_s: float) -> int:
    """Pid of a worker process of dep that is asleep in (clock_)nanosleep, i.e. inside a call
    to a function that sleeps (the `slow` example). Workers whose command line contains
    `prefer` are chosen first. Where the kernel does not show what a process is doing, falls
    back to the only worker after a 1 s grace period (the one timed wait in the suite)."""
    def find():
        pids = worker_pids(dep.ipc_root, exclude={dep.process.pid})
        verdicts = {pid: is_sleeping_in_nanosleep(pid) for pid in pids}
        busy = [pid for pid, v in verdicts.items() if v]
        busy.sort(key=lambda pid: prefer not in getattr(read_proc(pid), "cmdline", ""))
        if busy:
            return busy[0]
        if pids and all(v is None for v in verdicts.values()):
            return ("unknowable", pids)
        return None

    found = wait_until(find, timeout_s,
                       f"a worker process naming {dep.ipc_root} asleep inside a call")
    if isinstance(found, tuple):
        pids = found[1]
        assert len(pids) == 1, f"cannot tell which of the workers {pids} is busy"
        time.sleep(1.0)
        return pids[0]
    return found


# --------------------------------------------------------------------------------------------
# Child processes


class NightjarProcess:
    """A running nightjar subcommand.

    stdout is read line by line by a thread (kept in .stdout_lines); stderr goes to a file in
    workdir. The child gets its own session so that a failed test can kill everything it
    started with one killpg of that session's group.
    """

    def __init__(self, args: list, workdir: Path, label: str, env: Optional[dict] = None):
        self.label = label
        self.args = [str(nightjar_bin())] + [str(a) for a in args]
        workdir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / f"{label}.stderr"
        self._stderr_file = open(self.stderr_path, "wb")
        self.stdout_lines: list = []
        self._lines_cv = threading.Condition()
        self._stdout_eof = False
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr_file, cwd=str(workdir), start_new_session=True,
            env=env if env is not None else os.environ.copy())
        self._reader = threading.Thread(target=self._read_stdout, name=f"{label}-stdout",
                                        daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lines_cv:
                self.stdout_lines.append(line)
                self._lines_cv.notify_all()
        with self._lines_cv:
            self._stdout_eof = True
            self._lines_cv.notify_all()

    def wait_for_line(self, pattern: re.Pattern, timeout_s: float = READY_TIMEOUT_S) -> re.Match:
        """The first stdout line matching pattern; fails if the process exits or the deadline
        passes first."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._lines_cv:
            while True:
                while seen < len(self.stdout_lines):
                    m = pattern.match(self.stdout_lines[seen])
                    seen += 1
                    if m:
                        return m
                if self._stdout_eof:
                    # Let returncode settle for the message.
                    self._lines_cv.release()
                    try:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            self.proc.wait(timeout=2)
                    finally:
                        self._lines_cv.acquire()
                    raise AssertionError(
                        f"{self.label}: stdout closed (exit code {self.proc.returncode}) before a "
                        f"line matching {pattern.pattern!r}\n{self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.label}: no line matching {pattern.pattern!r} within "
                        f"{timeout_s:.0f}s\n{self.describe()}")
                self._lines_cv.wait(timeout=min(left, 0.5))

    def stderr_text(self, tail_bytes: int = 16384) -> str:
        if not self._stderr_file.closed:
            self._stderr_file.flush()
        try:
            data = self.stderr_path.read_bytes()
        except OSError as e:
            return f"<cannot read {self.stderr_path}: {e}>"
        if len(data) > tail_bytes:
            data = b"...(truncated)...\n" + data[-tail_bytes:]
        return data.decode("utf-8", "replace")

    def describe(self) -> str:
        with self._lines_cv:
            out = "\n".join(self.stdout_lines[-40:])
        return (f"--- {self.label} command: {' '.join(self.args)}\n"
                f"--- {self.label} stdout:\n{out}\n"
                f"--- {self.label} stderr ({self.stderr_path}):\n{self.stderr_text()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_all(self) -> None:
        """SIGKILL the child's whole process group (everything this test started through it)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> list:
        """Sends sig and waits for exit. Returns a list of problems (empty = clean exit 0)."""
        problems = []
        if self.proc.poll() is not None:
            problems.append(f"{self.label} exited on its own before shutdown "
                            f"(exit code {self.proc.returncode})")
        else:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                problems.append(f"{self.label} did not exit within {timeout_s:.0f}s of "
                                f"{signal.Signals(sig).name}; killed")
                self.kill_all()
            else:
                if self.proc.returncode != 0:
                    problems.append(f"{self.label} exited with code {self.proc.returncode} "
                                    f"after {signal.Signals(sig).name} (expected 0)")
        self._reader.join(timeout=5)
        self._stderr_file.close()
        return problems

    def close(self) -> None:
        """Last-resort cleanup; safe to call more than once."""
        if self.proc.poll() is None:
            self.kill_all()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not self._stderr_file.closed:
            self._stderr_file.close()


def check_no_leftovers(ipc_root: Path, timeout_s: float = 5.0) -> list:
    """Problems left behind by a deployment after it exited: live processes naming the IPC root
    (killed here, by pid) and files or directories under it."""
    problems = []
    deadline = time.monotonic() + timeout_s
    left = processes_mentioning(str(ipc_root))
    while left and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval
        left = processes_mentioning(str(ipc_root))
    if left:
        problems.append("processes still running after shutdown:\n" +
                        "\n".join(f"  pid {p.pid} (ppid {p.ppid}): {p.cmdline[:300]}"
                                  for p in left))
        for p in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p.pid, signal.SIGKILL)
    entries = list_tree(ipc_root)
    if entries:
        problems.append(f"IPC root {ipc_root} not empty after shutdown: {entries}")
    return problems


def report_shutdown(problems: list, procs: list, body_exc: Optional[BaseException]) -> None:
    """Reports problems found at shutdown; attaches them to a test body's exception if any."""
    for p in procs:
        # Printed output is shown by pytest only for a failing test.
        print(p.describe())
    if not problems:
        return
    message = "shutdown problems:\n" + "\n".join(f"- {p}" for p in problems)
    if body_exc is not None:
        if hasattr(body_exc, "add_note"):
            body_exc.add_note(message)
        return
    details = "\n".join(p.describe() for p in procs)
    raise AssertionError(f"{message}\n{details}")


# --------------------------------------------------------------------------------------------
# `nightjar up`


@dataclass
class Deployment:
    host: str
    port: int
    ipc_root: Path
    config_path: Path
    process: NightjarProcess
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connect_host(self) -> str:
        return self.host.strip("[]")

    def describe(self) -> str:
        return self.process.describe()

    def assert_alive(self) -> None:
        assert self.process.alive(), (
            f"nightjar exited unexpectedly (code {self.process.proc.returncode})\n"
            f"{self.describe()}")


@contextlib.contextmanager
def nightjar_up(workdir: Path, functions: Optional[list] = None, gateway: Optional[dict] = None,
                engine: Optional[dict] = None, stop_signal: int = signal.SIGTERM,
                ready_timeout_s: float = READY_TIMEOUT_S,
                ipc_root: Optional[Path] = None,
                env: Optional[dict] = None,
                tracing: Optional[dict] = None, extra: Optional[dict] = None,
                args: Iterable[str] = ()) -> Iterator[Deployment]:
    """Runs `nightjar up` with a generated config in workdir and a fresh IPC root (or the given
    one, which must then hold nothing of a live engine when the deployment stops).

    Yields once the "serving" line is printed. On exit: sends stop_signal, waits for exit code 0,
    then checks that no process naming the IPC root is left and that the IPC root is empty.
    """
    ipc_root = ipc_root or make_ipc_root()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(workdir / "nightjar.yaml",
                               make_config(ipc_root, functions, gateway, engine, tracing,
                                           extra))
    proc = NightjarProcess(["up", config_path, "--http-port", "0", "--ipc-root", ipc_root,
                            *args], workdir, "nightjar-up", env=env)
    body_exc: Optional[BaseException] = None
    problems: list = []
    try:
        m = proc.wait_for_line(SERVING_RE, ready_timeout_s)
        dep = Deployment(host=m.group(1), port=int(m.group(2)), ipc_root=ipc_root,
                         config_path=config_path, process=proc)
        try:
            yield dep
        except BaseException as e:
            body_exc = e
            raise
        finally:
            problems += proc.stop(stop_signal)
            problems += check_no_leftovers(ipc_root)
    finally:
        proc.close()
        shutil.rmtree(ipc_root, ignore_errors=True)
        report_shutdown(problems, [proc], body_exc)


# --------------------------------------------------------------------------------------------
# Split deployment: `nightjar gateway` + `nightjar engine`


class SplitDeployment:
    """A running `nightjar gateway` and the `nightjar engine`s a test starts against it
    (split_deployment()). `dep` is the gateway's HTTP side; `link` its engine-link address."""

    def __init__(self, workdir: Path, config_path: Path, gateway: NightjarProcess,
                 dep: Deployment, link: str):
        self.workdir, self.config_path, self.gateway, self.dep, self.link = \
            workdir, config_path, gateway, dep, link
        self.engines: list = []     # (process, IPC root), in start order
        self.problems: list = []    # found when engines stopped, reported at the end

    def start_engine(self, ipc_root: Optional[Path] = None) -> NightjarProcess:
        """Starts `nightjar engine` linked to the gateway, with its own IPC root (the config's
        for the first engine, a fresh one after that). Does not wait for it to link."""
        root = ipc_root or (self.dep.ipc_root if not self.engines else make_ipc_root())
        engine = NightjarProcess(["engine", self.config_path, "--gateway", self.link,
                                  "--ipc-root", root], self.workdir,
                                 f"nightjar-engine-{len(self.engines)}")
        self.engines.append((engine, root))
        return engine

    def stop_engine(self, engine: NightjarProcess) -> None:
        """Stops an engine with SIGTERM; a dirty exit or anything left under its IPC root is
        reported when the deployment ends."""
        root = next(r for e, r in self.engines if e is engine)
        self.problems += engine.stop(signal.SIGTERM)
        self.problems += check_no_leftovers(root)


@contextlib.contextmanager
def split_deployment(workdir: Path, functions: Optional[list] = None,
                     **config) -> Iterator[SplitDeployment]:
    """Runs `nightjar gateway` with a generated config (make_config's keyword arguments) and
    yields once it serves, with no engine yet (SplitDeployment.start_engine). On exit: stops
    every engine still running, then the gateway, each with SIGTERM and exit code 0, and checks
    that no process naming an engine's IPC root is left and that each root is empty."""
    ipc_root = make_ipc_root()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(workdir / "nightjar.yaml",
                               make_config(ipc_root, functions, **config))
    gateway = NightjarProcess(["gateway", config_path, "--http-port", "0", "--engine-port", "0"],
                              workdir, "nightjar-gateway")
    split: Optional[SplitDeployment] = None
    body_exc: Optional[BaseException] = None
    problems: list = []
    try:
        m = gateway.wait_for_line(SERVING_RE)
        link = gateway.wait_for_line(ENGINE_LINK_RE)
        split = SplitDeployment(workdir, config_path, gateway,
                                Deployment(host=m.group(1), port=int(m.group(2)),
                                           ipc_root=ipc_root, config_path=config_path,
                                           process=gateway),
                                f"{link.group(1)}:{link.group(2)}")
        try:
            yield split
        except BaseException as e:
            body_exc = e
            raise
        finally:
            for engine, _ in split.engines:
                if engine.alive():
                    split.stop_engine(engine)
            problems += split.problems
            problems += gateway.stop(signal.SIGTERM)
    finally:
        procs = [gateway] + ([e for e, _ in split.engines] if split else [])
        for p in procs:
            p.close()
        for root in {ipc_root} | ({r for _, r in split.engines} if split else set()):
            shutil.rmtree(root, ignore_errors=True)
        report_shutdown(problems, procs, body_exc)


# --------------------------------------------------------------------------------------------
# HTTP over http.client


@dataclass
class Reply:
    status: int
    reason: str
    headers: dict  # lower-case names
    body: bytes

    def summary(self, limit: int = 300) -> str:
        b = self.body if len(self.body) <= limit else self.body[:limit] + b"..."
        return f"HTTP {self.status} {self.reason}, {len(self.body)} body bytes: {b!r}"


def _to_bytes(data) -> bytes:
    return data.encode() if isinstance(data, str) else bytes(data)


def request(dep: Deployment, method: str, path: str, body=None, headers: Optional[dict] = None,
            timeout_s: float = REQUEST_TIMEOUT_S) -> Reply:
    """One request on a fresh connection."""
    conn = http.client.HTTPConnection(dep.connect_host, dep.port, timeout=timeout_s)
    try:
        conn.request(method, path, body=None if body is None else _to_bytes(body),
                     headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def call(dep: Deployment, name: str, data=b"", headers: Optional[dict] = None,
         timeout_s: float = REQUEST_TIMEOUT_S) -> Reply:
    """POST /function/<name> with data as the body, on a fresh connection."""
    return request(dep, "POST", f"/function/{name}", _to_bytes(data), headers, timeout_s)


def expect(reply: Reply, status: int, body=None, dep: Optional[Deployment] = None,
           what: str = "") -> Reply:
    """Asserts status (and the exact body if given), with a message that shows both sides."""
    ok = reply.status == status and (body is None or reply.body == _to_bytes(body))
    if not ok:
        want = f"HTTP {status}" + ("" if body is None else f" with body {_short(_to_bytes(body))}")
        msg = f"{what + ': ' if what else ''}expected {want}, got {reply.summary()}"
        if body is not None and reply.status == status:
            msg += "\n" + describe_mismatch(_to_bytes(body), reply.body)
        if dep is not None:
            msg += "\n" + dep.process.stderr_text(4096)
        raise AssertionError(msg)
    return reply


def _short(b: bytes, limit: int = 120) -> str:
    return repr(b) if len(b) <= limit else f"{len(b)} bytes starting {b[:limit]!r}"


def describe_mismatch(want: bytes, got: bytes) -> str:
    if len(want) != len(got):
        return f"length differs: expected {len(want)}, got {len(got)}"
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return f"first difference at byte {i}: expected {a:#04x}, got {b:#04x}"
    return "bodies equal"


def call_until(dep: Deployment, name: str, data, want_status: int, tolerate: Iterable[int],
               timeout_s: float, headers: Optional[dict] = None) -> Reply:
    """Calls until the answer has want_status; answers in `tolerate` are retried, any other
    status fails at once. Fails when timeout_s passes."""
    tolerate = set(tolerate)
    deadline = time.monotonic() + timeout_s
    seen = []
    while True:
        r = call(dep, name, data, headers)
        if r.status == want_status:
            return r
        seen.append(r.status)
        if r.status not in tolerate:
            raise AssertionError(
                f"{name}({_to_bytes(data)!r}): got {r.summary()}; only {sorted(tolerate)} may "
                f"precede HTTP {want_status}; statuses so far {seen}\n"
                f"{dep.process.stderr_text(4096)}")
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{name}({_to_bytes(data)!r}): no HTTP {want_status} within {timeout_s:.0f}s; "
                f"statuses {seen}\n{dep.process.stderr_text(4096)}")
        time.sleep(0.05)  # poll interval


# --------------------------------------------------------------------------------------------
# HTTP over a plain socket


def http_request_bytes(method: str, path: str, body: bytes = b"", headers: Optional[dict] = None,
                       host: str = "nightjar.test") -> bytes:
    h = {"Host": host, "Content-Length": str(len(body))}
    h.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return head.encode("latin-1") + b"\r\n" + body


class RawConnection:
    """A TCP connection with a minimal HTTP/1.1 response reader (Content-Length, chunked, or
    read-to-close bodies; 1xx interim responses skipped)."""

    def __init__(self, dep: Deployment, timeout_s: float = REQUEST_TIMEOUT_S):
        self.sock = socket.create_connection((dep.connect_host, dep.port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.sock.recv(256 * 1024)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_until(self, delim: bytes, limit: int = 1 << 20) -> bytes:
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise AssertionError(f"no {delim!r} within {limit} bytes of response")
            if not self._fill():
                raise EOFError(f"connection closed while waiting for {delim!r}; "
                               f"{len(self.buf)} bytes pending: {bytes(self.buf[:200])!r}")

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed after {len(self.buf)} of {n} body bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, head_request: bool = False) -> Reply:
        while True:
            status_line = self._read_until(b"\r\n").decode("latin-1")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise AssertionError(f"malformed status line {status_line!r}")
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers: dict = {}
            for line in self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n"):
                if not line:
                    continue
                k, sep, v = line.partition(":")
                if not sep:
                    raise AssertionError(f"malformed header line {line!r}")
                headers[k.strip().lower()] = v.strip()
            if 100 <= status < 200:
                continue  # interim response
            break
        if head_request or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n"):
                        pass  # trailer fields, up to the empty line
                    break
                body += self._read_exact(size)
                self._read_exact(2)
            body = bytes(body)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            while self._fill():
                pass
            body = bytes(self.buf)
            self.buf.clear()
        return Reply(status, reason, headers, body)

    def wait_closed(self, timeout_s: float) -> bool:
        """True if the peer closes (EOF or reset) within timeout_s with no further data."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            raise AssertionError(f"unexpected data on an idle connection: {chunk[:200]!r}")


def send_body_until_answered(dep: Deployment, path: str, length: int,
                             chunk_size: int = 256 * 1024) -> Reply:
    """POSTs a body of `length` bytes, but stops sending as soon as the gateway answers (a
    server may answer 413 after reading only the headers). Returns the answer."""
    conn = RawConnection(dep)
    try:
        conn.sendall(http_request_bytes("POST", path, headers={"Content-Length": str(length)}))
        chunk = memoryview(b"z" * chunk_size)
        sent = 0
        conn.sock.setblocking(False)
        deadline = time.monotonic() + REQUEST_TIMEOUT_S * 2
        send_error: Optional[BaseException] = None
        while sent < length:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not send {length} bytes within the deadline "
                                     f"({sent} sent) and got no answer")
            readable, writable, _ = select.select([conn.sock], [conn.sock], [], 1.0)
            if readable:
                break  # answered (or closed) early
            if writable:
                try:
                    sent += conn.sock.send(chunk[:min(chunk_size, length - sent)])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError) as e:
                    send_error = e
                    break
        conn.sock.setblocking(True)
        conn.sock.settimeout(REQUEST_TIMEOUT_S)
        try:
            return conn.read_response()
        except (EOFError, ConnectionResetError) as e:
            raise AssertionError(
                f"no HTTP answer to a {length}-byte body after sending {sent} bytes "
                f"(send error: {send_error!r}; read error: {e!r}). A gateway that rejects a body "
                f"must still deliver its response (answer, then drain or half-close).\n"
                f"{dep.process.stderr_text(4096)}") from e
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# Running the CLI


def run_cli(args: list, timeout_s: float = 30.0, cwd: Optional[Path] = None) \
        -> subprocess.CompletedProcess:
    """Runs `nightjar ARGS...` to completion (fails the test if it outlives timeout_s)."""
    argv = [str(nightjar_bin())] + [str(a) for a in args]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s, cwd=str(cwd) if cwd else None)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"`{' '.join(argv)}` did not finish within {timeout_s:.0f}s; "
                             f"stdout={e.stdout!r} stderr={e.stderr!r}") from e


def cli_summary(res: subprocess.CompletedProcess) -> str:
    return (f"`{' '.join(map(str, res.args))}` exit code {res.returncode}\n"
            f"stdout: {res.stdout[-2000:]!r}\nstderr: {res.stderr[-4000:]!r}")


if __name__ == "__main__":  # pragma: no cover - manual smoke check of the config renderer
    sys.stdout.write(render_config(make_config(Path("/dev/shm/nightjar-example"))))
