"""The course gradebook: what workers start from, and how their results come back.

The gradebook is nbgrader's, at any URL it accepts: a SQLite file (the default) or a PostgreSQL
database that several graders share. Parallel workers never write to it: each grades in a
temporary course whose gradebook is a SQLite *template* (the registered assignments and their
cells, hidden tests included, but no student data). The process that owns the course then
merges each result, in one database transaction per submission: the submission's grades,
comments and late penalty together with the grader's verdict (status and issues, in a table of
its own, which nbgrader ignores). A crash therefore loses at most the submissions still being
graded, and a submission that fails never touches anyone else's grades.

Writers take turns: a file lock next to the autograded notebooks, and on PostgreSQL also a
transaction-scoped advisory lock, so that graders on other machines wait too. A grade row is read
``FOR UPDATE`` before it is written, so a manual grade given in the formgrader at that moment is
neither lost nor overwritten.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.core.course import Course
from grader.core.verdict import HAS_GRADES, Issue

RESULTS_TABLE = "grader_result"
_CREATE_RESULTS = f"""
CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    issues TEXT NOT NULL,
    checksum TEXT,
    graded_at TEXT NOT NULL,
    seconds REAL,
    PRIMARY KEY (student, assignment)
)"""


@dataclass
class NotebookGrades:
    """A graded notebook as a worker stored it: per cell, what nbgrader's autograde saved."""

    scores: dict[str, float | None] = field(default_factory=dict)  # grade cell -> auto_score
    comments: dict[str, str | None] = field(default_factory=dict)  # answer cell -> auto_comment
    late_penalty: float | None = None


@dataclass
class Result:
    """What grading one (student, assignment) produced."""

    student: str
    assignment: str
    status: str
    reason: str | None = None
    issues: list[Issue] = field(default_factory=list)
    checksum: str | None = None
    timestamp: str | None = None
    notebooks: dict[str, NotebookGrades] = field(default_factory=dict)
    autograded: str | None = None  # the worker's output directory
    seconds: float | None = None

    def to_json(self) -> str:
        data = {**self.__dict__, "issues": [i.to_dict() for i in self.issues],
                "notebooks": {k: v.__dict__ for k, v in self.notebooks.items()}}
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Result:
        data = json.loads(text)
        data["issues"] = [Issue.from_dict(i) for i in data["issues"]]
        data["notebooks"] = {k: NotebookGrades(**v) for k, v in data["notebooks"].items()}
        return cls(**data)


@dataclass(frozen=True)
class Record:
    """The stored verdict on one submission (a row of the results table)."""

    student: str
    assignment: str
    status: str
    reason: str | None
    issues: tuple[Issue, ...]
    checksum: str | None
    graded_at: str
    seconds: float | None

    @property
    def flags(self) -> list[Issue]:
        return [i for i in self.issues if i.flag]


# ----------------------------------------------------------------------------- locking


@contextlib.contextmanager
def locked(course: Course):
    """Hold the course's grader lock (other grader processes wait)."""
    course.lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(course.lock_file, "a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: one grader at a time is the instructor's job
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _gradebook(course: Course):
    return course.gradebook()


# Any constant shared by every grader of every course in the database: merges are rare and short.
_ADVISORY_LOCK = 0x726E6E67  # "rnng"


def _lock_database(gb, course: Course) -> None:
    """Wait for other graders' merges on a database server (SQLite is locked by its file)."""
    from sqlalchemy import text

    if not course.is_sqlite:
        gb.db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})


# ----------------------------------------------------------------------------- templates


# nbgrader's tables that describe the course (assignments, notebooks, cells), not the students.
TEMPLATE_TABLES = ("course", "assignment", "notebook", "base_cell", "grade_cells",
                   "solution_cells", "task_cells", "source_cell")


def make_template(course: Course, destination: Path) -> Path:
    """Write a SQLite gradebook at ``destination`` holding the course gradebook's assignments and
    cells, without student data (or the grader's results), whatever database the course uses."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    if course.db_path is not None and not course.db_path.exists():
        raise FileNotFoundError(f"no gradebook at {course.db_path}: run `release` first")
    source, target = create_engine(course.db_url), create_engine(f"sqlite:///{destination}")
    try:
        Base.metadata.create_all(target)
        options = {} if course.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with source.connect().execution_options(**options) as reading, \
                target.begin() as writing:
            # nbgrader's schema version, so that nbgrader takes the template as up to date.
            version = reading.execute(text("SELECT version_num FROM alembic_version")).scalar()
            writing.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            writing.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
            for table in Base.metadata.sorted_tables:  # parents before children
                if table.name in TEMPLATE_TABLES:
                    rows = [dict(row) for row in reading.execute(table.select()).mappings()]
                    if rows:
                        writing.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()
    return destination


# ----------------------------------------------------------------------------- results


def records(course: Course) -> dict[tuple[str, str], Record]:
    """Every stored verdict, by (student, assignment)."""
    if course.db_path is not None and not course.db_path.exists():
        return {}
    from sqlalchemy import text

    with _gradebook(course) as gb:
        gb.db.execute(text(_CREATE_RESULTS))
        rows = gb.db.execute(text(
            f"SELECT student, assignment, status, reason, issues, checksum, graded_at, seconds "
            f"FROM {RESULTS_TABLE}")).fetchall()
        gb.db.commit()
    found = {}
    for row in rows:
        issues = tuple(Issue.from_dict(i) for i in json.loads(row[4]))
        found[(row[0], row[1])] = Record(row[0], row[1], row[2], row[3], issues, row[5],
                                         row[6], row[7])
    return found


def store(course: Course, result: Result) -> None:
    """Merge one worker result into the course (see :class:`Writer`)."""
    with Writer(course) as writer:
        writer.store(result)


class Writer:
    """Merges results into the course gradebook through one connection, each under the lock:
    the autograded notebooks (when there are grades), then, in one transaction, the grades and
    the verdict."""

    def __init__(self, course: Course):
        self.course = course
        self.gb = None

    def __enter__(self) -> Writer:
        self.gb = _gradebook(self.course)
        return self

    def __exit__(self, *exc) -> None:
        self.gb.close()
        self.gb.engine.dispose()

    def store(self, result: Result) -> None:
        course, gb = self.course, self.gb
        with locked(course):
            if result.status in HAS_GRADES and result.autograded:
                _replace_directory(Path(result.autograded),
                                   course.autograded_dir(result.student, result.assignment))
            try:
                _lock_database(gb, course)
                if result.status in HAS_GRADES:
                    _write_grades(gb, result)
                _write_record(gb, result)
                gb.db.commit()
            except BaseException:
                gb.db.rollback()
                raise
            finally:
                gb.db.remove()  # nothing cached between submissions


def _replace_directory(source: Path, destination: Path) -> None:
    import shutil

    destination.parent.mkdir(parents=True, exist_ok=True)
    incoming = destination.with_name(destination.name + ".incoming")
    outgoing = destination.with_name(destination.name + ".outgoing")
    for leftover in (incoming, outgoing):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(source, incoming)
    if destination.exists():
        destination.rename(outgoing)
    incoming.rename(destination)
    if outgoing.exists():
        shutil.rmtree(outgoing)


def _write_grades(gb, result: Result) -> None:
    """What nbgrader's SaveAutoGrades and AssignLatePenalties store, without a commit between."""
    from nbgrader.api import (
        Comment,
        Grade,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from nbgrader.utils import parse_utc

    try:
        student = gb.find_student(result.student)
    except MissingEntry:
        student = Student(id=result.student)
        gb.db.add(student)
    try:
        submission = gb.find_submission(result.assignment, result.student)
    except MissingEntry:
        assignment = gb.find_assignment(result.assignment)
        created = []
        with gb.db.no_autoflush:
            submission = SubmittedAssignment(assignment=assignment, student=student)
            created.append(submission)
            for notebook in assignment.notebooks:
                submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                created.append(submitted)
                for cell in [*notebook.grade_cells, *notebook.task_cells]:
                    created.append(Grade(cell_id=cell.id, notebook=submitted))
                for cell in [*notebook.solution_cells, *notebook.task_cells]:
                    created.append(Comment(cell_id=cell.id, notebook=submitted))
            gb.db.add_all(created)
        gb.db.flush()
    submission.timestamp = parse_utc(result.timestamp) if result.timestamp else None
    for name, graded in result.notebooks.items():
        notebook = gb.find_submission_notebook(name, result.assignment, result.student)
        # Locked and read afresh: a manual grade committed a moment ago decides needs_manual_grade.
        locked_grades = (gb.db.query(Grade).filter(Grade.notebook_id == notebook.id)
                         .populate_existing().with_for_update(of=Grade).all())
        grades = {grade.cell.name: grade for grade in locked_grades}
        comments = {comment.cell.name: comment for comment in notebook.comments}
        for cell, score in graded.scores.items():
            grade = grades[cell]
            grade.auto_score = score
            # nbgrader's rule: a manual grade already given, or no automatic score, needs a look.
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        for cell, comment in graded.comments.items():
            comments[cell].auto_comment = comment
        notebook.late_submission_penalty = graded.late_penalty
        if result.status != "graded":
            notebook.flagged = True


def _write_record(gb, result: Result) -> None:
    from sqlalchemy import text

    gb.db.execute(text(_CREATE_RESULTS))
    gb.db.execute(text(f"DELETE FROM {RESULTS_TABLE} WHERE student = :s AND assignment = :a"),
                  {"s": result.student, "a": result.assignment})
    gb.db.execute(text(
        f"INSERT INTO {RESULTS_TABLE} (student, assignment, status, reason, issues, checksum, "
        "graded_at, seconds) VALUES (:s, :a, :status, :reason, :issues, :checksum, :at, :sec)"),
        {"s": result.student, "a": result.assignment, "status": result.status,
         "reason": result.reason, "issues": json.dumps([i.to_dict() for i in result.issues]),
         "checksum": result.checksum, "at": datetime.now(timezone.utc).isoformat(),
         "sec": result.seconds})
