"""Autograding in parallel: one worker process per (student, assignment), results merged one by
one into the course gradebook (see grader.worker and grader.gradebook).

Re-running is cheap: a submission whose files have not changed since it was graded is skipped
(``force=True`` grades it again); one that hit a grader error is always retried.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from . import gradebook
from .gradebook import Result
from .layout import Course, submission_checksum, valid_student_id
from .verdict import ERROR, FAILED


@dataclass
class Submission:
    student: str
    assignment: str
    directory: Path


@dataclass
class Summary:
    graded: list[Result] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.graded if r.status in (FAILED, ERROR)]


def find_submissions(course: Course, students: list[str] | None = None,
                     assignments: list[str] | None = None) -> list[Submission]:
    """Submissions under ``submitted/<student>/<assignment>/`` for released assignments."""
    released = course.released_assignments()
    if not released:
        raise ValueError("no assignment is released yet: run `python -m grader release` first")
    unknown = sorted(set(assignments or ()) - set(released))
    if unknown:
        raise ValueError(f"not released (run `release` first): {', '.join(unknown)}; "
                         f"released: {', '.join(released) or 'none'}")
    wanted = [a for a in released if not assignments or a in assignments]
    found = []
    if not course.submitted.is_dir():
        return found
    for student_dir in sorted(p for p in course.submitted.iterdir()
                              if p.is_dir() and not p.name.startswith(".")):
        if students and student_dir.name not in students:
            continue
        for assignment in wanted:
            if (student_dir / assignment).is_dir():
                found.append(Submission(student_dir.name, assignment, student_dir / assignment))
    missing = sorted(set(students or ()) - {s.student for s in found})
    if missing:
        raise ValueError(f"no submission found for: {', '.join(missing)}")
    return found


def _needs_grading(submission: Submission, record: gradebook.Record | None) -> bool:
    return (record is None or record.status == ERROR
            or record.checksum != submission_checksum(submission.directory))


def _context():
    """Fork where it is safe and cheap (Linux, no other thread): the worker starts with
    nbgrader already imported. Otherwise a fork server that imports it once (or, on Windows,
    a fresh interpreter per worker)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.preload"])
    return context


def threads_per_kernel(jobs: int, cores: int | None = None) -> int:
    """An equal share of this machine's cores (those this process may use) for each of ``jobs``
    kernels grading at once, and at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))


def autograde(course: Course, students: list[str] | None = None,
              assignments: list[str] | None = None, jobs: int = 1,
              timeout: int | None = None, submission_timeout: float | None = None,
              force: bool = False, progress: bool = True, cluster: str | None = None) -> Summary:
    """Grade the submissions (all, or those of ``students`` / ``assignments``) with ``jobs``
    workers, or on the Dask cluster whose scheduler is at ``cluster`` (as many at once as it
    has worker threads); ``timeout`` is per cell, ``submission_timeout`` the wall-clock limit
    of a worker."""
    from . import worker  # imports nbgrader: before any fork, once

    started = time.monotonic()
    summary = Summary()
    known = gradebook.records(course)
    todo = []
    for submission in find_submissions(course, students, assignments):
        record = known.get((submission.student, submission.assignment))
        if force or _needs_grading(submission, record):
            todo.append(submission)
        else:
            summary.skipped.append(submission)
    if not todo:
        summary.seconds = time.monotonic() - started
        return summary

    config = course.config()
    cell_timeout = timeout or config.Execute.timeout
    limit = submission_timeout or max(600.0, 10.0 * cell_timeout)
    scratch = Path(tempfile.mkdtemp(prefix="rnn-grader-"))
    context = None
    try:
        if cluster:
            from .cluster import ClusterContext

            context = ClusterContext(cluster, limit)
            jobs = context.slots
        templates, references = {}, {}
        for assignment in sorted({s.assignment for s in todo}):
            templates[assignment] = gradebook.make_template(
                course, scratch / f"template-{assignment}.db")
            references[assignment] = worker.references_for(
                str(templates[assignment]), assignment, str(course.release / assignment),
                config.CourseDirectory.course_id)
        pending, threads = [], threads_per_kernel(jobs)
        for index, submission in enumerate(todo):
            if not valid_student_id(submission.student):
                summary.graded.append(_invalid_id(course, submission))
                continue
            workdir = scratch / f"job-{index}"
            workdir.mkdir()
            pending.append(worker.Job(
                submission.student, submission.assignment, str(submission.directory),
                str(course.release / submission.assignment),
                str(templates[submission.assignment]), str(workdir), config, timeout,
                references[submission.assignment], threads=threads))
        _run(course, pending, jobs, limit, summary, progress, context)
    finally:
        if context is not None:
            context.close()
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _invalid_id(course: Course, submission: Submission) -> Result:
    result = Result(submission.student, submission.assignment, FAILED,
                    reason="the student id may use only letters, digits, '.', '_' and '-'",
                    checksum=submission_checksum(submission.directory))
    gradebook.store(course, result)
    return result


def _run(course: Course, pending: list, jobs: int, limit: float, summary: Summary,
         progress: bool, context=None) -> None:
    from tqdm.auto import tqdm

    from . import worker

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked
    context = context or _context()
    if context.get_start_method() == "fork":
        worker.prewarm()  # once here rather than in every worker
    queue = list(reversed(pending))
    running: dict = {}  # sentinel -> (process, job, start time)
    bar = tqdm(total=len(pending), desc="autograde", unit="submission", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)

    def start_next() -> None:
        while queue and len(running) < max(1, jobs):
            job = queue.pop()
            process = context.Process(target=worker.main, args=(job,), daemon=True)
            process.start()
            running[process.sentinel] = (process, job, time.monotonic())

    try:
        with gradebook.Writer(course) as writer:
            start_next()
            while running:
                ready = wait(list(running), timeout=0.5)
                now = time.monotonic()
                finished = []
                for sentinel in list(running):
                    process, job, began = running[sentinel]
                    if sentinel in ready or now - began > limit:
                        finished.append((sentinel in ready, *running.pop(sentinel)))
                start_next()  # the freed cores work while the results are merged
                for done, process, job, _ in finished:
                    result = _outcome(done, process, job, limit)
                    _keep_log(course, job)
                    writer.store(result)
                    shutil.rmtree(job.workdir, ignore_errors=True)
                    summary.graded.append(result)
                    bar.set_postfix_str(f"{job.student}: {result.status}", refresh=False)
                    bar.update(1)
    except BaseException:
        for process, _, _ in running.values():
            _kill(process)
        raise
    finally:
        bar.close()


def _outcome(done: bool, process, job, limit: float) -> Result:
    if done:
        process.join()
        return _collect(process, job)
    _kill(process)
    return Result(job.student, job.assignment, FAILED,
                  reason=f"grading did not finish within {limit:g} s",
                  checksum=submission_checksum(Path(job.submission)))


def _kill(process) -> None:
    # The kernel notices that its parent is gone (ipykernel polls it) and exits too.
    process.kill()
    process.join(timeout=10)


def _collect(process, job) -> Result:
    if job.result_path.exists():
        return Result.from_json(job.result_path.read_text())
    return Result(job.student, job.assignment, ERROR,
                  reason=f"the worker exited with code {process.exitcode} without a result",
                  checksum=submission_checksum(Path(job.submission)))


def _keep_log(course: Course, job) -> None:
    if job.log_path.exists():
        target = course.log_file(job.student, job.assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job.log_path, target)
