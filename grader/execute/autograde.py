"""Autograding in parallel: one worker process per (student, assignment), results merged one by
one into the course gradebook (see grader.execute.worker and grader.record.gradebook).

Re-running is cheap: a submission whose files have not changed since it was graded is skipped
(``force=True`` grades it again); one that hit a grader error is retried once, and settled as
``failed`` when it fails the same way again.

Every kernel runs in a sandbox (.sandbox) unless the instructor passes ``sandbox=False``
(``--no-sandbox``), which every result then records.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from grader.core.course import Course, submission_checksum, valid_student_id
from grader.core.verdict import ERROR, FAILED, Issue
from grader.record import gradebook
from grader.record.gradebook import Result

from .backend import threads_per_kernel
from .sandbox import DEFAULT_LIMITS, SCRATCH_PREFIX, Limits

UNSANDBOXED = Issue("unsandboxed", "graded without the sandbox (--no-sandbox): the submission's "
                    "code could read and change anything the grader can")


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
    context.set_forkserver_preload(["grader.execute.preload"])
    return context


def autograde(course: Course, students: list[str] | None = None,
              assignments: list[str] | None = None, jobs: int = 1,
              timeout: int | None = None, submission_timeout: float | None = None,
              force: bool = False, progress: bool = True, sandbox: bool = True,
              limits: Limits = DEFAULT_LIMITS, cluster: str | None = None,
              on_cell: Callable[[str, str, dict], None] | None = None) -> Summary:
    """Grade the submissions (all, or those of ``students`` / ``assignments``) with ``jobs``
    workers, or on the Dask cluster whose scheduler is at ``cluster`` (as many at once as it
    has worker threads); ``timeout`` is per cell, ``submission_timeout`` the wall-clock limit
    of a worker. Each kernel runs in a sandbox with ``limits``; without a working sandbox this
    refuses to run unless ``sandbox=False`` (on a cluster, each worker checks its own).
    ``on_cell(student, assignment, cell)`` hears of each graded cell as soon as it has run
    (``cell``: its grade_id and outputs)."""
    from . import sandbox as jail
    from . import worker  # imports nbgrader: before any fork, once

    if sandbox and not cluster:
        why = jail.check()
        if why:
            raise RuntimeError(f"the grading sandbox does not work here: {why}. Grading without "
                               "it lets a submission read solutions and change grades; pass "
                               "--no-sandbox to do so anyway")
    remove_leftovers()

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
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    context = None
    try:
        if cluster:
            from .dask_cluster import ClusterContext

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
                references[submission.assignment], threads=threads,
                limits=limits if sandbox else None))
        _run(course, pending, jobs, limit, summary, progress, known, context, on_cell)
    finally:
        if context is not None:
            context.close()
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def remove_leftovers() -> None:
    """Scratch directories and cgroups of grader runs that were killed (their process is gone):
    a killed run cannot clean up after itself, the next one does."""
    from .sandbox import CGROUP_ROOT

    def dead(name: str) -> bool:
        pid = name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _zombie(int(pid))  # killed, but not reaped yet (a container's init may never)

    for base in {Path(tempfile.gettempdir()), Path("/tmp")}:  # ipc sockets may be in /tmp
        for path in base.glob(f"{SCRATCH_PREFIX}*"):
            if path.is_dir() and dead(path.name):
                shutil.rmtree(path, ignore_errors=True)
    for parent in (CGROUP_ROOT / "memory" / "rnn-grader", CGROUP_ROOT / "pids" / "rnn-grader",
                   CGROUP_ROOT / "rnn-grader"):
        for group in parent.glob(f"{SCRATCH_PREFIX}*") if parent.is_dir() else ():
            if dead(group.name):
                try:
                    group.rmdir()
                except OSError:  # processes still in it: left for a later run
                    pass


def _zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[:1] == ["Z"]


def settle(result: Result, previous: gradebook.Record | None) -> Result:
    """A grader error retried once and met again on the same files is settled as ``failed``
    (with the reason) rather than retried forever."""
    if (result.status == ERROR and previous is not None and previous.status == ERROR
            and previous.checksum == result.checksum and previous.reason == result.reason):
        result.status = FAILED
        result.reason = f"{result.reason} (the same error twice: not retried again)"
    return result


def _invalid_id(course: Course, submission: Submission) -> Result:
    result = Result(submission.student, submission.assignment, FAILED,
                    reason="the student id may use only letters, digits, '.', '_' and '-'",
                    checksum=submission_checksum(submission.directory))
    gradebook.store(course, result)
    return result


def _run(course: Course, pending: list, jobs: int, limit: float, summary: Summary,
         progress: bool, known: dict, context=None,
         on_cell: Callable[[str, str, dict], None] | None = None) -> None:
    from tqdm.auto import tqdm

    from . import worker

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked
    context = context or _context()
    if context.get_start_method() == "fork":
        worker.prewarm()  # once here rather than in every worker
    queue = list(reversed(pending))
    running: dict = {}  # sentinel -> (process, job, start time)
    heard: dict[str, int] = {}  # workdir -> bytes of its progress file already passed on

    def pass_on_progress(job) -> None:
        if on_cell is None or not job.progress_path.exists():
            return
        with open(job.progress_path, encoding="utf-8") as handle:
            handle.seek(heard.get(job.workdir, 0))
            for line in iter(handle.readline, ""):
                if not line.endswith("\n"):
                    break  # still being written: read it next time
                heard[job.workdir] = handle.tell()
                on_cell(job.student, job.assignment, json.loads(line))
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
                for _, job, _ in running.values():
                    pass_on_progress(job)
                now = time.monotonic()
                finished = []
                for sentinel in list(running):
                    process, job, began = running[sentinel]
                    if sentinel in ready or now - began > limit:
                        finished.append((sentinel in ready, *running.pop(sentinel)))
                start_next()  # the freed cores work while the results are merged
                for done, process, job, _ in finished:
                    pass_on_progress(job)
                    result = settle(_outcome(done, process, job, limit),
                                    known.get((job.student, job.assignment)))
                    if job.limits is None:
                        result.issues.append(UNSANDBOXED)
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
