"""The jail every grading kernel runs in: bubblewrap namespaces, a minimal read-only view of the
machine, limits, and a private channel to the grader.

A :class:`Sandbox` belongs to one job (one submission). It lays out, in a directory of its own
outside anything the kernel sees except what it binds:

    <dir>/kernels/rnn-grader-sandbox/kernel.json   the kernelspec whose argv wraps the kernel
    <dir>/run/                                      connection file (read-only)
    /tmp/rnn-grader-<pid>-ipc-*/                    ZeroMQ ipc sockets (see _socket_directory)
    <dir>/guard/kernel_guard.py                     the kernel's launcher (read-only)
    <dir>/channel                                   FIFO: audit events and probe reports
    <dir>/output                                    FIFO: the kernel's stdout and stderr

The kernel itself sees: /usr (and the /bin, /lib symlinks into it), a few files of /etc, the
Python installation and the environment holding the installed packages, and the directory of the
``course_utils`` package the grader itself imports (read-only; see :func:`plan_binds`), a
private /tmp and home on tmpfs, a working directory on tmpfs holding the submitted notebook and
the course files, its own /proc and a minimal /dev. It shares no PID, IPC, UTS, network or user
namespace with the machine: no network at all, no process of the grader to see or signal, no
capability. It never sees the course root, ``solutions/``, a gradebook, another submission or
``grader/``.

While the kernel runs, a :class:`Watch` (driven by .guarded_execute) reads the channel, the
kernel's output and the limits from the grader's side.

The kernel holds no writable handle to the grader's side: its stdout and stderr are a pipe the
Watch reads with a cap (never a file on the grader's disk), the run directory (its connection
file) is read-only, and the directory of its ipc sockets is closed to it once its sockets exist
(when the grader runs as root: the directory then belongs to another user).

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
import tempfile
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


DEFAULT_LIMITS = Limits()


def _tool(name: str) -> str | None:
    """A system command, found on PATH or where Debian puts it whatever PATH says."""
    return shutil.which(name) or shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def bwrap() -> str | None:
    return _tool("bwrap")


@dataclass(frozen=True)
class PythonLayout:
    """Where the grader's Python and the packages a kernel imports live (see :func:`plan_binds`)."""

    prefix: str  # sys.prefix (a venv, a conda environment, /usr)
    base_prefix: str  # sys.base_prefix (the installation a venv was made from)
    executable: str  # sys.executable
    course_utils: str | None  # the course_utils package directory the grader resolved

    @classmethod
    def current(cls) -> PythonLayout:
        import importlib.util

        spec = importlib.util.find_spec("course_utils")
        where = (list(spec.submodule_search_locations)[0]
                 if spec is not None and spec.submodule_search_locations else None)
        return cls(sys.prefix, sys.base_prefix, sys.executable,
                   os.path.realpath(where) if where else None)


def plan_binds(layout: PythonLayout) -> list[str]:
    """The directories a kernel needs read-only, outermost only: the Python installation(s) and
    the very ``course_utils`` package the grader resolved (its directory alone, never the
    checkout around it, which holds ``solutions/``). Anything under /usr is already bound."""
    roots = {os.path.realpath(layout.prefix), os.path.realpath(layout.base_prefix),
             os.path.realpath(os.path.dirname(os.path.dirname(layout.executable))),
             os.path.dirname(os.path.dirname(os.path.realpath(layout.executable)))}
    if layout.course_utils:
        roots.add(os.path.realpath(layout.course_utils))
    roots = {r for r in roots if r != "/usr" and not r.startswith("/usr/") and r != "/"}
    ordered = sorted(roots, key=len)
    return [r for r in ordered if not any(r != o and r.startswith(o + os.sep) for o in ordered)]


@functools.lru_cache(maxsize=1)
def check() -> str | None:
    """None when the sandbox works on this machine, else why not (one line).

    It starts the real kernel command, in the real sandbox, up to the point where the kernel
    would start listening: the grader's Python importing the grader's ``course_utils``, numpy,
    torch, matplotlib and ipykernel, so that it fails wherever grading would (a venv under a
    directory the sandbox mounts over, a ``course_utils`` the kernel cannot see)."""
    import tempfile

    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux (bubblewrap)"
    if bwrap() is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; "
                "`make lab` and `make test` install it where they can)")
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-check-") as scratch:
        box = Sandbox(Path(scratch))
        try:
            box.prepare({}, dict(os.environ), cgroups=False)
            probe = subprocess.run(box.command({}, dict(os.environ), ["--self-check"]),
                                   capture_output=True, text=True, timeout=300)
        finally:
            box.close()
    from .kernel_guard import SELF_CHECK_OK

    if probe.returncode == 0 and probe.stdout.strip().endswith(SELF_CHECK_OK):
        try:
            names = json.loads(probe.stdout.strip().splitlines()[-2])
            _WATCHED.update({key: frozenset(value) for key, value in names.items()})
        except (ValueError, IndexError, AttributeError, TypeError):
            pass  # findings are then named by module only
        return None
    lines = [line for line in (probe.stderr + probe.stdout).splitlines() if line.strip()]
    return ("the sandboxed kernel cannot start here (exit status "
            f"{probe.returncode}): " + (" | ".join(lines[-3:]) or "no output"))


# What a clean sandboxed kernel watches (modules, "module.attribute", "class.attribute"), from
# the self-check: the only object names a finding is ever shown with.
_WATCHED: dict[str, frozenset[str]] = {}


def describe_finding(finding, names: dict[str, str]) -> str:
    """A finding of the kernel's guard in the grader's own words. The guard runs in the
    submission's process, so a finding is untrusted data: only a code from the guard's fixed
    list is worded, and only with a name from the grader's own lists (the clean kernel's watch
    list, the guard's hooks and shell parts, the names the locked cells bind, ``names``);
    anything else is "a change the grader cannot describe". No text of the kernel is kept."""
    from .kernel_guard import CODES, HOOKS, SHELL_PARTS

    unknown = "a change the grader cannot describe"
    if not isinstance(finding, dict) or finding.get("code") not in CODES:
        return unknown
    code, name = finding["code"], finding.get("object")
    name = name if isinstance(name, str) else ""
    modules = _WATCHED.get("modules", frozenset())

    def watched(kind: str) -> str | None:
        if name in _WATCHED.get(kind, ()):
            return name
        owner = name.rpartition(".")[0]
        while owner and owner not in modules:
            owner = owner.rpartition(".")[0]
        return f"an attribute of {owner}" if owner else None

    if code == "module_replaced":
        return f"sys.modules[{name!r}] was replaced" if name in modules else unknown
    if code in ("attribute_replaced", "attribute_deleted", "code_changed"):
        shown = watched("attributes")
        if shown is None:
            return unknown
        if code == "code_changed":
            return f"the code or defaults of {shown} were changed"
        return f"{shown} was {code.rpartition('_')[2]}"
    if code in ("class_attribute_replaced", "class_attribute_deleted"):
        shown = watched("classes")
        return f"{shown} was {code.rpartition('_')[2]}" if shown else unknown
    if code == "hook_changed":
        return f"{name} was changed" if name in HOOKS else unknown
    if code == "shell_changed":
        return f"the IPython {name} were changed" if name in SHELL_PARTS else unknown
    if code == "builtins_replaced":
        return "the notebook's __builtins__ was replaced"
    if code == "name_rebound":
        if name in names:
            return f"the notebook's name {name} no longer refers to {names[name]}"
        return unknown
    return {"armed_twice": "the guard was armed twice",
            "never_armed": "the guard was never armed"}[code]


def _view(layout: PythonLayout | None = None) -> list[str]:
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
    for root in plan_binds(layout or PythonLayout.current()):
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
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    if os.geteuid() == 0:
        # The kernel's files outside the sandbox belong to the grader's user (root), but it has
        # no capability: a directory of another user, writable for it only until its sockets
        # exist (close_sockets), is one it can then neither write into nor chmod open again.
        os.chown(directory, NOBODY, NOBODY)
        os.chmod(directory, 0o733)
    return directory


NOBODY = 65534


def close_sockets(directory: Path) -> None:
    """The kernel has bound its sockets: nothing more may be created in their directory."""
    if os.geteuid() == 0:
        os.chmod(directory, 0o511)


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
        self.output = self.directory / "output"
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

    def prepare(self, files: dict[str, Path], environment: dict[str, str],
                cgroups: bool = True) -> dict[str, str]:
        """Lay out the job's directory, create its cgroup (unless ``cgroups`` is False);
        ``files`` (name in the working directory -> file) are shown read-only in the kernel's
        working directory. Return the settings for the process that starts the kernel
        (JUPYTER_PATH, runtime directory)."""
        from . import kernel_guard

        for path in (self.run, self.guard, self.directory / "kernels" / KERNEL_NAME):
            path.mkdir(parents=True, exist_ok=True)
        self.sockets = _socket_directory()
        shutil.copyfile(kernel_guard.__file__, self.guard / "kernel_guard.py")
        os.mkfifo(self.channel, 0o600)
        os.mkfifo(self.output, 0o600)
        if cgroups:
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
        command = self.command(files, environment, ["-f", "{connection_file}"])
        # Join the job's cgroups before anything else runs, so every descendant is counted;
        # stdout and stderr become the output pipe (the worker's own are its log file).
        join = "".join(f"echo $$ > {shlex.quote(str(c / 'cgroup.procs'))} && "
                       for c in self.cgroups)
        output = shlex.quote(str(self.output))
        return ["/bin/sh", "-c", f'{join}exec "$@" >{output} 2>&1 </dev/null',
                "rnn-grader-kernel", *command]

    def command(self, files: dict[str, Path], environment: dict[str, str],
                launcher_args: list[str]) -> list[str]:
        """The kernel's command line: limits, bubblewrap, the guard with ``launcher_args``.

        Order matters, bubblewrap applies its arguments in turn: the tmpfs mounts come first,
        so that a bind below them (a venv or a checkout under /tmp) is mounted on top of them
        rather than hidden by them."""
        layout = PythonLayout.current()
        work = [
            "--size", str(self.limits.memory), "--tmpfs", "/tmp",
            "--size", str(self.limits.memory), "--tmpfs", HOME,
            "--dir", WORKDIR,
        ]
        env = {key: environment[key] for key in ENVIRONMENT if key in environment}
        env.update({"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                    "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "MPLBACKEND": "agg",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                    "JUPYTER_RUNTIME_DIR": f"{HOME}/.jupyter-runtime",
                    "RNN_GRADER_CHANNEL": str(self.channel)})
        if layout.course_utils:
            env["RNN_GRADER_COURSE_PATH"] = os.path.dirname(layout.course_utils)
        setenv = [arg for key, value in sorted(env.items())
                  for arg in ("--setenv", key, value)]
        command = [
            bwrap(), *work, *_view(layout), "--proc", "/proc", "--dev", "/dev",
            *[arg for name, path in sorted(files.items())
              for arg in ("--ro-bind", str(path), f"{WORKDIR}/{name}")],
            "--ro-bind", str(self.run), str(self.run),
            "--bind", str(self.sockets), str(self.sockets),
            "--ro-bind", str(self.guard), str(self.guard),
            "--bind", str(self.channel), str(self.channel),
            "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
            "--hostname", "sandbox",
            "--disable-userns", "--die-with-parent", "--new-session", "--chdir", WORKDIR,
            "--clearenv", *setenv,
            "--", sys.executable, "-I",
            str(self.guard / "kernel_guard.py"), *launcher_args,
        ]
        # --fsize: the kernel's stdout is the worker's log file, on the grader's disk.
        limits = [f"--cpu={self.limits.cpu_seconds}", "--core=0", f"--fsize={MAX_FILE_BYTES}"]
        if not self.cgroups:
            limits.append(f"--as={self.limits.memory}")
        return [_tool("prlimit") or "/usr/bin/prlimit", *limits, "--", *command]

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
    the guard's channel (a FIFO) and the kernel's output (another) in a thread, matches probe
    reports with their nonces, reads the job's limits, and writes what it found to
    ``findings.json`` and what the kernel printed (capped) to ``output.json`` for the worker
    (.worker)."""

    MAX_FINDINGS = 200  # per report: more is a flood, not a kernel's state

    def __init__(self, sandbox: Sandbox, names: dict[str, str] | None = None):
        self.sandbox = sandbox
        self.names = dict(names or {})  # names the locked cells bind to modules (np -> numpy)
        self.records: list[dict] = []
        # a finding in the grader's words (describe_finding) -> the cell it was first seen before
        self.findings: dict[str, int] = {}
        self.events: dict[str, int] = {}  # audit event -> execution count it was first seen in
        self.problems: list[dict] = []
        self.armed = False
        self.output = KernelOutput()
        self._lock = threading.Condition()
        self._fd = os.open(self.sandbox.channel, os.O_RDONLY | os.O_NONBLOCK)
        self._output_fd = (os.open(self.sandbox.output, os.O_RDONLY | os.O_NONBLOCK)
                           if self.sandbox.output.exists() else None)
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        sources = [fd for fd in (self._fd, self._output_fd) if fd is not None]
        while not self._done:
            ready, _, _ = select.select(sources, [], [], 0.2)
            if not ready:
                continue
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:  # no writer (not yet, or any more)
                    time.sleep(0.05)
                    continue
                if fd == self._output_fd:
                    self.output.take(chunk)
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
        for finding in report["findings"][:self.MAX_FINDINGS]:
            self.findings.setdefault(describe_finding(finding, self.names), before)

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
        if self._output_fd is not None:
            os.close(self._output_fd)
        result = {"findings": self.findings, "events": self.events, "problems": self.problems}
        (self.sandbox.directory / "findings.json").write_text(json.dumps(result))
        (self.sandbox.directory / "output.json").write_text(json.dumps(self.output.to_dict()))


class KernelOutput:
    """What a kernel wrote to its stdout and stderr, capped: the first and the last
    :data:`KEEP` bytes and how many there were. ``startup`` is what arrived before the first
    cell was sent (the kernel's own start, before any code of the submission could run)."""

    KEEP = 64 * 1024

    def __init__(self):
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.startup: bytes | None = None

    def take(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.KEEP - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[:-self.KEEP]

    def cells_start(self) -> None:
        if self.startup is None:
            self.startup = bytes(self.head + self.tail)

    def to_dict(self) -> dict:
        text = lambda data: bytes(data).decode("utf-8", "replace")  # noqa: E731
        return {"total": self.total, "head": text(self.head), "tail": text(self.tail),
                "startup": text(self.startup if self.startup is not None
                                else self.head + self.tail),
                "cells_started": self.startup is not None}


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return 0
    return 0


def remove_leftovers() -> None:
    """Scratch directories and cgroups of grader runs that were killed (their process is gone):
    a killed run cannot clean up after itself, the next one does."""
    def dead(name: str) -> bool:
        pid = name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _zombie(int(pid))  # killed, but not reaped yet (a container's init may never)

    for base in {Path(tempfile.gettempdir()), Path("/tmp")}:  # ipc sockets may be in /tmp
        for path in base.glob(f"{SCRATCH_PREFIX}*"):
            if path.is_dir() and dead(path.name):
                shutil.rmtree(path, ignore_errors=True)
    for parent in (CGROUP_ROOT / "memory" / "rnn-grader", CGROUP_ROOT / "pids" / "rnn-grader",
                   CGROUP_ROOT / "rnn-grader"):
        for group in parent.glob(f"{SCRATCH_PREFIX}*") if parent.is_dir() else ():
            if dead(group.name):
                try:
                    group.rmdir()
                except OSError:  # processes still in it: left for a later run
                    pass


def _zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[:1] == ["Z"]
