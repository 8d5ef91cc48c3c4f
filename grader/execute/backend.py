"""The one interface between scheduling (:mod:`.autograde`) and a backend that runs the jobs,
and what every backend shares.

A backend takes a job and gives back a handle: ``start()`` it, wait until its ``sentinel`` is
readable, then ``result()`` is the :class:`~grader.core.verdict.Result` the worker sent (None when
it sent none: ``exitcode`` says how it ended). The local pool (:class:`.local_pool.LocalPool`)
runs each job in a process of this machine, :class:`.dask_cluster.ClusterContext` on a Dask
cluster. A new backend is one module with a class like these.
"""

from __future__ import annotations

import os
from typing import Protocol

from grader.core.verdict import Result


class Handle(Protocol):
    """One job on a backend."""

    exitcode: int | None

    @property
    def sentinel(self):
        """What ``multiprocessing.connection.wait`` finds ready once the job has ended."""

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def kill(self) -> None: ...

    def result(self) -> Result | None: ...


class Backend(Protocol):
    def get_start_method(self) -> str: ...

    def submit(self, job) -> Handle: ...


def threads_per_kernel(jobs: int, cores: int | None = None) -> int:
    """An equal share of this machine's cores (those this process may use) for each of ``jobs``
    kernels grading at once, and at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))
