"""Grades out of the gradebook: CSV files, a terminal summary and score-distribution plots.

Written to ``grader/reports/``:

- ``grades.csv``: one row per student and assignment: status, score, maximum, late penalty,
  cells still to grade by hand, and the grader's issues. A submission that could not be graded
  has status ``failed`` (or ``error``) and an EMPTY score, never 0; a student without a submission
  has status ``not submitted``.
- ``exercises.csv``: one row per student, assignment and exercise (an answer cell and the test
  cells below it): points and maximum; empty points while a hand-graded part is pending.
- ``<assignment>_scores.png``: for each exercise, how many students earned how many points.

Scores are nbgrader's: a manual grade overrides the automatic one.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from . import cells
from .gradebook import records
from .layout import Course
from .verdict import HAS_GRADES

NOT_SUBMITTED = "not submitted"


@dataclass
class Row:
    student: str
    assignment: str
    status: str
    score: float | None = None
    max_score: float = 0.0
    late_penalty: float = 0.0
    to_grade_by_hand: int = 0
    issues: list[str] = field(default_factory=list)
    exercises: dict[str, tuple[float | None, float]] = field(default_factory=dict)


def exercise_layout(course: Course, assignment: str) -> dict[str, list]:
    """notebook -> its exercises (from the released notebooks)."""
    import nbformat

    layout = {}
    for path in sorted((course.release / assignment).glob("*.ipynb")):
        layout[path.stem] = cells.exercises(nbformat.read(str(path), as_version=4))
    return layout


def collect_rows(course: Course) -> list[Row]:
    from nbgrader.api import Gradebook

    if course.db_path is not None and not course.db_path.exists():
        raise ValueError(f"no gradebook at {course.db_path}: run `python -m grader release` "
                         "first")
    verdicts = records(course)
    rows = []
    with Gradebook(course.db_url, course.config().CourseDirectory.course_id) as gb:
        students = sorted(s.id for s in gb.students)
        for assignment_name in course.released_assignments():
            assignment = gb.find_assignment(assignment_name)
            layout = exercise_layout(course, assignment_name)
            maximum = float(assignment.max_score)
            submitted = {s.student_id: s for s in assignment.submissions}
            for student in sorted(set(students) | {k[0] for k in verdicts
                                                   if k[1] == assignment_name}):
                record = verdicts.get((student, assignment_name))
                row = Row(student, assignment_name, NOT_SUBMITTED, max_score=maximum)
                if record is not None:
                    row.status = record.status
                    row.issues = [str(i) for i in record.issues]
                    if record.reason:
                        row.issues.insert(0, record.reason)
                elif student in submitted:
                    row.status = "graded"  # by nbgrader alone
                submission = submitted.get(student)
                if submission is not None and row.status in HAS_GRADES:
                    _fill_scores(row, submission, layout)
                rows.append(row)
    return rows


def _fill_scores(row: Row, submission, layout: dict[str, list]) -> None:
    penalty = 0.0
    pending = 0
    for notebook in submission.notebooks:
        grades = {g.name: g for g in notebook.grades}
        penalty += float(notebook.late_submission_penalty or 0.0)
        pending += sum(1 for g in notebook.grades if g.needs_manual_grade)
        for exercise in layout.get(notebook.name, []):
            names = [exercise.name] if exercise.manual else list(exercise.tests)
            chosen = [grades[n] for n in names if n in grades]
            # A cell waiting for a manual grade has no score yet (nbgrader would say 0).
            scores = [None if g.needs_manual_grade else g.score for g in chosen]
            points = None if any(s is None for s in scores) else float(sum(scores))
            key = exercise.name if len(layout) == 1 else f"{notebook.name}:{exercise.name}"
            row.exercises[key] = (points, float(sum(g.max_score for g in chosen)))
    total = float(submission.score) - penalty
    row.score = max(total, 0.0)
    row.late_penalty = penalty
    row.to_grade_by_hand = pending


def write_csv(rows: list[Row], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    grades, exercises = directory / "grades.csv", directory / "exercises.csv"
    with open(grades, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", "score", "max_score",
                         "late_penalty", "to_grade_by_hand", "issues"])
        for row in rows:
            writer.writerow([row.student, row.assignment, row.status, _number(row.score),
                             _number(row.max_score), _number(row.late_penalty),
                             row.to_grade_by_hand, " | ".join(row.issues)])
    with open(exercises, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "exercise", "points", "max_points", "status"])
        for row in rows:
            for name, (points, maximum) in row.exercises.items():
                writer.writerow([row.student, row.assignment, name, _number(points),
                                 _number(maximum), row.status])
    return grades, exercises


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def plot_distributions(rows: list[Row], directory: Path) -> list[Path]:
    """One PNG per assignment: a bar chart per exercise of the students per points earned."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    written = []
    for assignment in sorted({r.assignment for r in rows}):
        graded = [r for r in rows if r.assignment == assignment and r.exercises]
        if not graded:
            continue
        names = list(graded[0].exercises)
        columns = min(4, len(names))
        n_rows = -(-len(names) // columns)
        fig, axes = plt.subplots(n_rows, columns, figsize=(3.2 * columns, 2.6 * n_rows),
                                 squeeze=False, layout="constrained")
        for ax, name in zip(axes.flat, names, strict=False):
            maximum = graded[0].exercises[name][1]
            points = [r.exercises[name][0] for r in graded if r.exercises[name][0] is not None]
            steps = {float(v) for v in range(int(maximum) + 1)} if maximum <= 10 else set()
            values = sorted(set(points) | {0.0, maximum} | steps)
            ax.bar([f"{v:g}" for v in values], [points.count(v) for v in values],
                   color="tab:blue")
            pending = len(graded) - len(points)
            ax.set_title(name + (f"\n({pending} to grade by hand)" if pending else ""),
                         fontsize=9)
            ax.set_xlabel(f"points (of {maximum:g})", fontsize=8)
            ax.set_ylabel("students", fontsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.suptitle(f"{assignment}: points per exercise ({len(graded)} graded submissions)")
        path = directory / f"{assignment}_scores.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def summary_table(rows: list[Row]) -> str:
    """The terminal summary: per assignment, statuses and scores; per exercise, mean points and
    full marks; then every submission that needs a look."""
    lines = []
    for assignment in sorted({r.assignment for r in rows}):
        mine = [r for r in rows if r.assignment == assignment]
        counts = {status: sum(1 for r in mine if r.status == status)
                  for status in ("graded", "flagged", "failed", "error", NOT_SUBMITTED)}
        scores = [r.score for r in mine if r.score is not None]
        maximum = mine[0].max_score if mine else 0.0
        lines.append(f"{assignment}  (max {maximum:g} points)")
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        if scores:
            lines.append(f"  score: mean {statistics.mean(scores):.2f}, median "
                         f"{statistics.median(scores):g}, min {min(scores):g}, "
                         f"max {max(scores):g}")
        graded = [r for r in mine if r.exercises]
        if graded:
            width = max(len(n) for n in graded[0].exercises)
            lines.append(f"  {'exercise':<{width}}  {'mean':>6}  {'max':>4}  full marks")
            for name in graded[0].exercises:
                points = [r.exercises[name][0] for r in graded
                          if r.exercises[name][0] is not None]
                top = graded[0].exercises[name][1]
                if not points:
                    lines.append(f"  {name:<{width}}  {'-':>6}  {top:>4g}  to grade by hand")
                    continue
                full = sum(1 for p in points if p == top)
                pending = len(graded) - len(points)
                lines.append(f"  {name:<{width}}  {statistics.mean(points):>6.2f}  {top:>4g}"
                             f"  {full}/{len(points)}"
                             + (f"  ({pending} to grade by hand)" if pending else ""))
        attention = [r for r in mine if r.status not in ("graded", NOT_SUBMITTED)]
        for row in attention:
            lines.append(f"  {row.status.upper():8} {row.student}: "
                         + ("; ".join(row.issues) or "-"))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def report(course: Course) -> tuple[list[Row], list[Path], str]:
    rows = collect_rows(course)
    written = list(write_csv(rows, course.reports))
    written += plot_distributions(rows, course.reports)
    return rows, written, summary_table(rows)
