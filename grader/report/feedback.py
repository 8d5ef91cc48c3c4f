"""Feedback for students: one HTML file per student and assignment, that cannot carry the hidden
tests by construction.

nbgrader's ``generate_feedback`` renders the autograded notebook: every hidden test was restored
for grading, so its HTML shows the hidden test code and, in tracebacks, the very assert line that
failed (nbgrader issues #917 and #1363); and every output the grading kernel produced, which a
submission can fill with anything it read while the hidden tests ran (their source through
frames or ``linecache``, ``In``). Cleaning those outputs is a race against the submission's
ingenuity; here nothing the grading kernel printed reaches the page. :class:`StudentView` builds
the page from

- the cells' sources, hidden tests removed (``### BEGIN/END HIDDEN TESTS``);
- the outputs the student's own notebook held when it was handed in (the student ran it, without
  the hidden tests), matched cell by cell;
- the points of each test, from the gradebook (numbers the grader stored);
- for each test that lost points, what to check: the ``hint=`` texts of that exercise's visible
  tests, read from the released notebook (instructor-written, already public);
- a first cell with the grader's verdict (flagged issues included), so a student learns why a test
  they deleted was graded anyway.

The written page renders its formulas offline (MathJax is inlined, see :mod:`grader.report.mathjax`)
and its score list names each line by its exercise.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from nbgrader.utils import capture_log

from grader.core import cells
from grader.core.course import Course
from grader.core.verdict import HAS_GRADES
from grader.record.gradebook import Record, records

from . import mathjax


def hints(source: str) -> list[str]:
    """The ``hint=`` strings of the checks a (visible) test cell calls."""
    tree = cells.parse_cell(source)
    found = []
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "hint" and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str):
                    found.append(keyword.value.value)
    return found


def handed_in(directory: Path, notebook: str) -> nbformat.NotebookNode | None:
    """The student's notebook as handed in (under any name, if it is the only one), or None."""
    path = directory / f"{notebook}.ipynb"
    if not path.is_file():
        found = sorted(directory.glob("*.ipynb"))
        path = found[0] if len(found) == 1 else None
    if path is None:
        return None
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError,
            KeyError, TypeError, AttributeError):
        return None


def _key(cell) -> str:
    return cells.grade_id(cell) or f"id:{cell.get('id')}"


def student_view(nb, own: nbformat.NotebookNode | None, scores: dict[str, tuple[float, float]],
                 release: nbformat.NotebookNode) -> None:
    """Rebuild ``nb`` (the autograded notebook) in place as the module docstring says.
    ``scores``: grade cell -> (points, max points)."""
    outputs = {}
    for cell in own.cells if own is not None else ():
        if cell.get("cell_type") == "code":
            outputs.setdefault(_key(cell), (cell.get("outputs", []), cell.get("execution_count")))
    advice = {}
    for exercise in cells.exercises(release):
        sources = {cells.grade_id(c): c.source for c in release.cells}
        advice[exercise.name] = [h for test in exercise.tests for h in hints(sources.get(test, ""))]
    test_exercise = {test: e.name for e in cells.exercises(release) for test in e.tests}
    rebuilt = []
    for cell in nb.cells:
        if cells.has_hidden_tests(cell.source):
            cell.source = cells.strip_hidden_tests(cell.source)
        rebuilt.append(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = outputs.get(_key(cell), ([], None))
        name = cells.grade_id(cell)
        if name in scores and cells.is_test(cell):
            got, most = scores[name]
            if got is not None and got < most:
                rebuilt.append(_lost_points(test_exercise.get(name, name), got, most,
                                            advice.get(test_exercise.get(name), [])))
    nb.cells = rebuilt


def _lost_points(exercise: str, got: float, most: float, advice: list[str]):
    lines = [f"**{exercise}: this test earned {got:g} of {most:g} points.**"]
    if advice:
        lines += ["", "What to check (from the exercise's visible tests):", ""]
        lines += [f"- {text}" for text in dict.fromkeys(advice)]
    return new_markdown_cell("\n".join(lines))


class StudentView(NbGraderPreprocessor):
    """Feedback preprocessor: the page built only from what the grader controls (see the module
    docstring)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            graded = gradebook.find_submission_notebook(info["notebook"], info["assignment"],
                                                        info["student"])
            scores = {g.name: (g.score, g.max_score) for g in graded.grades}
        own = handed_in(Path(resources["grader_submitted"]), info["notebook"])
        release = nbformat.read(str(Path(resources["grader_release"]) / f"{info['notebook']}.ipynb"),
                                as_version=4)
        student_view(nb, own, scores, release)
        verdict = resources.get("grader_verdict")
        if verdict:
            nb.cells.insert(0, new_markdown_cell(verdict))
        return nb, resources


def verdict_text(record: Record) -> str | None:
    if not record.issues:
        return None
    heading = ("**Flagged for review by your instructor.**" if record.status == "flagged"
               else "**Notes from the grader.**")
    lines = [heading, ""] + [f"- {issue.message}" for issue in record.issues]
    return "\n".join(lines)


def generate(course: Course, students: list[str] | None = None,
             assignments: list[str] | None = None) -> tuple[list, list[tuple[str, str, str]]]:
    """Write feedback for every graded submission (or the chosen ones); return the HTML files
    written and the (student, assignment, why) of those that got none."""
    written, skipped = [], []
    for (student, assignment), record in sorted(records(course).items()):
        if (students and student not in students) or (assignments
                                                      and assignment not in assignments):
            continue
        if record.status not in HAS_GRADES:
            skipped.append((student, assignment, f"not graded ({record.status})"))
            continue
        if not course.autograded_dir(student, assignment).is_dir():
            skipped.append((student, assignment, "no autograded notebook"))
            continue
        error = _render(course, student, assignment, record)
        if error:
            skipped.append((student, assignment, error))
            continue
        written += sorted(course.feedback_dir(student, assignment).glob("*.html"))
    return written, skipped


def _render(course: Course, student: str, assignment: str, record: Record) -> str | None:
    config = course.config()
    config.CourseDirectory.student_id = student
    config.CourseDirectory.assignment_id = assignment
    config.GenerateFeedback.preprocessors = [StudentView, GetGrades, CSSHTMLHeaderPreprocessor]
    converter = _Feedback(coursedir=CourseDirectory(config=config), config=config,
                          verdict=verdict_text(record),
                          submitted=course.submission_dir(student, assignment),
                          release=course.release / assignment)
    converter.force = True
    outcome = capture_log(converter)
    if not outcome["success"]:
        lines = [line for line in outcome.get("error", "").splitlines() if line.strip()]
        return "nbgrader could not render it: " + (lines[-1] if lines else "unknown error")
    for page in course.feedback_dir(student, assignment).glob("*.html"):
        graded = course.autograded_dir(student, assignment) / f"{page.stem}.ipynb"
        labels = (score_labels(nbformat.read(str(graded), as_version=4))
                  if graded.is_file() else {})
        page.write_text(mathjax.offline(name_scores(page.read_text(encoding="utf-8"), labels)),
                        encoding="utf-8")
    return None


def score_labels(nb) -> dict[str, str]:
    """What the score list calls each graded cell (by grade_id): its exercise and what kind of
    test it is, e.g. "tanh_derivative — hidden tests"."""
    sources = {cells.grade_id(c): c.source for c in nb.cells}
    labels = {}
    for exercise in cells.exercises(nb):
        if exercise.manual:
            labels[exercise.name] = f"{exercise.name} — written answer"
        for test in exercise.tests:
            source = sources.get(test, "")
            shown = [line for line in cells.strip_hidden_tests(source).splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
            kind = ("visible and hidden tests" if shown else "hidden tests") \
                if cells.has_hidden_tests(source) else "visible tests"
            labels[test] = f"{exercise.name} — {kind}"
    return labels


_SCORE_LINE = re.compile(r'<li><a href="#(?P<id>[^"]+)">[^<]*</a>\s*'
                         r'\(Score: (?P<score>[-\d.]+) / (?P<points>[\d.]+)\)</li>')


def name_scores(html: str, labels: dict[str, str]) -> str:
    """The page's score list with each line named by ``labels`` ("Test cell (Score: 2.0 / 2.0)"
    becomes "tanh_derivative — hidden tests: 2/2")."""
    def named(match: re.Match) -> str:
        label = labels.get(match["id"])
        if label is None:
            return match[0]
        return (f'<li><a href="#{match["id"]}">{label}</a>: '
                f'{float(match["score"]):g}/{float(match["points"]):g}</li>')
    return _SCORE_LINE.sub(named, html)


class _Feedback(GenerateFeedback):
    """GenerateFeedback that hands :class:`StudentView` the grader's verdict and where the
    student's own notebook and the release are."""

    def __init__(self, verdict: str | None, submitted: Path, release: Path, **kwargs):
        super().__init__(**kwargs)
        self._extra = {"grader_verdict": verdict, "grader_submitted": str(submitted),
                       "grader_release": str(release)}

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        resources.update(self._extra)
        return resources
