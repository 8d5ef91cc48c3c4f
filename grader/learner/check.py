"""``check NOTEBOOK``: a learner grades their own notebook, hidden tests included, locally.

The notebook is graded exactly as an instructor's ``autograde`` would grade it (same worker,
same repairs and checks), in a throw-away course generated from ``solutions/``; nothing is
written to the course's gradebook. The exit status is 0 only when every automatically graded
point was earned, so ``check`` can gate a script (unlike ``nbgrader validate``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from grader.core import cells
from grader.core.course import Course

from .scoring import CheckResult, ExerciseCheck, messages, score

LEARNER = "me"


def guess_assignment(course: Course, notebook: Path) -> str:
    """The assignment a notebook belongs to: by its name, else by its cells' grade ids."""
    known = course.source_assignments()
    for assignment in sorted(known, key=len, reverse=True):
        if assignment in notebook.stem:
            return assignment

    def grade_ids(path: Path) -> set[str]:
        return {cells.grade_id(c) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}

    try:
        ids = grade_ids(notebook)
    except Exception as error:
        raise ValueError(f"cannot tell which assignment {notebook.name} is (it does not read as "
                         f"a notebook: {error}); pass --assignment") from None
    overlap = {a: len(ids & grade_ids(course.source / a / f"{a}.ipynb") - {None}) for a in known}
    best = max(overlap, key=overlap.get, default=None)
    if not best or not overlap[best]:
        raise ValueError(f"cannot tell which assignment {notebook.name} is; pass --assignment")
    return best


def _generate(course: Course, assignment: str) -> None:
    """``nbgrader generate_assignment`` in-process on a temporary course."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    from grader.core.repository import put_tools_on_path

    config = course.config()
    config.CourseDirectory.assignment_id = assignment
    converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    converter.force = True
    # A new gradebook asks the `alembic` command for its schema version: find this venv's.
    # (Not nbgrader.utils.setenv: it deletes the variable on the way out.)
    put_tools_on_path()
    outcome = capture_log(converter)
    if not outcome["success"]:
        raise RuntimeError(f"could not generate {assignment}:\n{outcome.get('error', '')}")


def check(notebook: Path, assignment: str | None = None, timeout: int | None = None,
          source: Course | None = None,
          on_exercise: Callable[[ExerciseCheck], None] | None = None) -> CheckResult:
    """Grade ``notebook`` against the visible and hidden tests of ``source`` (this course);
    ``on_exercise`` hears of each automatically graded exercise as soon as its tests have run
    (the final result, read from the gradebook, follows)."""
    import nbformat

    from grader.execute.autograde import autograde
    from grader.report.grades import collect_rows, exercise_layout

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
        summary = autograde(course, timeout=timeout, progress=False,
                            on_cell=_exercise_listener(course, assignment, on_exercise))
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
                    check_row.messages += messages(executed.get(test))
                result.exercises.append(check_row)
        return result


def _exercise_listener(course: Course, assignment: str,
                       on_exercise: Callable[[ExerciseCheck], None] | None):
    """An ``autograde`` ``on_cell`` callback that calls ``on_exercise`` once all the test cells
    of an exercise have run, scored by nbgrader's rules."""
    if on_exercise is None:
        return None
    source = json.loads((course.source / assignment / f"{assignment}.ipynb").read_text())
    points = {cells.grade_id(c): float(cells.nbgrader_meta(c).get("points", 0))
              for c in source["cells"] if cells.is_test(c)}
    hidden = {cells.grade_id(c) for c in source["cells"]
              if cells.has_hidden_tests("".join(c["source"]))}
    waiting = {e.name: set(e.tests) for e in cells.exercises(source)
               if not e.manual}
    found = {name: ExerciseCheck(name, 0.0, sum(points[t] for t in tests))
             for name, tests in waiting.items()}

    def heard(student: str, notebook: str, cell: dict) -> None:
        test = cell.get("grade_id")
        for name, tests in waiting.items():
            if test in tests:
                tests.discard(test)
                found[name].points += score(cell["outputs"], points[test])
                marker = "### BEGIN HIDDEN TESTS" if test in hidden else ""
                found[name].messages += messages({"source": marker, "outputs": cell["outputs"],
                                                  "metadata": {"nbgrader": {"grade_id": test}}})
                if not tests:
                    on_exercise(found[name])
    return heard


def format_line(exercise: ExerciseCheck, width: int = 0) -> str:
    """One exercise: its points and verdict, then its messages indented below."""
    if exercise.points is None:
        return f"{exercise.name:<{width}}  {'?':>3}/{exercise.max_points:<2g}  graded by hand"
    verdict = "ok" if exercise.points == exercise.max_points else "FAILED"
    lines = [f"{exercise.name:<{width}}  {exercise.points:>3g}/{exercise.max_points:<2g}  "
             f"{verdict}"]
    lines += [f"{'':<{width}}    {message}" for message in exercise.messages]
    return "\n".join(lines)


def format_result(result: CheckResult) -> str:
    if result.status not in ("graded", "flagged"):
        return f"{result.assignment}: could not be graded: {result.reason}\n"
    width = max([len("exercise")] + [len(e.name) for e in result.exercises])
    lines = [f"{'exercise':<{width}}  points  result"]
    lines += [format_line(e, width) for e in result.exercises]
    earned = sum(e.points for e in result.exercises if e.points is not None)
    possible = sum(e.max_points for e in result.exercises if e.points is not None)
    lines.append(f"{'total':<{width}}  {earned:>3g}/{possible:<2g}  (automatically graded "
                 "points; written answers are graded by hand)")
    if result.issues:
        lines.append("")
        lines += [f"note: {issue}" for issue in result.issues]
    return "\n".join(lines) + "\n"
