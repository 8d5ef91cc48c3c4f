"""The course directory as the grader sees it: nbgrader's configuration and where things live.

The repository itself is the course (see grader/nbgrader_config.py). Every command also accepts
another course root, laid out the same way (``solutions/``, ``notebooks/``, ``grader/``), with its
gradebook at ``grader/gradebook.db``: the tests grade in temporary copies of the course so.

The gradebook is any SQLAlchemy URL nbgrader accepts: the configuration's ``db_url`` (SQLite at
``grader/gradebook.db`` unless the instructor set another), or ``database`` given explicitly
(``--db URL``), e.g. a PostgreSQL server shared by several graders.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import repository


@functools.lru_cache(maxsize=1)
def _course_file_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(repository.GRADER_DIR)).load_config()


@dataclass(frozen=True)
class Course:
    root: Path = repository.REPO_ROOT
    database: str | None = None  # a gradebook URL other than the configured one (--db)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        if self.database is not None:
            object.__setattr__(self, "database", repository.gradebook_url(self.database))

    # -------------------------------------------------------------- configuration

    def config(self):
        """nbgrader's configuration for this course (a fresh copy, safe to modify)."""
        import copy

        config = copy.deepcopy(_course_file_config())
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        if self.root != repository.REPO_ROOT:
            config.Exchange.root = str(self.exchange)
        return config

    def _directory(self, name: str) -> Path:
        return self.root / getattr(_course_file_config().CourseDirectory, f"{name}_directory")

    @property
    def course_id(self) -> str:
        return _course_file_config().CourseDirectory.course_id

    @property
    def db_url(self) -> str:
        if self.database is not None:
            return self.database
        if self.root == repository.REPO_ROOT:
            return repository.gradebook_url(_course_file_config().CourseDirectory.db_url)
        return f"sqlite:///{self.root / 'grader' / 'gradebook.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def gradebook(self):
        """nbgrader's Gradebook on this course (use it in a ``with`` block)."""
        from nbgrader.api import Gradebook

        repository.put_tools_on_path()  # nbgrader runs `alembic` when it creates a gradebook
        return Gradebook(self.db_url, self.course_id)

    @property
    def db_path(self) -> Path | None:
        """The gradebook file, when the gradebook is sqlite."""
        prefix = "sqlite:///"
        return Path(self.db_url[len(prefix):]) if self.db_url.startswith(prefix) else None

    # -------------------------------------------------------------- directories

    @property
    def source(self) -> Path:
        return self._directory("source")

    @property
    def release(self) -> Path:
        return self._directory("release")

    @property
    def submitted(self) -> Path:
        return self._directory("submitted")

    @property
    def autograded(self) -> Path:
        return self._directory("autograded")

    @property
    def feedback(self) -> Path:
        return self._directory("feedback")

    @property
    def exchange(self) -> Path:
        if self.root == repository.REPO_ROOT:
            return Path(_course_file_config().Exchange.root)
        return self.root / "grader" / "exchange"

    @property
    def reports(self) -> Path:
        return self.root / "grader" / "reports"

    @property
    def lock_file(self) -> Path:
        # Inside a git-ignored student-data directory, next to what it protects.
        return self.autograded / ".grader.lock"

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.submitted / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.autograded / student / assignment

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self.feedback / student / assignment

    def log_file(self, student: str, assignment: str) -> Path:
        return self.reports / "logs" / assignment / f"{student}.log"

    # -------------------------------------------------------------- assignments

    def source_assignments(self) -> list[str]:
        """Assignment ids with a source notebook, in course order (then any others, sorted)."""
        from .policy import ASSIGNMENTS

        found = sorted(p.name for p in self.source.glob("*") if (p / f"{p.name}.ipynb").is_file())
        return [a for a in ASSIGNMENTS if a in found] + [a for a in found if a not in ASSIGNMENTS]

    def released_assignments(self) -> list[str]:
        """Assignment ids registered in the gradebook, in course order."""
        if self.db_path is not None and not self.db_path.exists():
            return []
        with self.gradebook() as gradebook:
            names = {a.name for a in gradebook.assignments}
        return [a for a in self.source_assignments() if a in names] + sorted(
            names - set(self.source_assignments()))


def submission_checksum(directory: Path) -> str:
    """A digest of every file in a submission directory (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


# Student ids become directory names and nbgrader globs: letters, digits, '.', '_' and '-' only.
STUDENT_ID = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def valid_student_id(student: str) -> bool:
    import re

    return re.fullmatch(STUDENT_ID, student) is not None
