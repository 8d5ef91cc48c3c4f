"""``progress``: where a learner stands in the whole course, from one command.

Every notebook under ``notebooks/`` is checked as ``check --exercise`` checks one exercise (see
:mod:`.exercise`), all its exercises in one kernel; answer cells still holding the released stub
are not run. One line per notebook: exercises passed, points, and what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import cells
from grader.core.course import Course

from .exercise import NOT_STARTED, check_exercises, read

TEXT_STUB = "YOUR ANSWER HERE"


@dataclass
class Row:
    assignment: str
    passed: int = 0
    exercises: int = 0
    points: float = 0.0
    max_points: float = 0.0
    left: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.error is None and self.passed == self.exercises


def progress(course: Course, notebooks: list[Path] | None = None, timeout: float | None = None,
             on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """One :class:`Row` per notebook (default: each assignment's notebook under notebooks/)."""
    if notebooks is None:
        notebooks = [course.release / a / f"{a}.ipynb" for a in course.source_assignments()
                     if (course.release / a / f"{a}.ipynb").is_file()]
        if not notebooks:
            raise ValueError(f"no notebook under {course.release}")
    rows = []
    for path in notebooks:
        row = _row(course, Path(path), timeout)
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def _row(course: Course, path: Path, timeout: float | None) -> Row:
    from .check import guess_assignment

    try:
        assignment = guess_assignment(course, path)
        result = check_exercises(path, assignment=assignment, timeout=timeout, source=course)
    except (ValueError, FileNotFoundError) as error:
        return Row(path.stem, error=str(error))
    row = Row(assignment, exercises=len(result.exercises))
    failing, not_started = [], []
    for exercise in result.exercises:
        row.points += exercise.points
        row.max_points += exercise.max_points
        if exercise.points == exercise.max_points:
            row.passed += 1
        elif NOT_STARTED in exercise.messages:
            not_started.append(exercise.name)
        else:
            failing.append(f"{exercise.name} {exercise.points:g}/{exercise.max_points:g}")
    unwritten = [cells.grade_id(c) for c in read(path)["cells"]
                 if cells.is_solution(c) and cells.is_grade(c) and c["cell_type"] == "markdown"
                 and c["source"].strip() in ("", TEXT_STUB)]
    for label, names in (("failing", failing), ("not started", not_started),
                         ("written answer to write", unwritten)):
        if names:
            row.left.append(f"{label}: {', '.join(names)}")
    return row


def format_progress(rows: list[Row]) -> str:
    width = max([len("notebook")] + [len(r.assignment) for r in rows])
    lines = [f"{'notebook':<{width}}  passed  points   left"]
    for row in rows:
        if row.error:
            lines.append(f"{row.assignment:<{width}}  could not be checked: {row.error}")
            continue
        passed = f"{row.passed}/{row.exercises}"
        points = f"{row.points:g}/{row.max_points:g}"
        lines.append(f"{row.assignment:<{width}}  {passed:>6}  {points:>6}   "
                     f"{'; '.join(row.left) or 'nothing: done'}")
    passed = sum(r.passed for r in rows)
    total = sum(r.exercises for r in rows)
    points = sum(r.points for r in rows)
    maximum = sum(r.max_points for r in rows)
    lines.append(f"{'course':<{width}}  {f'{passed}/{total}':>6}  {f'{points:g}/{maximum:g}':>6}"
                 "   (automatically graded; written answers are graded by your instructor)")
    return "\n".join(lines) + "\n"
