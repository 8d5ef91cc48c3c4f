"""Environment, seeding and fast mode (introduced in notebook 01).

Every notebook starts with one setup cell that calls :func:`setup_notebook`. It seeds numpy and
torch, fixes the thread count, applies the plotting style and reports whether the notebook runs in
*fast mode*: with ``COURSE_FAST=1`` (set by the tests and the grader, and implied while nbgrader
executes a notebook) experiments run at a small size so that a whole notebook finishes in seconds.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

# Idle OpenMP threads spin by default; on a 2-core machine a spinning thread steals the core the
# other one needs, which made two-thread torch steps intermittently 5-10x slower. This must be set
# before torch loads its OpenMP runtime, so the setup cell imports course_utils first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402  (after the OpenMP setting on purpose)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def fast_mode() -> bool:
    """True when experiments should run at their small size.

    ``COURSE_FAST`` decides when it is set (``1/true/yes/on`` or ``0/false/no/off``); otherwise
    fast mode is on while nbgrader executes the notebook (it sets ``NBGRADER_EXECUTION``).
    """
    value = os.environ.get("COURSE_FAST")
    if value is None:
        return "NBGRADER_EXECUTION" in os.environ
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"COURSE_FAST must be one of 1/0, true/false, yes/no, on/off; got {value!r}")


def sized(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise (sizes, step counts, sweeps)."""
    return fast if fast_mode() else full


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, numpy's legacy global state and torch; return a fresh numpy Generator.

    Course code passes the returned Generator (or a ``torch.Generator``) explicitly; the global
    seeds only make stray library randomness reproducible too.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    try:
        import torch
    except ImportError:  # torch is a dependency, but numpy-only use of this module stays possible
        pass
    else:
        torch.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


@dataclass(frozen=True)
class NotebookSetup:
    """What :func:`setup_notebook` configured; printed as one line at the top of a notebook."""

    seed: int
    rng: np.random.Generator
    fast: bool
    device: str
    threads: int

    def __str__(self) -> str:
        mode = "fast (COURSE_FAST)" if self.fast else "full"
        return (f"seed={self.seed} | device={self.device} | torch threads={self.threads} | "
                f"mode={mode}")


def setup_notebook(seed: int = 0, threads: int | None = 2) -> NotebookSetup:
    """Seed everything, pin the thread count, apply the plotting style.

    ``COURSE_THREADS``, when set, overrides ``threads`` (one thread per kernel suits several
    kernels grading at once); ``threads=None`` leaves torch's thread count alone. The course runs
    on CPU; ``device`` is always ``"cpu"`` so that results are identical on every machine.
    """
    import torch

    from . import plotting

    override = os.environ.get("COURSE_THREADS")
    if override is not None:
        try:
            threads = int(override)
        except ValueError:
            raise ValueError(f"COURSE_THREADS must be a positive integer, got {override!r}") \
                from None
    rng = seed_everything(seed)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    plotting.use_course_style()
    return NotebookSetup(seed=int(seed), rng=rng, fast=fast_mode(), device="cpu",
                         threads=torch.get_num_threads())
