"""Wall time of course notebooks, fast mode against full size, next to the targets.

    python -m benchmarks.notebook_runtime [ASSIGNMENT ...] [--cores 0,1] [--modes fast full]

Executes each solution notebook (``solutions/<id>/<id>.ipynb``) top to bottom in a fresh kernel,
once with ``COURSE_FAST=1`` and once with ``COURSE_FAST=0`` (static widgets in both), and prints
the total time, the kernel's own execution time, the slowest cells and the target. ``--cores``
pins this process and so the kernel it starts to the given CPU cores (Linux), to measure "2 CPU
cores" on a larger machine. On a shared machine the wall times are pessimistic; the kernel's CPU
time (user + system, its child processes included) is then the better estimate of the wall time
on idle cores, since the course's models are too small for a second thread to help much.

Targets (from the issues): notebooks 04 and 05 run in under 20 s in fast mode and 90 s at full
size on 2 CPU cores; every notebook should aim for about 15 s in fast mode.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import datetime

import nbformat
from nbclient import NotebookClient

from grader.core import repository

TARGETS = {"fast": 20.0, "full": 90.0}


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run(assignment: str, mode: str) -> tuple[float, float, float, list[tuple[float, int]], int]:
    """Execute one notebook; return (wall seconds, summed cell seconds, kernel CPU seconds,
    slowest cells, errors)."""
    path = repository.SOLUTIONS_DIR / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    saved = dict(os.environ)
    os.environ.update(repository.grading_env({"COURSE_FAST": "1" if mode == "fast" else "0"}))
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        started = time.perf_counter()
        NotebookClient(nb, timeout=900, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        wall = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    seconds = [(_cell_seconds(c), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    errors = sum(o.output_type == "error" for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    return wall, sum(s for s, _ in seconds), cpu, sorted(seconds, reverse=True)[:3], errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*",
                        default=["04_exploding_and_clipping", "05_initialization"])
    parser.add_argument("--modes", nargs="+", choices=sorted(TARGETS), default=["fast", "full"])
    parser.add_argument("--cores", help="comma-separated CPU cores to pin to, e.g. 0,1")
    args = parser.parse_args(argv)
    if args.cores:
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})
    print(f"{'notebook':28s} {'mode':5s} {'wall s':>7s} {'cells s':>8s} {'cpu s':>7s} "
          f"{'target':>7s} {'ratio':>6s}  slowest cells (s, index)")
    for assignment in args.assignments:
        for mode in args.modes:
            wall, cells, cpu, slowest, errors = run(assignment, mode)
            note = f"  {errors} error output(s)!" if errors else ""
            print(f"{assignment:28s} {mode:5s} {wall:7.1f} {cells:8.1f} {cpu:7.1f} "
                  f"{TARGETS[mode]:7.0f} "
                  f"{wall / TARGETS[mode]:6.2f}  "
                  + ", ".join(f"{s:.1f}s@{i}" for s, i in slowest) + note, flush=True)


if __name__ == "__main__":
    main()
