"""Grades out of the gradebook: CSV files, a terminal summary and score-distribution plots.

Written to ``grader/reports/``:

- ``grades.csv``: one row per student and assignment: status, score, maximum, late penalty,
  submission time and lateness, cells still to grade by hand, and the grader's issues. A submission that could not be graded
  has status ``failed`` (or ``error``) and an EMPTY score, never 0; a student without a submission
  has status ``not submitted``.
- ``exercises.csv``: one row per student, assignment and exercise (an answer cell and the test
  cells below it): points and maximum; empty points while a hand-graded part is pending.
- ``<assignment>_scores.png``: for each exercise, how many students earned how many points.

Scores are nbgrader's: a manual grade overrides the automatic one.

``report --lms canvas|moodle`` also writes the scores as the LMS's gradebook import reads them
(see :func:`write_lms_csv`).
"""

from __future__ import annotations

import csv
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import cells
from grader.core.course import Course
from grader.core.verdict import HAS_GRADES
from grader.prepare.collect import LMS_LATE
from grader.record.gradebook import records

NOT_SUBMITTED = "not submitted"


@dataclass
class Row:
    student: str
    assignment: str
    status: str
    score: float | None = None
    max_score: float = 0.0
    late_penalty: float = 0.0
    submitted_at: str | None = None  # UTC, from nbgrader's timestamp.txt
    late: str = ""  # how late (after release --due), or what the LMS said
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
                if not row.late and (course.submission_dir(student, assignment_name)
                                     / LMS_LATE).exists():
                    row.late = "late per the LMS (time unknown)"
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
    if submission.timestamp is not None:
        row.submitted_at = f"{submission.timestamp:%Y-%m-%d %H:%M:%S} UTC"
        seconds = submission.total_seconds_late
        if seconds > 0:
            hours, minutes = divmod(round(seconds / 60), 60)
            row.late = f"{hours}h {minutes:02d}m"


def write_csv(rows: list[Row], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    grades, exercises = directory / "grades.csv", directory / "exercises.csv"
    with open(grades, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", "score", "max_score",
                         "late_penalty", "submitted_at", "late", "to_grade_by_hand", "issues"])
        for row in rows:
            writer.writerow([row.student, row.assignment, row.status, _number(row.score),
                             _number(row.max_score), _number(row.late_penalty),
                             row.submitted_at or "", row.late, row.to_grade_by_hand,
                             " | ".join(row.issues)])
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


# ----------------------------------------------------------------------------- LMS gradebooks

# Canvas: "Student, ID, SIS User ID, SIS Login ID, Section", then a column per assignment; rows
# are matched on ID, SIS User ID or SIS Login ID (Canvas's guide "How do I import grades in the
# Gradebook?"). Moodle: an identifier column and a column per grade item, both mapped when the
# file is imported (Moodle Docs, "Grade import", CSV import).
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_ID_COLUMN = "ID number"
LMS_FILES = {"canvas": "canvas_import.csv", "moodle": "moodle_import.csv"}


def _canvas_name(name: str) -> str:
    """A display name as Canvas spells it in its submission file names (lower case, letters
    and digits only): "Doe, Jane" -> "doejane"."""
    return re.sub(r"[^\w]", "", name).replace("_", "").lower()


def read_roster(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The students of Canvas's own gradebook export (Grades > Export), the rows that say who
    they are; its "Points Possible" row and assignment columns are not needed."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CANVAS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"--roster: {Path(path).name} is not a Canvas gradebook export: "
                             f"no column {', '.join(missing)}")
        rows = [r for r in reader if (r.get("Student") or "").strip()
                and "Points Possible" not in r["Student"]]
        return rows, list(reader.fieldnames)


def write_lms_csv(rows: list[Row], lms: str, directory: Path, roster: Path | None = None
                  ) -> tuple[Path, list[str]]:
    """The scores as ``lms``'s gradebook import reads them; returns the file and warnings.

    A score goes in only when it is final: a submission that failed to grade, or that still
    has cells to grade by hand, gets an empty cell (the LMS then leaves that grade alone)."""
    if lms not in LMS_FILES:
        raise ValueError(f"--lms must be one of {', '.join(LMS_FILES)}, not {lms!r}")
    warnings = []
    assignments = sorted({r.assignment for r in rows})
    scores: dict[str, dict[str, str]] = {}
    pending = []
    for row in rows:
        final = row.status in HAS_GRADES and row.score is not None and not row.to_grade_by_hand
        if row.status in HAS_GRADES and row.to_grade_by_hand:
            pending.append(f"{row.student}/{row.assignment}")
        scores.setdefault(row.student, {})[row.assignment] = _number(row.score) if final else ""
    if pending:
        warnings.append(f"left empty until graded by hand: {', '.join(pending)}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LMS_FILES[lms]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if lms == "moodle":
            writer.writerow([MOODLE_ID_COLUMN, *assignments])
            for student in sorted(scores):
                writer.writerow([student, *(scores[student].get(a, "") for a in assignments)])
            return path, warnings
        people, headers = read_roster(roster) if roster else ([], [])
        # Canvas matches an assignment column by its exported title, "Name (id)".
        titles = {a: next((h for h in headers if h.startswith(a)), a) for a in assignments}
        writer.writerow([*CANVAS_COLUMNS, *(titles[a] for a in assignments)])
        for student in sorted(scores):
            person = _roster_entry(people, student)
            if roster and person is None:
                warnings.append(f"{student} is not in the roster {Path(roster).name}: left out")
                continue
            if person is None:  # our id is Canvas's user id (collect --pattern canvas) or login
                person = {"ID": student} if student.isdigit() else {"SIS Login ID": student}
            writer.writerow([*(person.get(c, "") for c in CANVAS_COLUMNS),
                             *(scores[student].get(a, "") for a in assignments)])
    return path, warnings


def _roster_entry(people: list[dict[str, str]], student: str) -> dict[str, str] | None:
    for person in people:
        keys = {person.get("ID", ""), person.get("SIS User ID", ""),
                person.get("SIS Login ID", ""), _canvas_name(person.get("Student", ""))}
        if student in keys:
            return person
    return None


def report(course: Course, lms: str | None = None, roster: Path | None = None
           ) -> tuple[list[Row], list[Path], str]:
    rows = collect_rows(course)
    written = list(write_csv(rows, course.reports))
    written += plot_distributions(rows, course.reports)
    summary = summary_table(rows)
    if lms:
        path, warnings = write_lms_csv(rows, lms, course.reports, roster)
        written.append(path)
        summary += "".join(f"{lms}: {warning}\n" for warning in warnings)
    return rows, written, summary
