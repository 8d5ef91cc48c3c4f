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
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from grader.core.course import Course, submission_checksum, valid_student_id
from grader.core.repository import grading_env
from grader.core.verdict import ERROR, FAILED, Issue, Result
from grader.record import gradebook

from .backend import Backend, Handle, threads_per_kernel
from .local_pool import LocalPool
from .sandbox import DEFAULT_LIMITS, SCRATCH_PREFIX, Limits, remove_leftovers

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
        raise ValueError(f"no assignment is released yet in the gradebook {course.shown_db_url}: "
                         f"run `{course.command('release')}` first")
    unknown = sorted(set(assignments or ()) - set(released))
    if unknown:
        raise ValueError(f"not released in the gradebook {course.shown_db_url} (run "
                         f"`{course.command('release')}` first): {', '.join(unknown)}; "
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


def autograde(course: Course, students: list[str] | None = None,
              assignments: list[str] | None = None, jobs: int = 1,
              timeout: int | None = None, submission_timeout: float | None = None,
              force: bool = False, progress: bool = True, sandbox: bool = True,
              limits: Limits = DEFAULT_LIMITS, cluster: str | None = None,
              on_cell: Callable[[str, str, dict], None] | None = None,
              unsandboxed: Issue = UNSANDBOXED) -> Summary:
    """Grade the submissions (all, or those of ``students`` / ``assignments``) with ``jobs``
    workers, or on the Dask cluster whose scheduler is at ``cluster`` (as many at once as it
    has worker threads); ``timeout`` is per cell, ``submission_timeout`` the wall-clock limit
    of a worker. Each kernel runs in a sandbox with ``limits``; without a working sandbox this
    refuses to run unless ``sandbox=False`` (on a cluster, each worker checks its own).
    ``on_cell(student, assignment, cell)`` hears of each graded cell as soon as it has run
    (``cell``: its grade_id and outputs). Without the sandbox, each result carries
    ``unsandboxed``."""
    from . import worker  # noqa: F401 (imports nbgrader: before any fork, once)

    if sandbox and not cluster:
        _require_sandbox()
    remove_leftovers()

    started = time.monotonic()
    summary = Summary()
    known = gradebook.records(course)
    todo = _to_grade(course, students, assignments, force, known, summary)
    if not todo:
        if cluster:  # nothing to grade; connecting still clears what killed workers left
            from .dask_cluster import ClusterContext

            ClusterContext(cluster, limit=0).close()
        summary.seconds = time.monotonic() - started
        return summary

    config = course.config()
    cell_timeout = timeout or config.Execute.timeout
    limit = submission_timeout or max(600.0, 10.0 * cell_timeout)
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    context = zygote = None
    try:
        if cluster:
            from .dask_cluster import ClusterContext

            context = ClusterContext(cluster, limit)
            jobs = context.slots
        else:
            zygote = _warm_verifiers()
        pending = _jobs(course, config, todo, scratch, timeout, threads_per_kernel(jobs),
                        limits if sandbox else None, summary)
        if zygote is not None:
            for job in pending:
                job.verifier_zygote = zygote.address
        _run(course, pending, jobs, limit, summary, progress, known, context, on_cell,
             unsandboxed)
    finally:
        for each in (context, zygote):
            if each is not None:
                each.close()
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _warm_verifiers():
    """The process this run's verifier kernels are forked from (see verify.zygote); it gets
    ready while the first submissions start (a verifier that finds it broken starts cold)."""
    from .verify.zygote import Zygote

    return Zygote(grading_env({"MPLBACKEND": "Agg"}))


def _require_sandbox() -> None:
    from . import sandbox as jail

    why = jail.check()
    if why:
        raise RuntimeError(f"the grading sandbox does not work here: {why}. Grading without "
                           "it lets a submission read solutions and change grades; pass "
                           "--no-sandbox to do so anyway")


def _to_grade(course: Course, students: list[str] | None, assignments: list[str] | None,
              force: bool, known: dict, summary: Summary) -> list[Submission]:
    """The submissions to grade; those already graded (unless ``force``) go to ``summary``."""
    todo = []
    for submission in find_submissions(course, students, assignments):
        record = known.get((submission.student, submission.assignment))
        if force or _needs_grading(submission, record):
            todo.append(submission)
        else:
            summary.skipped.append(submission)
    return todo


def _jobs(course: Course, config, todo: list[Submission], scratch: Path, timeout: int | None,
          threads: int, limits: Limits | None, summary: Summary) -> list:
    """A worker's job for each submission, each assignment's template gradebook and references
    made once; a submission with an invalid student id is failed here, into ``summary``."""
    from . import worker

    templates, references = {}, {}
    for assignment in sorted({s.assignment for s in todo}):
        templates[assignment] = gradebook.make_template(
            course, scratch / f"template-{assignment}.db")
        references[assignment] = worker.references_for(
            str(templates[assignment]), assignment, str(course.release / assignment),
            config.CourseDirectory.course_id)
    pending = []
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
            references[submission.assignment], threads=threads, limits=limits))
    return pending


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
         progress: bool, known: dict, context: Backend | None = None,
         on_cell: Callable[[str, str, dict], None] | None = None,
         unsandboxed: Issue = UNSANDBOXED) -> None:
    from tqdm.auto import tqdm

    from . import worker

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked
    context = context or LocalPool()
    if context.get_start_method() == "fork":
        worker.prewarm()  # once here rather than in every worker
    queue = list(reversed(pending))
    running: dict = {}  # sentinel -> (process, job, start time)
    pass_on_progress = _Relay(on_cell)
    bar = tqdm(total=len(pending), desc="autograde", unit="submission", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)

    def start_next() -> None:
        while queue and len(running) < max(1, jobs):
            job = queue.pop()
            process = context.submit(job)
            process.start()
            running[process.sentinel] = (process, job, time.monotonic())

    try:
        with gradebook.Writer(course) as writer:
            start_next()
            while running:
                ready = wait(list(running), timeout=0.5)
                for _, job, _ in running.values():
                    pass_on_progress(job)
                finished = _finished(running, ready, limit)
                start_next()  # the freed cores work while the results are merged
                for done, process, job, _ in finished:
                    pass_on_progress(job)
                    result = _store(course, writer, done, process, job, limit, known,
                                    unsandboxed)
                    summary.graded.append(result)
                    bar.set_postfix_str(f"{job.student}: {result.status}", refresh=False)
                    bar.update(1)
    except BaseException:
        for process, _, _ in running.values():
            _kill(process)
        raise
    finally:
        bar.close()


class _Relay:
    """Passes each graded cell a worker wrote to its progress file on to ``on_cell``, once."""

    def __init__(self, on_cell: Callable[[str, str, dict], None] | None):
        self.on_cell = on_cell
        self.heard: dict[str, int] = {}  # workdir -> bytes of its progress file passed on

    def __call__(self, job) -> None:
        if self.on_cell is None or not job.progress_path.exists():
            return
        with open(job.progress_path, encoding="utf-8") as handle:
            handle.seek(self.heard.get(job.workdir, 0))
            for line in iter(handle.readline, ""):
                if not line.endswith("\n"):
                    break  # still being written: read it next time
                self.heard[job.workdir] = handle.tell()
                self.on_cell(job.student, job.assignment, json.loads(line))


def _finished(running: dict, ready: list, limit: float) -> list[tuple]:
    """The jobs that ended or ran out of time, taken out of ``running``, as (ended, process,
    job, start time)."""
    now = time.monotonic()
    finished = []
    for sentinel in list(running):
        process, job, began = running[sentinel]
        if sentinel in ready or now - began > limit:
            finished.append((sentinel in ready, *running.pop(sentinel)))
    return finished


def _store(course: Course, writer, done: bool, process, job, limit: float,
           known: dict, unsandboxed: Issue = UNSANDBOXED) -> Result:
    """The job's result, settled against the stored one, merged into the gradebook."""
    result = settle(_outcome(done, process, job, limit),
                    known.get((job.student, job.assignment)))
    if job.limits is None:
        result.issues.append(unsandboxed)
    _keep_log(course, job)
    writer.store(result)
    shutil.rmtree(job.workdir, ignore_errors=True)
    return result


def _outcome(done: bool, process: Handle, job, limit: float) -> Result:
    if done:
        process.join(limit)  # a worker that sent its result and then hangs is stopped
        if process.exitcode is None:
            _kill(process)
        return _collect(process, job)
    _kill(process)
    return Result(job.student, job.assignment, FAILED,
                  reason=f"grading did not finish within {limit:g} s",
                  checksum=submission_checksum(Path(job.submission)))


def _kill(process: Handle) -> None:
    # The kernel notices that its parent is gone (ipykernel polls it) and exits too.
    process.kill()
    process.join(timeout=10)


def _collect(process: Handle, job) -> Result:
    result = process.result()
    if result is not None:
        return result
    return Result(job.student, job.assignment, ERROR,
                  reason=f"the worker exited with code {process.exitcode} without a result",
                  checksum=submission_checksum(Path(job.submission)))


def _keep_log(course: Course, job) -> None:
    if job.log_path.exists():
        target = course.log_file(job.student, job.assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job.log_path, target)
