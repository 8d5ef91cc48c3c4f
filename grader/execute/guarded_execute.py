"""Executing a submission under nbgrader, without losing the whole notebook to one bad cell.

nbgrader's ``Execute`` preprocessor gives up on the whole notebook when the kernel dies (a
submission calling ``os._exit``, a segfault, the out-of-memory killer) or stops answering after a
timeout; it also keeps every byte a cell prints in memory. :class:`GuardedExecute` replaces it in
the autograde pipeline:

- a dead or unresponsive kernel stops execution at that cell; the cell gets a ``DeadKernelError``
  (or ``UnresponsiveKernelError``) output, every later code cell a ``NotExecuted`` output, so the
  tests that ran keep their scores, the ones that could not run score zero, and the verdict can
  say which cells ran;
- a cell's output is capped while it arrives (:data:`MAX_CELL_OUTPUT_CHARS`); the rest is dropped
  and replaced by one line saying how much was dropped;
- in a sandbox (see :mod:`.sandbox`), the kernel's guard is asked for a report before every
  test cell and after the last cell, and a limit the kernel ran into stops execution at that
  cell; what was found is left in ``findings.json`` in the sandbox's directory for the worker.
- with ``progress_file`` set, each graded cell's outputs are appended to that file (one JSON line)
  as soon as it has run, so that ``grader check`` can report an exercise while the rest runs;
- with ``verifier_sources`` set (the course's setup and test cells), test cells run in a verifier
  kernel, not in the student's (see :mod:`grader.execute.verify`): the student's kernel only runs the
  student's code on the tests' inputs and hands back plain data.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer, Unicode

from grader.core import cells
from grader.core.policy import WARNING_STDERR_PATTERN
from grader.core.repository import grading_env
from grader.core.verdict import (
    KERNEL_DIED,
    KERNEL_UNRESPONSIVE,
    LIMIT_EXCEEDED,
    NOT_EXECUTED,
    TIMED_OUT,
    TRUNCATED_MARKER,
)

from .kernel_guard import PROBE_MODULE
from .sandbox import Sandbox, Watch, close_sockets
from .verify.session import Verifier

MAX_CELL_OUTPUT_CHARS = 200_000


def error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader's Execute, surviving kernel death and capping output (see the module docstring)."""

    max_cell_output_chars = Integer(
        MAX_CELL_OUTPUT_CHARS,
        help="Characters of output kept per cell; the rest is dropped as it arrives.",
    ).tag(config=True)
    progress_file = Unicode(
        "", help="A file to append each graded cell's outputs to as soon as it has run.",
    ).tag(config=True)

    sandbox_directory = Unicode(
        "", help="The job's sandbox directory (.sandbox), or empty when not sandboxed.",
    ).tag(config=True)

    module_names = Dict(
        help="Names the locked cells bind to modules (np -> numpy): each report checks them.",
    ).tag(config=True)

    verifier_sources = Dict(
        help="Notebook name -> {'setup': source, 'tests': {grade id: source}}, as the course's "
             "source has them: test cells run in a verifier kernel (grader.execute.verify), never in "
             "the student's. Empty: test cells run in the student's kernel.",
    ).tag(config=True)

    verifier_zygote = Unicode(
        "", help="Address of the warm process verifier kernels are forked from "
                 "(grader.execute.verify.zygote); empty: each verifier starts cold.",
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._stopped: tuple[int, str] | None = None
        self._output_chars: dict[int, int] = {}
        self._dropped_chars: dict[int, int] = {}
        self._watch = (Watch(Sandbox.load(Path(self.sandbox_directory)), self.module_names)
                       if self.sandbox_directory else None)
        self._sources = self._sources_for(resources)
        self._verifier = None
        self._verified = 0
        if self._sources is not None:
            self._verifier = Verifier(self._sources.get("setup"),
                                      grading_env({"MPLBACKEND": "Agg"}),
                                      float(self.timeout or 300),
                                      zygote=self.verifier_zygote or None)
            self.log.info("verifier kernel: %s", "forked from the warm zygote"
                          if self._verifier.warm else "started cold")
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            if self._watch is not None:
                self._watch.finish()
            if self._verifier is not None:
                self._verifier.close()
        for index, dropped in self._dropped_chars.items():
            nb.cells[index].outputs.append(new_output(
                "stream", name="stdout",
                text=f"\n{TRUNCATED_MARKER} {dropped:,} more characters were not kept\n"))
        return nb, resources

    def _sources_for(self, resources) -> dict | None:
        if not self.verifier_sources:
            return None
        name = (resources or {}).get("unique_key")
        if name in self.verifier_sources:
            return self.verifier_sources[name]
        if len(self.verifier_sources) == 1:
            return next(iter(self.verifier_sources.values()))
        return None

    def preprocess_cell(self, cell, resources, index):
        if self._verifier is not None and not self._verifier.connected:
            # The verifier gets ready (connected, setup cell run) while the notebook runs.
            self._verifier.connect(self.km.get_connection_info())
        cell, resources = self._run_cell(cell, resources, index)
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if self.progress_file and grading.get("grade") and cell.cell_type == "code":
            line = json.dumps({"grade_id": grading.get("grade_id"), "outputs": cell.outputs})
            with open(self.progress_file, "a", encoding="utf-8") as progress:
                progress.write(line + "\n")
        return cell, resources

    def _run_cell(self, cell, resources, index):
        if self._stopped is not None:
            if cell.cell_type == "code":
                stopped_at, why = self._stopped
                cell.outputs = [error_output(
                    NOT_EXECUTED, f"not run: the kernel {why} in cell {stopped_at}")]
                cell.execution_count = None
            return cell, resources
        watch = self._watch
        if watch is not None and not watch.armed:
            # The kernel is up: what it printed so far is its own start; its sockets exist.
            watch.output.cells_start()
            close_sockets(watch.sandbox.sockets)
            self._probe(index, "arm")
            watch.armed = True
        if watch is not None and cells.is_test(cell):
            self._probe(index)
        if self._verifier is not None and cells.is_test(cell):
            self._verify(cell, index)
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            limit = watch.limit_hit() if watch else None
            if limit:
                self._stop(cell, index, LIMIT_EXCEEDED, "exceeded a limit",
                           f"{limit} while running this cell: the kernel was stopped and later "
                           "cells were not run")
                watch.note_limit(limit, index)
            else:
                self._stop(cell, index, KERNEL_DIED, "died",
                           "the kernel died while running this cell (os._exit, a crash, or out "
                           "of memory); later cells were not run")
        except CellTimeoutError:
            # Raised (instead of recorded) only when the kernel ignored the interrupt that
            # followed a timeout: nothing more can run in it.
            self._stop(cell, index, KERNEL_UNRESPONSIVE, "stopped responding",
                       f"the cell timed out ({self.timeout} s) and the kernel ignored the "
                       "interrupt; it was shut down and later cells were not run")
            self._shutdown_stuck_kernel()
        else:
            if watch is not None:
                self._after(cell, index)
        return cell, resources

    def _verify(self, cell, index: int) -> None:
        """Run a test cell in the verifier kernel, as the course's source has it; the student's
        kernel answers its requests. A kernel that died meanwhile stops execution here."""
        self._verified += 1
        source = self._sources.get("tests", {}).get(cells.grade_id(cell))
        if source is None:
            cell.outputs = [error_output("NotATest", "this cell is not one of the course's test "
                                         "cells; it was not run")]
            return
        outputs = self._verifier.run_test(source, float(self.timeout or 300))
        for problem in self._verifier.problems:
            self.log.warning("%s", problem)
        self._verifier.problems = []
        cell.execution_count = self._verified
        cell.outputs = [self._notebook_output(o, index) for o in outputs]
        cell.outputs = [o for o in cell.outputs if o is not None]
        if not run_sync(self.km.is_alive)():
            self._stop(cell, index, KERNEL_DIED, "died",
                       "the kernel died while a test called the submission's code; later "
                       "cells were not run")
        elif self._verifier.student_stuck:
            self._stop(cell, index, KERNEL_UNRESPONSIVE, "stopped responding",
                       f"the cell timed out ({self.timeout} s) and the kernel ignored the "
                       "interrupt; it was shut down and later cells were not run")
            self._shutdown_stuck_kernel()
        elif self._watch is not None:
            self._after(cell, index)

    def _notebook_output(self, output: dict, index: int):
        kind = output["output_type"]
        if kind == "error":
            ename = TIMED_OUT if output["ename"] == "CellTimeoutError" else output["ename"]
            return new_output("error", ename=ename, evalue=output["evalue"],
                              traceback=output.get("traceback", []))
        if kind == "execute_result":
            return new_output("execute_result", data=output["data"],
                              execution_count=self._verified)
        message = {"msg_type": "stream", "content": {"name": output["name"],
                                                     "text": output["text"]}}
        size = len(output["text"])
        used = self._output_chars.get(index, 0)
        if used + size > self.max_cell_output_chars:
            keep = max(self.max_cell_output_chars - used, 0)
            self._dropped_chars[index] = self._dropped_chars.get(index, 0) + size - keep
            if keep == 0:
                return None
            message["content"]["text"] = output["text"][:keep]
        self._output_chars[index] = used + len(message["content"]["text"])
        return new_output("stream", name=output["name"], text=message["content"]["text"])

    def _after(self, cell, index: int) -> None:
        """A limit reached in this cell stops the kernel; the last cell ends with a probe."""
        limit = self._watch.limit_hit()
        if limit:
            self._stop(cell, index, LIMIT_EXCEEDED, "exceeded a limit",
                       f"{limit} while running this cell: the kernel was stopped and later "
                       "cells were not run")
            self._watch.note_limit(limit, index)
            self._shutdown_stuck_kernel()
        elif all(c.cell_type != "code" for c in self.nb.cells[index + 1:]):
            self._probe(index + 1)

    def _probe(self, before: int, request: str = "report") -> None:
        """Ask the kernel's guard to take its baseline (``arm``, before the first cell) or what
        changed since (``report``; see grader.execute.kernel_guard); its answer comes through the
        sandbox's channel."""
        nonce = secrets.token_hex(12)
        names = dict(self.module_names) if request == "report" else {}
        code = f"__import__({PROBE_MODULE!r}).{request}({nonce!r}, {names!r})"
        try:
            msg_id = self.kc.execute(code, silent=True, store_history=False,
                                     allow_stdin=False)
            reply = run_sync(self.async_wait_for_reply)(msg_id)
        except (TimeoutError, RuntimeError, DeadKernelError):
            reply = None
        if reply is None:
            if run_sync(self.km.is_alive)():
                self._watch.note_missing_probe(before)
            return
        self._watch.await_report(nonce, before)

    def _stop(self, cell, index: int, ename: str, why: str, message: str) -> None:
        self._stopped = (index, why)
        cell.outputs.append(error_output(ename, message))

    def _shutdown_stuck_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # already gone: nothing left to stop
            self.log.debug("shutting down the unresponsive kernel failed", exc_info=True)

    def output(self, outs, msg, display_id, cell_index):
        kind = msg["msg_type"]
        if kind in ("error", "execute_result"):
            # Both decide the grade (an error scores zero, a number is partial credit): kept.
            return super().output(outs, msg, display_id, cell_index)
        size = _message_size(msg)
        used = self._output_chars.get(cell_index, 0)
        room = self.max_cell_output_chars - used
        if size > room:
            keep = 2_000 if self._decides_grade(outs, msg) else max(room, 0)
            if kind != "stream" or keep == 0:
                keep = 0
            self._dropped_chars[cell_index] = (self._dropped_chars.get(cell_index, 0)
                                               + size - keep)
            if keep == 0:
                return None
            msg = {**msg, "content": {**msg["content"], "text": msg["content"]["text"][:keep]}}
            size = keep
        self._output_chars[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    @staticmethod
    def _decides_grade(outs, msg) -> bool:
        """A stderr chunk that is not a warning scores the cell zero under nbgrader: the first
        one is kept whatever the budget, so that truncation never changes a grade."""
        if msg["msg_type"] != "stream" or msg["content"].get("name") != "stderr":
            return False
        if re.search(WARNING_STDERR_PATTERN, msg["content"].get("text", "")):
            return False
        return not any(o.output_type == "stream" and o.name == "stderr"
                       and not re.search(WARNING_STDERR_PATTERN, o.text) for o in outs)


def _message_size(msg) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    return sum(len(str(value)) for value in content.get("data", {}).values())
