"""What every grading backend (the local process pool, a Dask cluster) shares."""

from __future__ import annotations

import os


def threads_per_kernel(jobs: int, cores: int | None = None) -> int:
    """An equal share of this machine's cores (those this process may use) for each of ``jobs``
    kernels grading at once, and at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))
