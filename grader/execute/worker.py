"""Grading one submission, in a process of its own (see grader.execute.autograde for the
scheduling).

A worker builds a throw-away course for a single (student, assignment):

    <workdir>/gradebook.db                    the template gradebook (no student data)
    <workdir>/course/course_files/<a>/        what the release gives besides the notebooks
    <workdir>/course/grader/submitted/<s>/<a>/    the submission, repaired (see inspection.repair)
    <workdir>/course/grader/autograded/<s>/<a>/   where nbgrader writes, and where the notebook runs

and runs nbgrader's own autograde converter on it, with
:class:`~grader.execute.guarded_execute.GuardedExecute` in place of nbgrader's ``Execute``. The
notebook's working directory therefore holds only the notebook and the course files: never
``solutions/`` nor the course gradebook. The worker writes its verdict and grades to
``<workdir>/result.json`` for the main process to merge.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from grader.core import cells
from grader.core.course import submission_checksum
from grader.core.repository import grading_env
from grader.core.verdict import ERROR, FAILED, Issue, status_of
from grader.prepare import inspection
from grader.record.gradebook import NotebookGrades, Result

from . import findings
from .guarded_execute import GuardedExecute
from .sandbox import Limits, Sandbox
from .sandbox import check as sandbox_check

COURSE_FILES = "course_files"


@dataclass
class Job:
    student: str
    assignment: str
    submission: str  # the student's directory under submitted/
    release: str  # the assignment's directory under notebooks/ (what students were given)
    template: str  # the template gradebook
    workdir: str
    config: object  # nbgrader Config of the course
    timeout: int | None = None  # per cell, seconds
    references: dict | None = None  # notebook -> inspection.Reference (see references())
    threads: int | None = None  # torch threads of the kernel (COURSE_THREADS), None: its default
    limits: Limits | None = None  # the kernel's sandbox; None: no sandbox (--no-sandbox)

    @property
    def result_path(self) -> Path:
        return Path(self.workdir) / "result.json"

    @property
    def log_path(self) -> Path:
        return Path(self.workdir) / "worker.log"

    @property
    def progress_path(self) -> Path:
        """Graded cells' outputs, one JSON line each, written as they run (GuardedExecute)."""
        return Path(self.workdir) / "progress.jsonl"


def main(job: Job) -> None:
    """Entry point of a worker process: grade, write result.json, never raise."""
    started = time.monotonic()
    _die_with_parent()
    _quiet(job.log_path)
    _disposable_sqlite()
    os.environ.update(worker_environment(job))
    try:
        result = grade(job)
    except Exception:
        result = Result(job.student, job.assignment, ERROR,
                        reason="the grader failed: " + _last_line(traceback.format_exc()))
        logging.getLogger("grader").exception("grading failed")
    result.seconds = round(time.monotonic() - started, 2)
    result.checksum = result.checksum or submission_checksum(Path(job.submission))
    job.result_path.write_text(result.to_json())


def worker_environment(job: Job) -> dict[str, str]:
    """The grading environment, with the kernel's share of the cores unless the instructor set
    COURSE_THREADS: several kernels each running two threads on two cores only slow each other."""
    extra = {}
    if job.threads and "COURSE_THREADS" not in os.environ:
        extra["COURSE_THREADS"] = str(job.threads)
    return grading_env(extra)


def _quiet(log_path: Path) -> None:
    """Send everything this process and its kernel print to the log file, not the terminal."""
    handle = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                        format="[%(levelname)s %(name)s] %(message)s")


def prewarm() -> None:
    """Import and compile, once in the parent, what every forked worker would otherwise redo:
    the notebook and nbgrader metadata validators, the kernel machinery, IPython's rewriter."""
    import IPython.core.inputtransformer2  # noqa: F401
    import jupyter_client.provisioning  # noqa: F401
    import zmq.asyncio  # noqa: F401
    from nbgrader.nbgraderformat import MetadataValidator

    cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": "warm", "locked": True, "points": 1, "solution": False,
        "schema_version": 3, "task": False, "cell_type": "code"}})
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbformat.validate(nb)
    nbformat.reads(nbformat.writes(nb), as_version=4)
    MetadataValidator().validate_nb(nb)
    cells.parse_cell("%time x = 1")


def _die_with_parent() -> None:
    """A worker whose grader was killed stops too (and its kernel with it), rather than grading
    on for nobody."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _disposable_sqlite() -> None:
    """The worker's gradebook is thrown away after grading: no fsync on its ~40 commits."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _no_sync(connection, _record):
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text


def grade(job: Job) -> Result:
    workdir = Path(job.workdir)
    root = workdir / "course"
    checksum = submission_checksum(Path(job.submission))
    result = Result(job.student, job.assignment, FAILED, checksum=checksum)

    course_id = job.config.CourseDirectory.course_id
    references = job.references or references_for(job.template, job.assignment, job.release,
                                                   course_id)
    target = root / "grader" / "submitted" / job.student / job.assignment
    placed, issues, reason = _place_submission(Path(job.submission), target, references)
    if reason:
        result.reason = reason
        result.issues = issues
        return result
    course_files = _copy_course_files(Path(job.release), root / COURSE_FILES / job.assignment)
    shutil.copyfile(job.template, workdir / "gradebook.db")

    sandbox = None
    if job.limits is not None:
        why = sandbox_check()
        if why:  # a cluster worker without bubblewrap: another worker may have it
            result.status = ERROR
            result.reason = f"the grading sandbox does not work on this machine: {why}"
            return result
        sandbox = Sandbox(workdir / "sandbox", job.limits)
        shown = {**course_files, **{f"{n}.ipynb": target / f"{n}.ipynb" for n in placed}}
        os.environ.update(sandbox.prepare(
            shown, {**os.environ, "NBGRADER_EXECUTION": "autograde"}))
    try:
        log = _autograde(job, root, workdir / "gradebook.db", sandbox, references)
    finally:
        if sandbox is not None:
            sandbox.close()
    out_dir = root / "grader" / "autograded" / job.student / job.assignment
    missing = [n for n in placed if not (out_dir / f"{n}.ipynb").exists()]
    if missing:
        # The submission already passed as a readable notebook: this is the grader's failure,
        # so the next run tries again.
        result.status = ERROR
        result.reason = "nbgrader could not grade it: " + _nbgrader_error(log)
        result.issues = issues
        return result

    executed = {}
    for name in placed:
        executed[name] = nbformat.reads((out_dir / f"{name}.ipynb").read_text(), as_version=4)
        issues += findings.execution_issues(executed[name], job.timeout or _timeout(job))
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}", course_id) as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student)
        result.timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        for notebook in submission.notebooks:
            result.notebooks[notebook.name] = NotebookGrades(
                scores={g.name: g.auto_score for g in notebook.grades},
                comments={c.name: c.auto_comment for c in notebook.comments},
                late_penalty=notebook.late_submission_penalty)
    if sandbox is not None:
        for name in placed:  # one notebook per assignment in this course: one findings file
            # Evidence for a person, not a gate: the tests ran in the verifier kernel, so what
            # the submission did to its own kernel changed only the data it handed back.
            found, _ = findings.sandbox_issues(executed[name],
                                               sandbox.directory / "findings.json")
            issues += found
    result.issues = issues
    result.status = status_of(issues)
    result.autograded = str(out_dir)
    return result


def references_for(template: str, assignment: str, release: str, course_id: str) -> dict:
    """What each notebook of ``assignment`` is compared with (see inspection.Reference)."""
    with Gradebook(f"sqlite:///{template}", course_id) as gradebook:
        notebooks = [n.name for n in gradebook.find_assignment(assignment).notebooks]
        return {name: inspection.reference_from_gradebook(
                    gradebook, assignment, name,
                    nbformat.read(str(Path(release) / f"{name}.ipynb"), as_version=4))
                for name in notebooks}


def _timeout(job: Job):
    return job.config.Execute.timeout if "timeout" in job.config.Execute else None


def _place_submission(source: Path, target: Path, references: dict
                      ) -> tuple[list[str], list[Issue], str | None]:
    """Copy the submission into the temporary course, repaired; (notebooks, issues, reason it
    cannot be graded or None)."""
    issues: list[Issue] = []
    if not source.is_dir():
        return [], issues, "no submission directory"
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copyfile(path, target / path.name)
    present = {p.stem: p for p in source.glob("*.ipynb")}
    placed = []
    for name, reference in references.items():
        path = present.pop(name, None)
        if path is None:
            strays = sorted(p for p in present.values() if p.stem not in references)
            if len(strays) == 1 and len(references) == 1:
                path = strays[0]
                present.pop(path.stem)
                issues.append(Issue("renamed", f"the notebook was handed in as '{path.name}'; "
                                    f"it was graded as '{name}.ipynb'"))
            else:
                found = ", ".join(p.name for p in strays) or "no notebook"
                return [], issues, f"{name}.ipynb is missing (found: {found})"
        try:
            text = path.read_text(encoding="utf-8")
            json.loads(text)  # for the position of a JSON error, which nbformat does not give
            nb = nbformat.reads(text, as_version=4)
        except UnicodeDecodeError as error:
            return [], issues, f"{path.name} is not a readable notebook: not UTF-8 text ({error})"
        except json.JSONDecodeError as error:
            return [], issues, f"{path.name} is not a readable notebook: invalid JSON ({error})"
        except Exception as error:  # JSON, but not a notebook nbformat can read
            return [], issues, f"{path.name} is not a readable notebook: {_last_line(str(error))}"
        if not any(c.cell_type == "code" for c in nb.get("cells", [])):
            return [], issues, f"{path.name} has no code cells"
        repaired, found = inspection.repair(nb, reference)
        issues += found
        issues += inspection.scan(repaired, reference)
        if inspection.is_blank(repaired, reference):
            issues.append(Issue("blank", "no answer cell was changed from the release"))
        nbformat.write(repaired, str(target / f"{name}.ipynb"))
        placed.append(name)
    return placed, issues, None


def _copy_course_files(release: Path, target: Path) -> dict[str, Path]:
    """Copy what the release gives besides its notebooks; return them by relative name."""
    target.mkdir(parents=True, exist_ok=True)
    copied = {}
    for path in release.rglob("*"):
        relative = path.relative_to(release)
        if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)
            copied[str(relative)] = target / relative
    return copied


def _autograde(job: Job, root: Path, database: Path, sandbox: Sandbox | None,
               references: dict) -> str:
    """Run nbgrader's autograde converter on the temporary course; return its log."""
    from nbgrader.utils import capture_log

    config = copy.deepcopy(job.config)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{database}"
    config.CourseDirectory.source_directory = COURSE_FILES
    config.CourseDirectory.assignment_id = job.assignment
    config.CourseDirectory.student_id = job.student
    if job.timeout:
        config.Execute.timeout = job.timeout
    if sandbox is not None:
        sandbox.kernel_config(config)
        config.GuardedExecute.sandbox_directory = str(sandbox.directory)
        config.GuardedExecute.module_names = {
            name: dotted for reference in references.values()
            for name, dotted in inspection.module_names(reference).items()}
    config.GuardedExecute.progress_file = str(job.progress_path)
    config.GuardedExecute.verifier_sources = {
        name: verifier_sources(reference) for name, reference in references.items()}
    config.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    coursedir = CourseDirectory(config=config)
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = True
    outcome = capture_log(converter)
    log = outcome.get("log", "") + outcome.get("error", "")
    logging.getLogger("grader").info("nbgrader autograde log:\n%s", log)
    return log


def verifier_sources(reference: inspection.Reference) -> dict:
    """The cells the verifier kernel runs, as the course registered them: the setup cell (grade
    id ``setup``, else the first locked cell that is not graded) and every test cell."""
    registered = [reference.cells[name] for name in reference.order]
    code = [c for c in registered if c.cell_type == "code"]
    setup = next((c for c in code if c.name == "setup"), None) or next(
        (c for c in code if c.locked and not c.grade), None)
    return {"setup": setup.source if setup else None,
            "tests": {c.name: c.source for c in code if c.grade and not c.solution}}


def _nbgrader_error(log: str) -> str:
    errors = [line for line in log.splitlines()
              if line.strip() and not line.startswith(("[INFO]", "[WARNING]", "[DEBUG]"))]
    interesting = [e for e in errors if "Error" in e or "error" in e] or errors
    return _last_line("\n".join(interesting)) if interesting else "no output was written"
