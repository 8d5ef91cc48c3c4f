"""Autograde throughput: plain sequential nbgrader vs ``grader autograde --jobs 2``, with and
without its sandbox; with ``--cluster``, the local pool vs a Dask cluster.

    .venv/bin/python -m benchmarks.autograde [--submissions 24] [--jobs 2] [--rounds 1]
    .venv/bin/python -m benchmarks.autograde --cluster [--submissions 12]

Generates SUBMISSIONS notebooks of 01_tanh_derivatives (each exercise answered correctly or with
one of the classic wrong answers of tests/answers, at random), then grades the same set four
ways, one after the other, in fresh temporary copies of the course:

1. ``nbgrader autograde`` (one process, one submission after the other), as nbgrader ships;
2. ``python -m grader autograde --jobs JOBS`` (one worker process per submission, each kernel in
   the bubblewrap sandbox);
3. the same with ``--no-sandbox``;
4. bare execution of the same notebooks with their hidden tests restored (what nbgrader
   executes) with nbclient, JOBS notebooks at a time (a process of its own that forks JOBS
   executors): the cost of running the code and nothing else.

It prints the wall times, the speed-up of (2) over (1) (target: >= 1.7x on 2 cores), the cost
of the sandbox, (2) over (3) per submission (target: <= 10%), and the per-submission overhead of
(3) over (4) at the same parallelism (target: <= 20%), and checks that (1), (2) and (3) gave
every cell the same score. On a machine shared with other work the
timings drift with its load (printed before each step): ``--rounds 3`` grades the submissions
in three batches, each with the four methods in rotating order, so that drift hits all four.

``--cluster`` grades the same submissions with ``grader autograde --jobs 1`` and ``--jobs 2``
and on a Dask cluster started here (``dask scheduler`` and 1, then 2, single-threaded ``dask
worker`` processes on 127.0.0.1), and prints the cluster's overhead per submission over the
local pool at the same parallelism (target: <= 15%), and the capacity model: submissions per
core-hour, and the cores that grade 80,000 submissions in 2 hours.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from grader.core import repository
from grader.core.course import Course
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES

ASSIGNMENT = "01_tanh_derivatives"


def make_course(root: Path) -> Course:
    shutil.copytree(repository.SOLUTIONS_DIR / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "grader").mkdir()
    repository.release([ASSIGNMENT], root=root)
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
    os.environ.update(repository.grading_env())
    paths = sorted(str(p) for p in folder.glob(f"*/{ASSIGNMENT}.ipynb"))
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(_execute, paths, chunksize=1)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def restored(nb: nbformat.NotebookNode, sources: dict[str, str]) -> nbformat.NotebookNode:
    """What nbgrader executes: locked cells back to their registered source (hidden tests in)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if name in sources:
            cell.source = sources[name]
    return nb


def locked_sources(target: Course) -> dict[str, str]:
    from nbgrader.api import Gradebook

    with Gradebook(target.db_url) as gb:
        notebook = gb.find_notebook(ASSIGNMENT, ASSIGNMENT)
        return {c.name: c.source for c in notebook.source_cells if c.locked}


@contextlib.contextmanager
def dask_cluster(workers: int, scratch: Path):
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1; yields its address."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "cwd": repository.REPO_ROOT, "start_new_session": True}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-dashboard"], **quiet)]
    try:
        processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                        "--no-dashboard", "--local-directory", str(scratch)],
                                       **quiet) for _ in range(workers)]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def cluster_benchmark(n: int, scratch: Path) -> int:
    print(f"{os.cpu_count()} CPUs; {n} submissions of {ASSIGNMENT}; {load()}")
    source = make_course(scratch / "source")
    release = harness.read(source.release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    submit(source, generate(n, release))
    wall, results = {}, {}

    def grade(label: str, *options: str) -> None:
        target = Course(scratch / label.replace(" ", "_"))
        shutil.copytree(source.root, target.root)
        print(f"{label} ... ({load()})", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "autograde", "--root", str(target.root),
                        "--no-progress", *options], check=False, cwd=repository.REPO_ROOT,
                       stdout=subprocess.DEVNULL)
        wall[label] = time.perf_counter() - started
        results[label] = scores(target)

    for workers in (1, 2):
        grade(f"local --jobs {workers}", "--jobs", str(workers))
        with dask_cluster(workers, scratch) as address:
            grade(f"dask, {workers} worker{'s' * (workers > 1)}", "--cluster", address)

    print()
    print(f"{'':28}{'wall s':>9}{'s / submission':>16}")
    for label, seconds in wall.items():
        print(f"{label:28}{seconds:>9.1f}{seconds / n:>16.2f}")
    print()
    for workers in (1, 2):
        local, dask = (wall[f"local --jobs {workers}"],
                       wall[f"dask, {workers} worker{'s' * (workers > 1)}"])
        print(f"{workers} at a time: the cluster's overhead over the local pool "
              f"{100 * (dask - local) / local:+.0f}% ({(dask - local) / n:+.2f} s per "
              "submission; target <= 15%)")
    per_core_hour = n / (wall["local --jobs 2"] * 2) * 3600
    print(f"capacity: {per_core_hour:.0f} submissions per core-hour (local pool, 2 at a time "
          f"on 2 cores); 80,000 submissions in 2 hours need {80_000 / (2 * per_core_hour):.0f}"
          " cores")
    same = all(r == results["local --jobs 1"] for r in results.values())
    print(f"identical scores per cell in all four runs: {'yes' if same else 'NO'}")
    print(f"({load()} at the end)")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1,
                        help="split the submissions into ROUNDS batches and grade each batch "
                             "with the three methods in rotating order, so that a change in "
                             "the machine's load hits all three alike (default: 1)")
    parser.add_argument("--cluster", action="store_true",
                        help="compare the local pool with a Dask cluster of 1 and 2 workers")
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)  # method 3, in a process
    args = parser.parse_args(argv)
    if args.bare:
        bare(args.bare, args.jobs)
        return 0
    if args.cluster:
        scratch = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
        try:
            return cluster_benchmark(args.submissions, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    n, jobs, rounds = args.submissions, args.jobs, max(1, args.rounds)

    scratch = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        print(f"{os.cpu_count()} CPUs; {n} submissions of {ASSIGNMENT}; {rounds} round(s); "
              f"{load()}")
        plain = make_course(scratch / "plain")
        release = harness.read(plain.release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        submissions = generate(n, release)
        ours = Course(scratch / "ours")
        shutil.copytree(plain.root, ours.root)
        unsandboxed = Course(scratch / "unsandboxed")
        shutil.copytree(plain.root, unsandboxed.root)
        sources = locked_sources(plain)
        students = sorted(submissions)
        batches = [students[r * n // rounds:(r + 1) * n // rounds] for r in range(rounds)]

        def run_nbgrader(batch):
            submit(plain, {s: submissions[s] for s in batch})
            repository.nbgrader("autograde", ASSIGNMENT, root=plain.root, check=False)

        def grader(target: Course, *flags: str):
            def run(batch):
                submit(target, {s: submissions[s] for s in batch})
                subprocess.run([sys.executable, "-m", "grader", "autograde", "--root",
                                str(target.root), "--jobs", str(jobs), "--no-progress", *flags],
                               check=False, cwd=repository.REPO_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            return run

        def run_bare(batch):
            folder = scratch / "bare" / f"{batch[0]}"
            for student in batch:
                target = folder / student / f"{ASSIGNMENT}.ipynb"
                target.parent.mkdir(parents=True)
                nbformat.write(restored(submissions[student], sources), str(target))
            # A process of its own, like the graders: interpreter start and imports included.
            subprocess.run([sys.executable, "-m", "benchmarks.autograde", "--bare", str(folder),
                            "--jobs", str(jobs)], check=True, cwd=repository.REPO_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        methods = [("nbgrader autograde (sequential)", run_nbgrader),
                   (f"grader autograde --jobs {jobs}", grader(ours)),
                   (f"grader autograde --jobs {jobs} --no-sandbox",
                    grader(unsandboxed, "--no-sandbox")),
                   (f"bare nbclient ({jobs} at a time)", run_bare)]
        wall = {label: 0.0 for label, _ in methods}
        for index, batch in enumerate(batches):
            turn = index % len(methods)
            for label, method in methods[turn:] + methods[:turn]:
                print(f"round {index + 1}: {label}, {len(batch)} submissions ... ({load()})",
                      flush=True)
                started = time.perf_counter()
                method(batch)
                wall[label] += time.perf_counter() - started

        graded = len(list(plain.autograded.glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")))
        same = scores(plain) == scores(ours) == scores(unsandboxed)
        sequential, parallel, without, baseline = wall.values()
        print()
        print(f"{'':40}{'wall s':>9}{'s / submission':>16}")
        for label, seconds in wall.items():
            print(f"{label:40}{seconds:>9.1f}{seconds / n:>16.2f}")
        print()
        print(f"speed-up over sequential nbgrader: {sequential / parallel:.2f}x  (target >= 1.7x)")
        print(f"cost of the sandbox:               {100 * (parallel - without) / without:+.0f}%  "
              f"({(parallel - without) / n:+.2f} s per submission; target <= 10%)")
        overhead = (without - baseline) / baseline
        print(f"overhead over bare execution:      {100 * overhead:+.0f}%  "
              f"({(without - baseline) / n:+.2f} s per submission, unsandboxed; "
              "target <= 20%)")
        print(f"graded {graded} of {n} with nbgrader; identical scores per cell: "
              f"{'yes' if same else 'NO'}")
        print(f"({load()} at the end)")
        return 0 if same else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
