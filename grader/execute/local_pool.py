"""The local backend: each job in a worker process of this machine (see .backend).

A worker sends its :class:`~grader.core.verdict.Result` back through a pipe, pickled once; the
scheduler waits on that pipe rather than on the process, so that a worker with a large result to
send is read from while it sends (it would otherwise never exit). The pipe is ready when the
result has arrived or the worker is gone without one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import threading

from grader.core.verdict import Result


def default_context():
    """Fork where it is safe and cheap (Linux, no other thread): the worker starts with
    nbgrader already imported. Otherwise a fork server that imports it once (or, on Windows,
    a fresh interpreter per worker)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.execute.preload"])
    return context


class LocalPool:
    def __init__(self, context=None):
        self.context = context or default_context()

    def get_start_method(self) -> str:
        return self.context.get_start_method()

    def submit(self, job) -> LocalJob:
        return LocalJob(self.context, job)


class LocalJob:
    """One job in a worker process: ``target(job, connection)``, by default
    ``worker.main``."""

    def __init__(self, context, job, target=None, daemon: bool = True):
        from . import worker

        self._reader, self._writer = context.Pipe(duplex=False)
        self.process = context.Process(target=target or worker.main,
                                       args=(job, self._writer), daemon=daemon)
        self._result: Result | None = None

    @property
    def sentinel(self):
        return self._reader

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode

    def start(self) -> None:
        self.process.start()
        self._writer.close()  # the worker's end: the pipe reads as ended once it is gone

    def result(self) -> Result | None:
        if self._result is None and self._reader.poll():
            with contextlib.suppress(EOFError, OSError):
                self._result = self._reader.recv()
        return self._result

    def join(self, timeout: float | None = None) -> None:
        self.result()  # a worker still sending cannot exit before it is read
        self.process.join(timeout)

    def kill(self) -> None:
        self.process.kill()
