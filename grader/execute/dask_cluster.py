"""Grading on a Dask distributed cluster: ``python -m grader autograde --cluster ADDRESS``.

The process that runs ``autograde`` owns the gradebook and schedules exactly as it does with its
local pool (grader.execute.autograde): only the stand-in for ``multiprocessing`` changes.
:class:`ClusterContext` gives the pool ``Process`` objects whose ``start`` ships the job to the
cluster and whose ``sentinel`` becomes readable once its result is back in the job's directory,
where the pool reads it as it reads a local worker's.

On a worker, :func:`grade_remotely` rebuilds the job's files from bytes (the submission, the
assignment's released files and template gradebook, sent once per assignment and worker), runs
the same entry point as a local worker, ``grader.execute.worker.main(job)``, in a child process, and
sends back ``result.json``, the worker log and the autograded notebook, as bytes. Nothing needs
a shared file system; every machine needs this course installed (the same ``grader`` package).

A worker that dies mid-job costs nothing: Dask gives its jobs to another worker, and each job's
result reaches the gradebook once, through its future. A job the cluster could not run at all
(its workers kept dying) ends as ``error``, which the next run retries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from grader.core.course import submission_checksum
from grader.core.verdict import ERROR, FAILED
from grader.record.gradebook import Result


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, by relative path."""
    directory = Path(directory)
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def write_files(files: dict[str, bytes], directory: Path) -> Path:
    directory = Path(directory)
    for relative, data in files.items():
        target = (directory / relative).resolve()
        if not target.is_relative_to(directory.resolve()):
            raise ValueError(f"a file outside the job's directory: {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


class ClusterContext:
    """What .autograde's pool needs of a ``multiprocessing`` context, on a Dask cluster."""

    def __init__(self, address: str, limit: float, connect_timeout: float = 30):
        from distributed import Client

        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except OSError as error:
            raise RuntimeError(f"no Dask scheduler answered at {address} ({error}); start one "
                               "with `dask scheduler` and workers with `dask worker "
                               f"{address}`") from error
        self.limit = limit
        self._bundles: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()
        self.hosts = self.threads_per_host()
        # Each worker's fork server imports the grader while the first jobs are being sent.
        self.client.run(warm_up)

    @property
    def slots(self) -> int:
        """Jobs the cluster runs at once (one per worker thread), at least one."""
        return max(1, sum(self.threads_per_host().values()))

    def threads_per_host(self) -> dict[str, int]:
        """Worker threads on each machine: the kernels running there share its cores."""
        found: dict[str, int] = {}
        for worker in self.client.scheduler_info(n_workers=-1)["workers"].values():
            found[worker["host"]] = found.get(worker["host"], 0) + worker["nthreads"]
        return found

    def get_start_method(self) -> str:
        return "dask"

    def Process(self, target, args, daemon=True):  # noqa: N802 (multiprocessing's name)
        from . import worker

        if target is not worker.main or len(args) != 1:
            raise ValueError("the cluster runs grader.execute.worker.main(job) and nothing else")
        return RemoteJob(self, args[0])

    def bundle(self, job):
        """The assignment's files, sent to the cluster once and shared by its jobs."""
        key = (job.release, job.template)
        with self._lock:
            if key not in self._bundles:
                data = {"release": files_of(Path(job.release)),
                        "template": Path(job.template).read_bytes()}
                self._bundles[key] = self.client.scatter(data, hash=False)
            return self._bundles[key]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ClusterContext:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RemoteJob:
    """One job on the cluster, with the part of ``multiprocessing.Process`` the pool uses."""

    def __init__(self, context: ClusterContext, job):
        self.context, self.job = context, job
        self.exitcode: int | None = None
        self.future = None
        self._read, self._write = os.pipe()
        self._arrived = threading.Event()
        self._closing = threading.Lock()

    @property
    def sentinel(self) -> int:
        return self._read

    def start(self) -> None:
        job = self.job
        key = f"grade-{job.student}-{job.assignment}-{uuid.uuid4().hex[:8]}"
        self.future = self.context.client.submit(
            grade_remotely, job, files_of(Path(job.submission)), self.context.bundle(job),
            self.context.limit, self.context.hosts, key=key, pure=False)
        self.future.add_done_callback(self._land)

    def _land(self, future) -> None:
        """Runs in the client's thread when the job ends: its files go where a local worker
        would have left them, then the sentinel becomes readable."""
        if self._arrived.is_set():  # given up on (kill) already
            return
        try:
            if future.cancelled():
                self.exitcode = -signal.SIGKILL
                return
            error = future.exception()
            if error is not None:
                self._write_error(f"the Dask cluster could not run it: {type(error).__name__}: "
                                  f"{error}")
                self.exitcode = 1
                return
            returned = future.result()
            workdir = Path(self.job.workdir)
            if returned.get("log") is not None:
                self.job.log_path.write_bytes(returned["log"])
            if returned.get("result") is not None:
                result = Result.from_json(returned["result"])
                if result.autograded:
                    result.autograded = str(write_files(returned["autograded"],
                                                        workdir / "autograded"))
                self.job.result_path.write_text(result.to_json())
            self.exitcode = returned["exitcode"]
        except Exception as error:  # the sentinel must fire whatever happened here
            self._write_error(f"its result could not be read back: {error!r}")
            self.exitcode = 1
        finally:
            self._signal()

    def _signal(self) -> None:
        """Make the sentinel readable, once."""
        with self._closing:
            if not self._arrived.is_set():
                self._arrived.set()
                os.close(self._write)

    def _write_error(self, reason: str) -> None:
        result = Result(self.job.student, self.job.assignment, ERROR, reason=reason,
                        checksum=submission_checksum(Path(self.job.submission)))
        self.job.result_path.write_text(result.to_json())

    def join(self, timeout: float | None = None) -> None:
        self._arrived.wait(timeout)
        if self._arrived.is_set():
            with contextlib.suppress(OSError):
                os.close(self._read)

    def kill(self) -> None:
        if self.future is not None and not self.future.done():
            self.future.cancel()
        if not self._arrived.wait(10):
            self.exitcode = -signal.SIGKILL
            self._signal()


# ----------------------------------------------------------------------------- on a worker


def grade_remotely(job, submission: dict[str, bytes], bundle: dict, limit: float,
                   hosts: dict[str, int]) -> dict:
    """Grade ``job`` on this worker from its files as bytes; return what it produced as bytes:
    ``result`` (result.json), ``log``, ``autograded`` (relative path -> bytes), ``exitcode``.
    The kernel gets its share of this machine's cores among the ``hosts[host]`` worker threads
    grading here."""
    from distributed import get_worker

    from .backend import threads_per_kernel

    worker = get_worker()
    host = worker.address.rsplit(":", 1)[0].split("://")[-1]

    with tempfile.TemporaryDirectory(prefix="rnn-grader-remote-") as scratch:
        scratch = Path(scratch)
        release = write_files(bundle["release"], scratch / "release" / job.assignment)
        (scratch / "template.db").write_bytes(bundle["template"])
        workdir = scratch / "job"
        workdir.mkdir()
        here = dataclasses.replace(
            job, submission=str(write_files(submission, scratch / "submission")),
            release=str(release), template=str(scratch / "template.db"), workdir=str(workdir),
            threads=threads_per_kernel(max(hosts.get(host, 0), worker.state.nthreads)))
        exitcode = _run_child(here, limit)
        returned = {"result": None, "log": None, "autograded": {}, "exitcode": exitcode}
        if here.log_path.exists():
            returned["log"] = here.log_path.read_bytes()
        if here.result_path.exists():
            returned["result"] = here.result_path.read_text()
            result = Result.from_json(returned["result"])
            if result.autograded and Path(result.autograded).is_dir():
                returned["autograded"] = files_of(Path(result.autograded))
        elif exitcode is None:  # stopped at the limit: what the local pool records
            returned["result"] = Result(
                job.student, job.assignment, FAILED,
                reason=f"grading did not finish within {limit:g} s",
                checksum=submission_checksum(Path(here.submission))).to_json()
        return returned


def _run_child(job, limit: float) -> int | None:
    """Run .worker.main(job) in a child process; its exit code, or None when it had to be
    stopped at ``limit``."""
    import multiprocessing

    context = start_fork_server()
    # A Dask worker started by a nanny is a daemonic process, which multiprocessing forbids to
    # have children; the child is ours to stop (below, and by _die_with_parent).
    me = multiprocessing.current_process()
    if me.daemon:
        me._config["daemon"] = False
    child = context.Process(target=_child_main, args=(job,))
    child.start()
    child.join(limit)
    if child.exitcode is None:
        child.kill()
        child.join(10)
        return None
    return child.exitcode


def start_fork_server():
    """The multiprocessing context of a worker's grading children: forked from a server that
    imported (and warmed up) the grader once, as the local pool forks from a warm parent."""
    import multiprocessing
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.execute.preload"])
    forkserver.ensure_running()
    return context


def warm_up() -> None:
    start_fork_server()


def _child_main(job) -> None:
    from . import worker

    _die_with_parent()
    worker.main(job)


def _die_with_parent() -> None:
    """On Linux, end this process when its parent does (a worker killed mid-job must not leave
    a grading process behind; the kernel follows its own parent, this process)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
