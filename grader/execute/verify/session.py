"""The grader's side: the verifier kernel, and which cells it runs.

During ``autograde`` and ``check`` a notebook runs in two kernels. The student's kernel (sandboxed
under ``autograde``) runs every cell except the test cells, as before. The verifier kernel, a
plain kernel of the grader's own Python started beside it, runs only code the grader holds: the
notebook's setup cell and its test cells, both as the course's source has them (never the
submission's copy). Before each test cell it binds the names the cell uses and does not define to
what the student's kernel has under them (:func:`grader.execute.verify.proxies.bind`); the cell's outputs,
and so its score, are the verifier's.
"""

from __future__ import annotations

import ast
import json
import os
import queue
import subprocess
import tempfile
import time
from pathlib import Path

from grader.core import cells

IMPORT = "from grader.execute.verify import proxies as _rnn_verifier_proxies"


def setup_source(source_nb) -> str | None:
    """The setup cell of the course's notebook (grade id ``setup``, else its first locked code
    cell): run in the verifier before any test."""
    code = [c for c in source_nb["cells"] if c.get("cell_type") == "code"]
    for cell in code:
        if cells.grade_id(cell) == "setup":
            return _text(cell)
    for cell in code:
        if cells.nbgrader_meta(cell).get("locked") and not cells.is_grade(cell):
            return _text(cell)
    return None


def test_sources(source_nb) -> dict[str, str]:
    """grade id -> source of every test cell of the course's notebook, hidden tests included."""
    return {cells.grade_id(c): _text(c) for c in source_nb["cells"] if cells.is_test(c)}


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def used_names(source: str) -> list[str]:
    """Names a test cell reads and binds nowhere itself (assignment, ``def``, ``class``,
    ``import``, parameter, loop or ``except`` target): the candidates for the student's names.
    A cell that does not parse uses none (it fails in the verifier as it would anywhere)."""
    tree = cells.parse_cell(source)
    if tree is None:
        return []
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(read - bound)


def connect_code(connection: dict, timeout: float) -> str:
    info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in connection.items()}
    return f"{IMPORT}\n_rnn_verifier_proxies.connect({json.dumps(info)!s}, {float(timeout)!r})\n"


def bind_code(source: str) -> str:
    return f"{IMPORT}\n_rnn_verifier_proxies.bind({used_names(source)!r})\n"


FINISH = f"{IMPORT}\n_rnn_verifier_proxies.finish()\n"
# Seconds the student's kernel gets to come back to idle after a test cell (its code interrupted
# on a timeout) before the grader calls it unresponsive.
FINISH_GRACE = 30.0


def verifier_directory() -> tempfile.TemporaryDirectory:
    """The verifier's working directory: empty, away from the course and the submission; named
    like a run's scratch directory, so that a later run removes it if this process is killed
    (grader.execute.sandbox.remove_leftovers)."""
    from grader.execute.sandbox import SCRATCH_PREFIX

    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-verifier-")


def error_output(ename: str, evalue: str, traceback: list[str] | None = None) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": traceback or [f"{ename}: {evalue}"]}


class BlockingKernel:
    """One python3 kernel of the grader's Python, driven with jupyter_client directly (the
    learner's quick check runs the student's notebook in one, and both checks verify in one)."""

    def __init__(self, cwd: Path, env: dict[str, str], wait: bool = True,
                 connection_file: Path | None = None, zygote: str | None = None):
        self.manager = None
        if zygote:
            from .zygote import ForkedKernel, ZygoteUnavailable

            try:
                self.manager = ForkedKernel(zygote, cwd, env,
                                            connection_file or Path(cwd) / "kernel.json")
            except ZygoteUnavailable:
                Path(connection_file or Path(cwd) / "kernel.json").unlink(missing_ok=True)
        if self.manager is None:
            from jupyter_client.manager import KernelManager

            self.manager = KernelManager(kernel_name="python3")
            if connection_file is not None:
                self.manager.connection_file = str(connection_file)
            self.manager.start_kernel(cwd=str(cwd), env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = self.manager.client()
        self.client.start_channels()
        self.died: str | None = None
        if wait:
            self.ready()

    def ready(self) -> None:
        self.client.wait_for_ready(timeout=120)

    def run(self, source: str, timeout: float) -> list[dict]:
        """Execute ``source``; its outputs as notebook outputs. A cell that outlives ``timeout``
        is interrupted; a kernel that dies (``os._exit``, a crash) fails this and later cells."""
        if self.died:
            return [error_output("DeadKernelError", f"not run: the kernel died in an earlier cell "
                                              f"({self.died})")]
        outputs: list[dict] = []
        # stop_on_error=False: after a cell that failed or was interrupted, ipykernel would
        # otherwise abort the requests that arrive next (the verifier's FINISH among them).
        request = self.client.execute(source, store_history=False, allow_stdin=False,
                                      stop_on_error=False)
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=1)
            except queue.Empty:
                if not self.manager.is_alive():
                    self.died = source.strip().splitlines()[0][:60] if source.strip() else "?"
                    outputs.append(error_output("DeadKernelError", "the kernel died while running "
                                          "this cell (os._exit, a crash, or out of memory)"))
                    return outputs
                if time.monotonic() > deadline:
                    self.manager.interrupt_kernel()
                    outputs.append(error_output("CellTimeoutError",
                                          f"the cell ran longer than {timeout:g} s"))
                    return outputs
                continue
            if message["parent_header"].get("msg_id") != request:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                return outputs
            if kind == "stream":
                outputs.append({"output_type": "stream", "name": content["name"],
                                "text": content["text"]})
            elif kind == "error":
                outputs.append(error_output(content["ename"], content["evalue"],
                                      content.get("traceback", [])))
            elif kind == "execute_result":
                outputs.append({"output_type": "execute_result", "data": content["data"]})

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)




class Verifier:
    """The verifier kernel of one notebook's grading: started at once (forked from the warm
    ``zygote`` at that address when there is one, see :mod:`.zygote`), connected to the
    student's kernel and through the setup cell in the background, then one test cell at a
    time (:meth:`run_test`)."""

    def __init__(self, setup: str | None, env: dict[str, str], timeout: float,
                 zygote: str | None = None):
        import threading

        self.scratch = verifier_directory()
        cwd = Path(self.scratch.name)
        env = {k: v for k, v in env.items() if k not in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
        self.kernel = BlockingKernel(cwd, env, wait=False,
                                     connection_file=cwd / "verifier-kernel.json", zygote=zygote)
        self.warm = not hasattr(self.kernel.manager, "kernel_name")  # forked, not launched
        self.setup = setup
        self.timeout = timeout
        self.problems: list[str] = []
        self.student_stuck = False
        self._thread: threading.Thread | None = None
        self._threading = threading
        self.connected = False

    def connect(self, connection: dict) -> None:
        """Where the student's kernel is: connect to it and run the setup cell, in the
        background."""
        self.connected = True
        self._thread = self._threading.Thread(target=self._prepare, args=(dict(connection),),
                                              daemon=True)
        self._thread.start()

    def _prepare(self, connection: dict) -> None:
        self.kernel.ready()
        # The channel's own deadline comes after the cell's, which interrupts both kernels.
        channel_timeout = self.timeout + FINISH_GRACE
        for code in (connect_code(connection, channel_timeout), self.setup or ""):
            errors = [o for o in self.kernel.run(code, self.timeout)
                      if o["output_type"] == "error"]
            if errors:
                self.problems.append(f"the grader's verifier could not start "
                                     f"({errors[0]['ename']}: {str(errors[0]['evalue'])[:160]})")

    def run_test(self, source: str, timeout: float) -> list[dict]:
        """A test cell's outputs, run in the verifier with the student's names bound.

        A cell that times out is interrupted in both kernels (the verifier's interrupt reaches
        the student's code through the channel); :attr:`student_stuck` tells the caller when
        the student's kernel still had not come back to idle a grace period later."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.kernel.run(bind_code(source), timeout)
        try:
            return self.kernel.run(source, timeout)
        finally:
            # The student's kernel is idle again before the grader sends it the next cell.
            finished = self.kernel.run(FINISH, min(timeout, FINISH_GRACE))
            if any(o["output_type"] == "error" for o in finished):
                self.student_stuck = True

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.kernel.close()
        self.scratch.cleanup()
