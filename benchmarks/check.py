"""A learner's self-check on notebook 01: ``grader check --exercise`` vs the full ``grader check``
vs ``nbgrader validate``, and what importing the checker costs.

    .venv/bin/python -m benchmarks.check [--repeat 3]

All three run on the solved notebook 01 as a learner would start them (a fresh
``python -m ...`` each time), in fast mode; each time is the median of REPEAT runs, wall time and
CPU time (the command and its kernel: on a busy machine the wall time grows, the CPU time much
less):

1. ``python -m grader check NB --exercise tanh_derivative``: one kernel, the setup cell, the answer
   and its visible and hidden tests (target: <= 3 s wall time on an idle machine);
2. ``python -m grader check NB``: the whole notebook graded as the instructor's autograde grades
   it, hidden tests included;
3. ``nbgrader validate NB``: the whole notebook, visible tests only (and it exits 0 even when a
   test fails).

Then the import cost, each a fresh interpreter, median of 5: ``import nbformat`` (what every
check paid before, about 1.3 s here of which about 1.2 s is jsonschema importing rfc3987_syntax,
which compiles Lark grammars at import time: python-jsonschema/jsonschema#1428), the same with
that module blocked, ``import fastjsonschema`` (nbformat already validates with it when it is
installed, as here, but still imports jsonschema), and what ``check --exercise`` imports now.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.core import repository

ASSIGNMENT = "01_tanh_derivatives"
IMPORTS = {
    "import nbformat (before)": "import nbformat",
    "import nbformat, rfc3987_syntax blocked": (
        "import sys; sys.modules['rfc3987_syntax'] = None; import nbformat"),
    "import fastjsonschema": "import fastjsonschema",
    "check --exercise imports (after)": (
        "import sys, grader.__main__, grader.learner.exercise, jupyter_client.manager; "
        "assert 'nbformat' not in sys.modules and 'jsonschema' not in sys.modules"),
}


def timed(command: list[str], repeat: int, cwd: Path | None = None) -> tuple[float, float]:
    """Median wall time and median CPU time (the command and every process it waited for, the
    kernel included: less sensitive to a busy machine than the wall time)."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                                env=repository.grading_env())
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return statistics.median(walls), statistics.median(cpus)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    args = parser.parse_args(argv)

    import nbformat

    from tests import harness

    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        notebook = Path(scratch) / f"{ASSIGNMENT}.ipynb"
        nbformat.write(harness.filled_release(ASSIGNMENT), str(notebook))
        print(f"load average before: {load()}")
        rows = [
            ("grader check --exercise tanh_derivative",
             timed([python, "-m", "grader", "check", str(notebook), "--exercise",
                    "tanh_derivative"], args.repeat)),
            ("grader check (whole notebook, hidden tests)",
             timed([python, "-m", "grader", "check", str(notebook)], args.repeat)),
            ("nbgrader validate (whole notebook, visible tests)",
             timed([python, "-m", "nbgrader", "validate", str(notebook)], args.repeat,
                   cwd=repository.GRADER_DIR)),
        ]
        print(f"load average after: {load()}\n")
    quick = rows[0][1][0]
    width = max(len(name) for name, _ in rows)
    print(f"{'notebook 01, solved':<{width}}  {'wall s':>7}  {'vs --exercise':>13}  {'CPU s':>6}")
    for name, (seconds, cpu) in rows:
        print(f"{name:<{width}}  {seconds:7.2f}  {seconds / quick:12.1f}x  {cpu:6.2f}")
    print(f"target: --exercise <= 3 s on an idle machine: "
          f"{'met' if quick <= 3 else 'NOT met'} ({quick:.2f} s at this load)\n")

    imports = {name: timed([python, "-c", code], 5)[0] for name, code in IMPORTS.items()}
    bare = timed([python, "-c", "pass"], 5)[0]
    width = max(len(name) for name in imports)
    print(f"{'import cost (fresh interpreter)':<{width}}  {'seconds':>8}  {'minus startup':>13}")
    for name, seconds in imports.items():
        print(f"{name:<{width}}  {seconds:8.2f}  {seconds - bare:13.2f}")
    print(f"{'(python -c pass)':<{width}}  {bare:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
