"""Where the course lives and how to call nbgrader on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .policy import ASSIGNMENTS

REPO_ROOT = Path(__file__).resolve().parents[2]
GRADER_DIR = REPO_ROOT / "grader"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
RELEASE_DIR = REPO_ROOT / "notebooks"


def available_assignments() -> list[str]:
    """Assignment ids that have a source notebook in ``solutions/``, in course order."""
    return [a for a in ASSIGNMENTS if (SOLUTIONS_DIR / a / f"{a}.ipynb").is_file()]


def put_tools_on_path() -> None:
    """Let nbgrader find the commands it runs (``alembic``) next to this interpreter."""
    here = str(Path(sys.executable).parent)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([here, os.environ.get("PATH", "")])


def grading_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment notebooks are executed in while grading: fast mode, static widgets."""
    env = dict(os.environ)
    # nbgrader shells out to `alembic` and finds kernels by PATH: put this interpreter's bin first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                   env.get("PATH") or os.defpath])
    env.update({"COURSE_FAST": "1", "COURSE_WIDGETS": "static",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    env.update(extra or {})
    return env


def gradebook_url(url: str) -> str:
    """``url`` as SQLAlchemy should read it: a plain ``postgresql://`` URL names psycopg 3 (the
    driver the course installs) whatever SQLAlchemy's default driver is."""
    url = url.strip()
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    if "://" not in url:
        raise ValueError(f"not a database URL: {url!r}; expected sqlite:///PATH or "
                         "postgresql://USER@HOST:PORT/DATABASE")
    return url


def nbgrader(*args: str, root: Path | None = None, db_url: str | None = None,
             check: bool = True, timeout: float | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` with the course configuration.

    ``root`` points nbgrader at another course directory (with, unless ``db_url`` names another
    gradebook, its own at ``grader/gradebook.db``), as the tests do; by default it works on the
    repository itself and the gradebook of its configuration.
    """
    command = [sys.executable, "-m", "nbgrader", *args]
    if root is not None:
        root = Path(root).resolve()
        command += [f"--CourseDirectory.root={root}", f"--Exchange.root={root / 'grader' / 'exchange'}"]
        db_url = db_url or f"sqlite:///{root / 'grader' / 'gradebook.db'}"
    if db_url is not None:
        command.append(f"--CourseDirectory.db_url={gradebook_url(db_url)}")
    result = subprocess.run(command, cwd=GRADER_DIR, env=grading_env(), text=True,
                            capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n"
                           f"{result.stdout}\n{result.stderr}")
    return result


def release(assignments: list[str] | None = None, root: Path | None = None,
            db_url: str | None = None) -> list[str]:
    """Regenerate the released notebooks from ``solutions/``, register them in the gradebook and
    put them in the course's exchange (nbgrader's ``release_assignment``), where the formgrader
    looks for released assignments."""
    chosen = assignments or available_assignments()
    for assignment in chosen:
        nbgrader("generate_assignment", assignment, "--force", root=root, db_url=db_url)
        nbgrader("release_assignment", assignment, "--force", root=root, db_url=db_url)
    return chosen
