"""``check NOTEBOOK``: a learner grades their own notebook, hidden tests included, locally.

The notebook is graded exactly as an instructor's ``autograde`` would grade it (same worker,
same repairs and checks), in a throw-away course generated from ``solutions/``; nothing is
written to the course's gradebook. The exit status is 0 only when every automatically graded
point was earned, so ``check`` can gate a script (unlike ``nbgrader validate``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import cells
from .layout import Course

LEARNER = "me"


@dataclass
class ExerciseCheck:
    name: str
    points: float | None  # None: graded by hand
    max_points: float
    messages: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    assignment: str
    status: str
    exercises: list[ExerciseCheck] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def complete(self) -> bool:
        return self.status in ("graded", "flagged") and all(
            e.points == e.max_points for e in self.exercises if e.points is not None)


def guess_assignment(course: Course, notebook: Path) -> str:
    """The assignment a notebook belongs to: by its name, else by its cells' grade ids."""
    import nbformat

    known = course.source_assignments()
    for assignment in sorted(known, key=len, reverse=True):
        if assignment in notebook.stem:
            return assignment
    try:
        ids = {cells.grade_id(c) for c in nbformat.read(str(notebook), as_version=4).cells}
    except Exception as error:
        raise ValueError(f"cannot tell which assignment {notebook.name} is (it does not read as "
                         f"a notebook: {error}); pass --assignment") from None
    overlap = {}
    for assignment in known:
        source = nbformat.read(str(course.source / assignment / f"{assignment}.ipynb"),
                               as_version=4)
        overlap[assignment] = len(ids & {cells.grade_id(c) for c in source.cells} - {None})
    best = max(overlap, key=overlap.get, default=None)
    if not best or not overlap[best]:
        raise ValueError(f"cannot tell which assignment {notebook.name} is; pass --assignment")
    return best


def _generate(course: Course, assignment: str) -> None:
    """``nbgrader generate_assignment`` in-process on a temporary course."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log, setenv

    from .course import grading_env

    config = course.config()
    config.CourseDirectory.assignment_id = assignment
    converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    converter.force = True
    # A new gradebook asks the `alembic` command for its schema version: find this venv's.
    with setenv(PATH=grading_env()["PATH"]):
        outcome = capture_log(converter)
    if not outcome["success"]:
        raise RuntimeError(f"could not generate {assignment}:\n{outcome.get('error', '')}")


def check(notebook: Path, assignment: str | None = None, timeout: int | None = None,
          source: Course | None = None) -> CheckResult:
    """Grade ``notebook`` against the visible and hidden tests of ``source`` (this course)."""
    import nbformat

    from .autograde import autograde
    from .report import collect_rows, exercise_layout

    source = source or Course()
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} does not exist")
    assignment = assignment or guess_assignment(source, notebook)
    if not (source.source / assignment / f"{assignment}.ipynb").is_file():
        raise ValueError(f"no source notebook for {assignment} in {source.source}")
    with tempfile.TemporaryDirectory(prefix="rnn-check-") as scratch:
        course = Course(Path(scratch))
        shutil.copytree(source.source / assignment, course.source / assignment)
        (course.root / "grader").mkdir(exist_ok=True)
        _generate(course, assignment)
        target = course.submission_dir(LEARNER, assignment)
        target.mkdir(parents=True)
        shutil.copyfile(notebook, target / f"{assignment}.ipynb")
        summary = autograde(course, timeout=timeout, progress=False)
        graded = summary.graded[0]
        result = CheckResult(assignment, graded.status, issues=[str(i) for i in graded.issues],
                             reason=graded.reason)
        if graded.status not in ("graded", "flagged"):
            return result
        row = next(r for r in collect_rows(course) if r.student == LEARNER)
        layout = exercise_layout(course, assignment)
        executed = {}
        for name in layout:
            path = course.autograded_dir(LEARNER, assignment) / f"{name}.ipynb"
            executed.update({cells.grade_id(c): c
                             for c in nbformat.read(str(path), as_version=4).cells
                             if cells.grade_id(c)})
        for exercises in layout.values():
            for exercise in exercises:
                points, maximum = row.exercises[exercise.name]
                check_row = ExerciseCheck(exercise.name, None if exercise.manual else points,
                                          maximum)
                for test in exercise.tests:
                    check_row.messages += _messages(executed.get(test))
                result.exercises.append(check_row)
        return result


def _messages(cell) -> list[str]:
    """What a failing test cell said: the error's first line and its 'suspect:' hint."""
    if cell is None:
        return []
    hidden = cells.has_hidden_tests(cell.source)
    found = []
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            lines = [line.strip() for line in str(output.evalue).splitlines() if line.strip()]
            first = f"{output.ename}: {lines[0]}" if lines else output.ename
            hints = [line for line in lines[1:] if line.lower().startswith("suspect")]
            prefix = "hidden test" if hidden else "test"
            found.append(f"{prefix} {cells.grade_id(cell)}: {first}")
            found += [f"  {hint}" for hint in hints]
        elif output.output_type == "stream" and output.name == "stderr":
            found.append(f"{cells.grade_id(cell)} wrote to stderr: "
                         f"{output.text.strip().splitlines()[0][:200]}")
    return found


def format_result(result: CheckResult) -> str:
    if result.status not in ("graded", "flagged"):
        return f"{result.assignment}: could not be graded: {result.reason}\n"
    width = max([len("exercise")] + [len(e.name) for e in result.exercises])
    lines = [f"{'exercise':<{width}}  points  result"]
    earned = possible = 0.0
    for e in result.exercises:
        if e.points is None:
            lines.append(f"{e.name:<{width}}  {'?':>3}/{e.max_points:<2g}  graded by hand")
            continue
        earned += e.points
        possible += e.max_points
        verdict = "ok" if e.points == e.max_points else "FAILED"
        lines.append(f"{e.name:<{width}}  {e.points:>3g}/{e.max_points:<2g}  {verdict}")
        lines += [f"{'':<{width}}    {message}" for message in e.messages]
    lines.append(f"{'total':<{width}}  {earned:>3g}/{possible:<2g}  (automatically graded "
                 "points; written answers are graded by hand)")
    if result.issues:
        lines.append("")
        lines += [f"note: {issue}" for issue in result.issues]
    return "\n".join(lines) + "\n"
