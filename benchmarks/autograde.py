"""Autograde throughput: plain sequential nbgrader vs ``grader autograde --jobs 2``.

    .venv/bin/python -m benchmarks.autograde [--submissions 24] [--jobs 2]

Generates SUBMISSIONS notebooks of 01_tanh_derivatives (each exercise answered correctly or with
one of the classic wrong answers of tests/answers, at random), then grades the same set three
ways, one after the other, in fresh temporary copies of the course:

1. ``nbgrader autograde`` (one process, one submission after the other), as nbgrader ships;
2. ``python -m grader autograde --jobs JOBS`` (one worker process per submission);
3. bare execution of the very notebooks nbgrader executed (hidden tests restored) with nbclient,
   JOBS notebooks at a time (a process of its own that forks JOBS executors): the cost of
   running the code and nothing else.

It prints the wall times, the speed-up of (2) over (1) (target: >= 1.7x on 2 cores) and the
per-submission overhead of (2) over (3) at the same parallelism (target: <= 20%), and checks
that (1) and (2) gave every cell the same score. On a machine shared with other work the
timings are pessimistic; the load average is printed next to each phase.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from grader import course
from grader.layout import Course
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES

ASSIGNMENT = "01_tanh_derivatives"


def make_course(root: Path) -> Course:
    shutil.copytree(course.SOLUTIONS_DIR / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "grader").mkdir()
    course.release([ASSIGNMENT], root=root)
    return Course(root)


def generate(n: int, release: nbformat.NotebookNode, seed: int = 0):
    """n submissions: each exercise right (the solution or a correct variant) or wrong."""
    rng = np.random.default_rng(seed)
    submissions = {}
    for index in range(n):
        answers = {}
        for exercise, variants in EXERCISES.items():
            pool = list(variants.wrong.values()) if rng.random() < 0.3 else [
                *variants.correct.values(), None]
            choice = pool[rng.integers(len(pool))]
            if choice is not None:
                answers[exercise] = choice
        submissions[f"student{index:03d}"] = harness.filled_release(ASSIGNMENT, answers,
                                                                    release=release)
    return submissions


def submit(target: Course, submissions) -> None:
    for student, nb in submissions.items():
        folder = target.submission_dir(student, ASSIGNMENT)
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{ASSIGNMENT}.ipynb"))


def scores(target: Course) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(target.db_url) as gb:
        return {(s.student_id, g.name): g.auto_score
                for s in gb.find_assignment(ASSIGNMENT).submissions
                for nb in s.notebooks for g in nb.grades}


def _execute(path: str) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    started = time.perf_counter()
    NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    return time.perf_counter() - started


def bare(folder: Path, jobs: int) -> None:
    """Execute every notebook under ``folder``, ``jobs`` at a time (run in its own process)."""
    os.environ.update(course.grading_env())
    paths = sorted(str(p) for p in folder.glob(f"*/{ASSIGNMENT}.ipynb"))
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(_execute, paths, chunksize=1)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)  # phase 3, in a subprocess
    args = parser.parse_args(argv)
    if args.bare:
        bare(args.bare, args.jobs)
        return 0
    n, jobs = args.submissions, args.jobs

    scratch = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        print(f"{os.cpu_count()} CPUs; {n} submissions of {ASSIGNMENT}; {load()}")
        plain = make_course(scratch / "plain")
        release = harness.read(plain.release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        submissions = generate(n, release)
        ours = Course(scratch / "ours")
        shutil.copytree(plain.root, ours.root)
        submit(plain, submissions)
        submit(ours, submissions)

        print(f"1. nbgrader autograde, sequential ... ({load()})", flush=True)
        started = time.perf_counter()
        course.nbgrader("autograde", ASSIGNMENT, root=plain.root, check=False)
        sequential = time.perf_counter() - started

        print(f"2. grader autograde --jobs {jobs} ... ({load()})", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "autograde", "--root", str(ours.root),
                        "--jobs", str(jobs), "--no-progress"], check=False,
                       cwd=course.REPO_ROOT, stdout=subprocess.DEVNULL)
        parallel = time.perf_counter() - started

        print(f"3. bare nbclient, {jobs} at a time ... ({load()})", flush=True)
        executed = sorted(plain.autograded.glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
        bare_dir = scratch / "bare"
        for path in executed:
            target = bare_dir / path.parent.parent.name / path.name
            target.parent.mkdir(parents=True)
            shutil.copyfile(path, target)
        # In a process of its own, like the two graders: interpreter start and imports included.
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmarks.autograde", "--bare", str(bare_dir),
                        "--jobs", str(jobs)], check=True, cwd=course.REPO_ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        baseline = time.perf_counter() - started

        same = scores(plain) == scores(ours)
        print()
        print(f"{'':40}{'wall s':>9}{'s / submission':>16}")
        for label, seconds in (("nbgrader autograde (sequential)", sequential),
                               (f"grader autograde --jobs {jobs}", parallel),
                               (f"bare nbclient ({jobs} at a time)", baseline)):
            print(f"{label:40}{seconds:>9.1f}{seconds / n:>16.2f}")
        print()
        print(f"speed-up over sequential nbgrader: {sequential / parallel:.2f}x  (target >= 1.7x)")
        overhead = (parallel - baseline) / baseline
        print(f"overhead over bare execution:      {100 * overhead:+.0f}%  "
              f"({(parallel - baseline) / n:+.2f} s per submission; target <= 20%)")
        print(f"graded {len(executed)} of {n} with nbgrader; identical scores per cell: "
              f"{'yes' if same else 'NO'}")
        print(f"({load()} at the end)")
        return 0 if same else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
