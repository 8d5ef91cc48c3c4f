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
``solutions/`` nor the course gradebook. The worker sends its verdict and grades, a
:class:`~grader.core.verdict.Result`, back to the process that merges them (see .backend).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
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
from grader.core.policy import MAX_CELLS
from grader.core.repository import grading_env
from grader.core.sanitize import SanitizeSubmission
from grader.core.verdict import ERROR, FAILED, Issue, NotebookGrades, Result, status_of
from grader.prepare import inspection

from . import findings
from .guarded_execute import GuardedExecute
from .sandbox import KernelOutput, Limits, Sandbox
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
    verifier_zygote: str | None = None  # warm verifier kernels (verify.zygote); None: cold

    @property
    def log_path(self) -> Path:
        return Path(self.workdir) / "worker.log"

    @property
    def progress_path(self) -> Path:
        """Graded cells' outputs, one JSON line each, written as they run (GuardedExecute)."""
        return Path(self.workdir) / "progress.jsonl"


def main(job: Job, connection) -> None:
    """Entry point of a worker process: grade, send the Result through ``connection`` (the
    parent's end of a ``multiprocessing`` pipe: pickled once), never raise."""
    started = time.monotonic()
    _die_with_parent()
    _quiet(job.log_path)
    _disposable_sqlite()
    os.environ.update(worker_environment(job))
    try:
        result = grade(job)
    except Exception as error:
        result = Result(job.student, job.assignment, ERROR,
                        reason="the grader failed: " + _described(job, error))
        logging.getLogger("grader").exception("grading failed")
    result.seconds = round(time.monotonic() - started, 2)
    result.checksum = result.checksum or submission_checksum(Path(job.submission))
    connection.send(result)
    connection.close()


def _described(job: Job, error: Exception) -> str:
    """An exception of the grader in one line; only its type once the submission's code has run
    (its message could quote what the kernel produced)."""
    output = Path(job.workdir) / "sandbox" / "output.json"
    ran = (json.loads(output.read_text()).get("cells_started") if output.exists()
           else job.progress_path.exists())
    if ran:
        return (f"{type(error).__name__} after the submission's code had started; the worker "
                "log (grader/reports/logs/) has the details")
    return _last_line(traceback.format_exception_only(type(error), error)[-1])[:1000]


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


# Longer than 40 lines: the steps of one job in the order they must happen (place, sandbox,
# run, read back), each early return a verdict of its own; the steps are the functions below.
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
    job.references = references
    course_files = _copy_course_files(Path(job.release), root / COURSE_FILES / job.assignment)
    shutil.copyfile(job.template, workdir / "gradebook.db")

    sandbox = None
    if job.limits is not None:
        why = sandbox_check()
        if why:  # a cluster worker without bubblewrap: another worker may have it
            result.status = ERROR
            result.reason = f"the grading sandbox does not work on this machine: {why}"
            return result
        shown = {**course_files, **{f"{n}.ipynb": target / f"{n}.ipynb" for n in placed}}
        sandbox = _sandbox(job, shown)
    try:
        log = _autograde(job, root, workdir / "gradebook.db", sandbox, references)
    finally:
        if sandbox is not None:
            sandbox.close()
    kernel = _log_kernel_output(sandbox)
    out_dir = root / "grader" / "autograded" / job.student / job.assignment
    missing = [n for n in placed if not (out_dir / f"{n}.ipynb").exists()]
    if missing:
        # The submission already passed as a readable notebook: this is the grader's failure,
        # so the next run tries again.
        result.status = ERROR
        result.reason = "nbgrader could not grade it: " + failure_cause(log, kernel)
        result.issues = issues
        return result

    executed = {}
    for name in placed:
        executed[name] = nbformat.reads((out_dir / f"{name}.ipynb").read_text(), as_version=4)
        issues += findings.execution_issues(executed[name], job.timeout or _timeout(job))
    _read_grades(job, workdir / "gradebook.db", result)
    if sandbox is not None:
        issues += _sandbox_findings(executed, sandbox, result)
    result.issues = issues
    result.status = status_of(issues)
    result.autograded = str(out_dir)
    return result


def _sandbox(job: Job, shown: dict[str, Path]) -> Sandbox:
    """The job's sandbox, laid out, and this process's environment set for its kernel."""
    sandbox = Sandbox(Path(job.workdir) / "sandbox", job.limits)
    os.environ.update(sandbox.prepare(
        shown, {**os.environ, "NBGRADER_EXECUTION": "autograde"}))
    return sandbox


def _read_grades(job: Job, database: Path, result: Result) -> None:
    """What nbgrader's autograde stored in the job's gradebook, into ``result``."""
    course_id = job.config.CourseDirectory.course_id
    with Gradebook(f"sqlite:///{database}", course_id) as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student)
        result.timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        for notebook in submission.notebooks:
            result.notebooks[notebook.name] = NotebookGrades(
                scores={g.name: g.auto_score for g in notebook.grades},
                comments={c.name: c.auto_comment for c in notebook.comments},
                late_penalty=notebook.late_submission_penalty)


def _sandbox_findings(executed: dict, sandbox: Sandbox, result: Result) -> list[Issue]:
    """What the kernel's guard reported: evidence for a person, not a gate. The tests ran in the
    verifier kernel, so what the submission did to its own kernel changed only the data it
    handed back; no score is zeroed."""
    issues = []
    for nb in executed.values():  # one notebook per assignment here: one findings file
        found, _ = findings.sandbox_issues(nb, sandbox.directory / "findings.json")
        issues += found
    return issues


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
        if len(nb.cells) > MAX_CELLS:
            return [], issues, (f"{path.name} has {len(nb.cells):,} cells, more than the "
                                f"{MAX_CELLS:,} a notebook may have (the released one has "
                                f"{len(reference.release.cells)}); it was not graded")
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
    # Grades are saved from the executed notebook; what is stored (and rendered by the
    # formgrader) is then sanitized (grader.sanitize).
    config.SanitizeSubmission.trusted_markdown = [
        cell.source for reference in (job.references or {}).values()
        for cell in reference.release.cells if cell.cell_type == "markdown"]
    config.GuardedExecute.verifier_zygote = job.verifier_zygote or ""
    config.GuardedExecute.verifier_sources = {
        name: verifier_sources(reference) for name, reference in references.items()}
    config.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata, SanitizeSubmission]
    coursedir = CourseDirectory(config=config)
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = True
    outcome = capture_log(converter)
    log = outcome.get("log", "") + outcome.get("error", "")
    logging.getLogger("grader").info("nbgrader autograde log:\n%s", log)
    return log


def _log_kernel_output(sandbox: Sandbox | None) -> dict | None:
    """Put what the sandboxed kernel printed (read from its pipe, capped: see
    grader.execute.sandbox.KernelOutput) into this worker's log, every line marked as the kernel's so
    that none can pass for the grader's; return it (None when unsandboxed)."""
    path = sandbox.directory / "output.json" if sandbox is not None else None
    if path is None or not path.exists():
        return None
    kernel = json.loads(path.read_text())
    text = kernel["head"] + (f"\n[... {kernel['total'] - 2 * KernelOutput.KEEP:,} bytes not "
                             "kept ...]\n" if kernel["total"] > 2 * KernelOutput.KEEP else "")
    text += kernel["tail"]
    marked = "\n".join(f"kernel| {line}" for line in text.splitlines())
    logging.getLogger("grader").info("the kernel's stdout and stderr (%s bytes):\n%s",
                                     f"{kernel['total']:,}", marked)
    return kernel


def failure_cause(log: str, kernel: dict | None) -> str:
    """Why nbgrader produced no notebook, in one line: the exception its log holds (never its
    "please see the above traceback"), and when the kernel never got to run a cell, the last
    lines it printed while starting (before any code of the submission ran, so nothing in them
    is the submission's). Once the submission's code has run, nothing the kernel printed, nor an
    exception's message that could quote it, goes into the reason: the worker log has them."""
    exception = _first_exception(log)
    if kernel is not None and kernel.get("cells_started"):
        named = re.match(r"[\w.]*(Error|Exception|Exit|Interrupt)\b", exception or "")
        kind = named.group(0) if named else "an error"
        return (f"{kind} after the submission's code had started; the worker log "
                "(grader/reports/logs/) has the details")
    words = [line.strip() for line in (kernel or {}).get("startup", "").splitlines()
             if line.strip()][-3:]
    parts = [exception or "nbgrader stopped without an exception"]
    if words:
        parts.append("the kernel's last lines: " + " | ".join(words))
    return "; ".join(parts)[:1000]


def _first_exception(log: str) -> str | None:
    """The exception line ending the first traceback in nbgrader's log."""
    inside, last = False, None
    for line in log.splitlines():
        if line.rstrip().endswith("Traceback (most recent call last):"):
            if last is not None and not inside:
                break
            inside = True
            continue
        if inside and line.startswith("["):
            break
        if inside and line.strip() and not line[:1].isspace() and not line.startswith(
                ("During handling", "The above exception")):
            last = line.strip()
    if last is None:
        errors = [line for line in log.splitlines() if line.startswith("[ERROR]")
                  and "above traceback" not in line and "error processing" not in line]
        return errors[0][len("[ERROR] "):].strip() if errors else None
    return last


def verifier_sources(reference: inspection.Reference) -> dict:
    """The cells the verifier kernel runs, as the course registered them: the setup cell (grade
    id ``setup``, else the first locked cell that is not graded) and every test cell."""
    registered = [reference.cells[name] for name in reference.order]
    code = [c for c in registered if c.cell_type == "code"]
    setup = next((c for c in code if c.name == "setup"), None) or next(
        (c for c in code if c.locked and not c.grade), None)
    return {"setup": setup.source if setup else None,
            "tests": {c.name: c.source for c in code if c.grade and not c.solution}}
