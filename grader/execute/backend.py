"""The one interface between scheduling (:mod:`.autograde`) and a backend that runs the jobs,
and what every backend shares.

A backend is the subset of a ``multiprocessing`` context that the scheduler uses: the local pool
is ``multiprocessing`` itself, :class:`.dask_cluster.ClusterContext` the same on a Dask cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol


class Handle(Protocol):
    """One job on a backend, as ``multiprocessing.Process`` is one on the local pool."""

    exitcode: int | None

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable when the job has ended."""

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def kill(self) -> None: ...


class Backend(Protocol):
    def get_start_method(self) -> str: ...

    def Process(self, target: Callable, args: tuple, daemon: bool = True  # noqa: N802
                ) -> Handle: ...


def threads_per_kernel(jobs: int, cores: int | None = None) -> int:
    """An equal share of this machine's cores (those this process may use) for each of ``jobs``
    kernels grading at once, and at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))
