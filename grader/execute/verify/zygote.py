"""Warm verifier kernels: one process with the course's libraries imported, forked per kernel.

A verifier kernel (see :mod:`.session`) costs a Python start and the imports of numpy, torch,
matplotlib, ``course_utils`` and ipykernel, about as much CPU as grading a submission of notebook
01. Since the verifier never runs a line of a submission, that work can be done once:
``autograde`` starts a *zygote*, a process of the grader's Python that imports all of it and then
waits on a Unix socket. Each verifier kernel is a fork of it, so every submission still gets a
fresh process (nothing one submission's tests did reaches another's) at a fraction of the cost.

The protocol is one JSON line per connection: ``{"connection_file", "cwd", "env"}``, answered
with ``{"pid": N}`` once the child runs; the child lives as long as the connection (closing it,
or the client dying, kills the kernel). The socket sits in a directory only this user can enter,
and a sandboxed kernel, with its own ``/tmp``, cannot see it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

FAILED = "failed"  # in the zygote's directory when it could not start: verifiers start cold
WAIT_FOR_ZYGOTE = 120.0  # seconds a verifier waits for the zygote to finish its imports
PRELOAD = ("numpy", "torch", "matplotlib.pyplot", "IPython", "ipykernel.kernelapp",
           "ipykernel.ipkernel", "jupyter_client", "grader.execute.verify.proxies")


# ----------------------------------------------------------------------------- the zygote


def _preload() -> None:
    import importlib
    import pkgutil

    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    import course_utils

    for module in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        importlib.import_module(module.name)


def _serve(listener: socket.socket) -> None:
    """Fork a kernel per request; kill it when its connection closes."""
    children: dict[socket.socket, int] = {}
    while True:
        readable, _, _ = select.select([listener, *children], [], [], 1.0)
        for ready in readable:
            if ready is listener:
                connection, _ = listener.accept()
                pid = _fork_kernel(connection, listener, children)
                if pid:
                    children[connection] = pid
                else:
                    connection.close()
            else:  # the client closed (or died): its kernel goes with it
                with contextlib.suppress(OSError):
                    ready.recv(1)
                pid = children.pop(ready)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                ready.close()
        _reap()


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork_kernel(connection: socket.socket, listener: socket.socket, children: dict) -> int:
    request = _read_request(connection)
    if request is None:
        return 0
    pid = os.fork()
    if pid == 0:
        try:
            listener.close()
            for other in children:
                other.close()
            connection.close()
            _become_kernel(request)
        finally:
            os._exit(1)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    return pid


def _read_request(connection: socket.socket) -> dict | None:
    """The one request line, from a process of this user, naming a connection file that exists
    inside the working directory it names (the kernel never writes one itself)."""
    uid = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    if int.from_bytes(uid[4:8], sys.byteorder) != os.getuid():
        return None
    connection.settimeout(10)
    data = b""
    with contextlib.suppress(OSError):
        while not data.endswith(b"\n") and len(data) < 1_000_000:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    connection.settimeout(None)
    try:
        request = json.loads(data)
        cwd = Path(request["cwd"]).resolve()
        connection_file = Path(request["connection_file"]).resolve()
        env = {str(k): str(v) for k, v in request["env"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (cwd.is_dir() and connection_file.is_file() and connection_file.parent == cwd):
        return None
    return {"cwd": str(cwd), "connection_file": str(connection_file), "env": env}


def _die_with_parent() -> None:
    """The zygote dies with the grader that started it, a kernel with the zygote."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _become_kernel(request: dict) -> None:
    _die_with_parent()
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", request["connection_file"], "--quiet"])
    app.start()


def main() -> None:
    directory = Path(sys.argv[1])
    _die_with_parent()
    if os.getppid() != int(sys.argv[2]):  # the grader died before the line above
        return
    try:
        _preload()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(directory / "zygote.sock"))
        listener.listen(64)
    except BaseException:
        import traceback

        (directory / FAILED).write_text(traceback.format_exc())
        raise
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader's Ctrl+C: it stops us itself
    _serve(listener)


# ----------------------------------------------------------------------------- the grader's side


class Zygote:
    """The zygote process of one ``autograde`` run (started here, stopped by :meth:`close`)."""

    def __init__(self, env: dict[str, str]):
        from grader.execute.sandbox import SCRATCH_PREFIX

        # Named like the run's scratch directory, so that the next run removes it if this one
        # is killed (grader.execute.sandbox.remove_leftovers).
        self._directory = tempfile.TemporaryDirectory(
            prefix=f"{SCRATCH_PREFIX}{os.getpid()}-zygote-")
        os.chmod(self._directory.name, 0o700)
        self.address = str(Path(self._directory.name) / "zygote.sock")
        env = {k: v for k, v in env.items() if k not in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.execute.verify.zygote", self._directory.name,
             str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, start_new_session=True)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._directory.cleanup()


class ForkedKernel:
    """A verifier kernel forked by the zygote at ``address``, with the part of
    ``jupyter_client.KernelManager``'s interface :class:`.session.BlockingKernel` uses."""

    def __init__(self, address: str, cwd: Path, env: dict[str, str], connection_file: Path):
        from jupyter_client.connect import write_connection_file

        self.connection_file = str(connection_file)
        write_connection_file(self.connection_file, transport="ipc",
                              ip=str(Path(cwd) / "verifier-ipc"))
        self._socket = _connect(address)
        request = {"cwd": str(cwd), "connection_file": self.connection_file, "env": env}
        self._socket.sendall(json.dumps(request).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = self._socket.recv(4096)
            if not chunk:
                self._socket.close()
                raise ZygoteUnavailable("the verifier zygote refused to start a kernel")
            answer += chunk
        self.pid = int(json.loads(answer)["pid"])

    def client(self):
        from jupyter_client.blocking import BlockingKernelClient

        client = BlockingKernelClient(connection_file=self.connection_file)
        client.load_connection_file()
        return client

    def get_connection_info(self) -> dict:
        return self.client().get_connection_info()

    def interrupt_kernel(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)

    def is_alive(self) -> bool:
        try:
            self._socket.setblocking(False)
            try:
                gone = self._socket.recv(1) == b""
            except BlockingIOError:
                gone = False
            finally:
                self._socket.setblocking(True)
        except OSError:
            gone = True
        if gone:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return _state(self.pid) not in ("Z", "X", None)

    def shutdown_kernel(self, now: bool = True) -> None:
        self._socket.close()  # the zygote kills the kernel


class ZygoteUnavailable(RuntimeError):
    """The zygote failed to start or is gone: the verifier starts its kernel cold."""


def _connect(address: str) -> socket.socket:
    """A connection to the zygote, once it has finished its imports (it listens only then)."""
    import time

    failed = Path(address).with_name(FAILED)
    deadline = time.monotonic() + WAIT_FOR_ZYGOTE
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(address)
            return connection
        except (FileNotFoundError, ConnectionRefusedError) as error:
            connection.close()
            if failed.exists() or not Path(address).parent.is_dir() \
                    or time.monotonic() > deadline:
                raise ZygoteUnavailable(f"no verifier zygote at {address}") from error
            time.sleep(0.05)


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


if __name__ == "__main__":
    main()
