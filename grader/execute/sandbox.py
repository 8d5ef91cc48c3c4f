"""The jail every grading kernel runs in: bubblewrap namespaces, a minimal read-only view of the
machine, limits, and a private channel to the grader.

A :class:`Sandbox` belongs to one job (one submission). It lays out, in a directory of its own
outside anything the kernel sees except what it binds:

    <dir>/kernels/rnn-grader-sandbox/kernel.json   the kernelspec whose argv wraps the kernel
    <dir>/run/                                      connection file and ZeroMQ ipc sockets (rw)
    <dir>/guard/kernel_guard.py                     the kernel's launcher (read-only)
    <dir>/channel                                   FIFO: audit events and probe reports

The kernel itself sees: /usr (and the /bin, /lib symlinks into it), a few files of /etc, the
Python installation and the environment holding the installed course packages (read-only), a
private /tmp and home on tmpfs, a working directory on tmpfs holding the submitted notebook and
the course files, its own /proc and a minimal /dev. It shares no PID, IPC, UTS, network or user
namespace with the machine: no network at all, no process of the grader to see or signal, no
capability. It never sees the course root, ``solutions/``, a gradebook, another submission or
``grader/``.

While the kernel runs, a :class:`Watch` (driven by .guarded_execute) reads the channel and the
limits from the grader's side.

Limits: memory and tasks (processes and threads) through a cgroup of the job's own when the
machine lets us create one (root, cgroups v1 or v2), else memory through RLIMIT_AS; CPU seconds
through RLIMIT_CPU. Everything the kernel started dies with it (it is PID 1's child in its PID
namespace), and :meth:`Sandbox.close` kills whatever is left in the cgroup.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "rnn-grader-sandbox"
HOME = "/home/student"
WORKDIR = f"{HOME}/work"
CGROUP_ROOT = Path("/sys/fs/cgroup")
ENVIRONMENT = ("COURSE_FAST", "COURSE_WIDGETS", "COURSE_THREADS", "NBGRADER_EXECUTION",
               "NBGRADER_VALIDATING", "OMP_WAIT_POLICY", "PYDEVD_DISABLE_FILE_VALIDATION",
               "LANG", "LC_ALL", "TZ")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf",
             "passwd", "group", "alternatives", "fonts", "mime.types", "os-release")
GIB = 2**30
MAX_FILE_BYTES = 2**30  # the largest file a kernel may write (RLIMIT_FSIZE)


@dataclass(frozen=True)
class Limits:
    memory: int = 4 * GIB  # bytes, the kernel and everything it starts together
    tasks: int = 256  # processes and threads together
    cpu_seconds: int = 3600  # per process

    def describe(self) -> str:
        return (f"memory {self.memory / GIB:g} GiB, {self.tasks} processes and threads, "
                f"{self.cpu_seconds} CPU seconds per process")


DEFAULT_LIMITS = Limits()


def _tool(name: str) -> str | None:
    """A system command, found on PATH or where Debian puts it whatever PATH says."""
    return shutil.which(name) or shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def bwrap() -> str | None:
    return _tool("bwrap")


@functools.lru_cache(maxsize=1)
def check() -> str | None:
    """None when the sandbox works on this machine, else why not (one line)."""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux (bubblewrap)"
    if bwrap() is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; "
                "`make lab` and `make test` install it where they can)")
    probe = subprocess.run([bwrap(), *_view(), "--unshare-all", "--uid", "1000", "--gid", "1000",
                            "--die-with-parent", "--", sys.executable, "-c", "print(42)"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0 or probe.stdout.strip() != "42":
        return ("bubblewrap cannot create the sandbox's namespaces here: "
                + (probe.stderr.strip().splitlines() or ["no output"])[-1])
    return None


def _python_roots() -> list[str]:
    """Directories of the Python installation and the installed packages a kernel imports."""
    import importlib.util

    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             os.path.realpath(os.path.dirname(os.path.dirname(sys.executable)))}
    spec = importlib.util.find_spec("course_utils")
    if spec is not None and spec.submodule_search_locations:
        roots.update(os.path.realpath(p) for p in spec.submodule_search_locations)
    ordered = sorted(roots, key=len)
    return [r for r in ordered if not any(r != o and r.startswith(o + os.sep) for o in ordered)]


def _view() -> list[str]:
    """Read-only binds of the system and the Python environment."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for root in _python_roots():
        if not root.startswith("/usr/"):
            args += ["--ro-bind", root, root]
    return args


# Temporary directories of the grader start with this, then the pid of the process that made
# them: grader.execute.autograde removes those of processes that are gone.
SCRATCH_PREFIX = "rnn-grader-"


def _socket_directory() -> Path:
    """A directory for the kernel's ipc sockets whose paths fit a Unix socket address (108
    bytes): the job's own directory may lie too deep (a cluster worker's scratch space)."""
    import tempfile

    prefix = f"{SCRATCH_PREFIX}{os.getpid()}-ipc-"
    base = tempfile.gettempdir()
    if len(base) > 60:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def _cgroup_version() -> int | None:
    if os.geteuid() != 0:
        return None
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        controllers = (CGROUP_ROOT / "cgroup.subtree_control").read_text().split()
        return 2 if {"memory", "pids"} <= set(controllers) else None
    if (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
        return 1
    return None


class Sandbox:
    """The sandbox of one job (see the module docstring)."""

    def __init__(self, directory: Path, limits: Limits = DEFAULT_LIMITS):
        self.directory = Path(directory)
        self.limits = limits
        self.run = self.directory / "run"
        self.sockets: Path | None = None  # ZeroMQ's ipc sockets, see _socket_directory
        self.guard = self.directory / "guard"
        self.channel = self.directory / "channel"
        self.cgroups: list[Path] = []
        self.version = None

    @classmethod
    def load(cls, directory: Path) -> Sandbox:
        """The sandbox :meth:`prepare` laid out in ``directory`` (from another process)."""
        state = json.loads((Path(directory) / "sandbox.json").read_text())
        sandbox = cls(directory, Limits(**state["limits"]))
        sandbox.cgroups = [Path(c) for c in state["cgroups"]]
        sandbox.version = state["version"]
        sandbox.sockets = Path(state["sockets"])
        return sandbox

    # ------------------------------------------------------------------ setting up

    def prepare(self, files: dict[str, Path], environment: dict[str, str]) -> dict[str, str]:
        """Lay out the job's directory, create its cgroup; ``files`` (name in the working
        directory -> file) are shown read-only in the kernel's working directory. Return the
        settings for the process that starts the kernel (JUPYTER_PATH, runtime directory)."""
        from . import kernel_guard

        for path in (self.run, self.guard, self.directory / "kernels" / KERNEL_NAME):
            path.mkdir(parents=True, exist_ok=True)
        self.sockets = _socket_directory()
        shutil.copyfile(kernel_guard.__file__, self.guard / "kernel_guard.py")
        os.mkfifo(self.channel, 0o600)
        self._make_cgroups()
        # interrupt_mode "message": a timed-out cell is interrupted through the kernel's control
        # channel; a signal would reach only bwrap outside the sandbox.
        spec = {"argv": self._argv(files, environment), "display_name": "Python 3 (sandbox)",
                "language": "python", "interrupt_mode": "message",
                "metadata": {"debugger": False}}
        (self.directory / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
        state = {"limits": self.limits.__dict__, "cgroups": [str(c) for c in self.cgroups],
                 "version": self.version, "sockets": str(self.sockets)}
        (self.directory / "sandbox.json").write_text(json.dumps(state))
        return {"JUPYTER_PATH": str(self.directory), "JUPYTER_RUNTIME_DIR": str(self.run)}

    def kernel_config(self, config) -> None:
        """Point nbgrader's executor at the sandboxed kernelspec, over ipc sockets in run/."""
        config.Execute.kernel_name = KERNEL_NAME
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(self.sockets / "kernel")
        config.KernelManager.connection_file = str(self.run / "connection.json")

    def _argv(self, files: dict[str, Path], environment: dict[str, str]) -> list[str]:
        work = [
            "--tmpfs", "/tmp", "--size", str(self.limits.memory), "--tmpfs", HOME,
            "--dir", WORKDIR,
        ]
        for name, path in sorted(files.items()):
            work += ["--ro-bind", str(path), f"{WORKDIR}/{name}"]
        env = {key: environment[key] for key in ENVIRONMENT if key in environment}
        env.update({"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                    "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "MPLBACKEND": "agg",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                    "JUPYTER_RUNTIME_DIR": f"{HOME}/.jupyter-runtime",
                    "RNN_GRADER_CHANNEL": str(self.channel)})
        setenv = [arg for key, value in sorted(env.items())
                  for arg in ("--setenv", key, value)]
        command = [
            bwrap(), *_view(), "--proc", "/proc", "--dev", "/dev", *work,
            "--bind", str(self.run), str(self.run),
            "--bind", str(self.sockets), str(self.sockets),
            "--ro-bind", str(self.guard), str(self.guard),
            "--bind", str(self.channel), str(self.channel),
            "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
            "--hostname", "sandbox",
            "--disable-userns", "--die-with-parent", "--new-session", "--chdir", WORKDIR,
            "--clearenv", *setenv,
            "--", sys.executable, "-I",
            str(self.guard / "kernel_guard.py"), "-f", "{connection_file}",
        ]
        # --fsize: the kernel's stdout is the worker's log file, on the grader's disk.
        limits = [f"--cpu={self.limits.cpu_seconds}", "--core=0", f"--fsize={MAX_FILE_BYTES}"]
        if not self.cgroups:
            limits.append(f"--as={self.limits.memory}")
        wrapped = [_tool("prlimit") or "/usr/bin/prlimit", *limits, "--", *command]
        if not self.cgroups:
            return wrapped
        # Join the job's cgroups before anything else runs, so every descendant is counted.
        join = "; ".join(f"echo $$ > {shlex.quote(str(c / 'cgroup.procs'))}"
                         for c in self.cgroups)
        return ["/bin/sh", "-c", f'{join} && exec "$@"', "rnn-grader-kernel", *wrapped]

    def _make_cgroups(self) -> None:
        self.version = _cgroup_version()
        name = "rnn-grader/" + "-".join(self.directory.parts[-3:])
        try:
            if self.version == 1:
                memory = CGROUP_ROOT / "memory" / name
                pids = CGROUP_ROOT / "pids" / name
                for path in (memory, pids):
                    path.mkdir(parents=True, exist_ok=True)
                (memory / "memory.limit_in_bytes").write_text(str(self.limits.memory))
                (pids / "pids.max").write_text(str(self.limits.tasks))
                self.cgroups = [memory, pids]
            elif self.version == 2:
                group = CGROUP_ROOT / name
                group.parent.mkdir(exist_ok=True)
                (group.parent / "cgroup.subtree_control").write_text("+memory +pids")
                group.mkdir(exist_ok=True)
                (group / "memory.max").write_text(str(self.limits.memory))
                (group / "memory.swap.max").write_text("0")
                (group / "pids.max").write_text(str(self.limits.tasks))
                self.cgroups = [group]
        except OSError:
            self.cgroups = []  # not allowed here after all: rlimits only

    # ------------------------------------------------------------------ reading limits

    def limit_hit(self) -> str | None:
        """Which limit the job's processes ran into so far, in words, or None."""
        if not self.cgroups:
            return None
        if self.version == 1:
            memory, pids = self.cgroups
            oom = _counter(memory / "memory.oom_control", "oom_kill")
            tasks = _counter(pids / "pids.events", "max")
        else:
            oom = _counter(self.cgroups[0] / "memory.events", "oom_kill")
            tasks = _counter(self.cgroups[0] / "pids.events", "max")
        if oom:
            return f"memory limit of {self.limits.memory / GIB:g} GiB exceeded"
        if tasks:
            return f"limit of {self.limits.tasks} processes and threads reached"
        return None

    def enforced(self) -> str:
        how = "cgroup" if self.cgroups else "rlimit (memory per process; no process limit)"
        return f"{self.limits.describe()} ({how})"

    # ------------------------------------------------------------------ ending

    def processes(self) -> list[int]:
        found = set()
        for group in self.cgroups:
            try:
                found.update(int(p) for p in (group / "cgroup.procs").read_text().split())
            except OSError:
                continue
        return sorted(found)

    def close(self) -> None:
        """Kill whatever the kernel left behind and remove the job's cgroups."""
        import signal
        import time

        for _ in range(50):
            left = self.processes()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        for group in self.cgroups:
            try:
                group.rmdir()
            except OSError:
                pass
        self.cgroups = []
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)


class Watch:
    """The grader's side of a sandboxed kernel while it runs (.guarded_execute drives it): reads
    the guard's channel (a FIFO) in a thread, matches probe reports with their nonces, reads the
    job's limits, and writes what it found to ``findings.json`` for the worker (.worker)."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.records: list[dict] = []
        self.findings: dict[str, int] = {}  # finding -> the cell it was first seen before
        self.events: dict[str, int] = {}  # audit event -> execution count it was first seen in
        self.problems: list[dict] = []
        self.armed = False
        self._lock = threading.Condition()
        self._fd = os.open(self.sandbox.channel, os.O_RDONLY | os.O_NONBLOCK)
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        while not self._done:
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:  # no writer (not yet, or any more)
                time.sleep(0.05)
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > 1_000_000:
                pending = b""  # a flood, not the guard: dropped
            for line in lines:
                self._take(line)

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        with self._lock:
            if len(self.records) < 10_000:
                self.records.append(record)
            event = record.get("event")
            if isinstance(event, str) and event not in self.events:
                count = record.get("count")
                self.events[event] = count if isinstance(count, int) else -1
            self._lock.notify_all()

    def await_report(self, nonce: str, before: int, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        with self._lock:
            while True:
                report = next((r for r in self.records if r.get("probe") == nonce), None)
                if report is not None or time.monotonic() > deadline:
                    break
                self._lock.wait(0.05)
        if report is None or not isinstance(report.get("findings"), list):
            self.note_missing_probe(before)
            return
        for finding in report["findings"]:
            if isinstance(finding, str):
                self.findings.setdefault(finding[:300], before)

    def note_missing_probe(self, before: int) -> None:
        self.problems.append({"kind": "probe", "cell": before})

    def note_limit(self, limit: str, index: int) -> None:
        self.problems.append({"kind": "limit", "limit": limit, "cell": index})

    def limit_hit(self) -> str | None:
        return self.sandbox.limit_hit()

    def finish(self) -> None:
        self._done = True
        self._thread.join(timeout=2)
        os.close(self._fd)
        result = {"findings": self.findings, "events": self.events, "problems": self.problems}
        (self.sandbox.directory / "findings.json").write_text(json.dumps(result))


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return 0
    return 0
