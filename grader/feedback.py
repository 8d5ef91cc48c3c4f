"""Feedback for students: one HTML file per student and assignment, without the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which every hidden test was
restored for grading, so its HTML shows the hidden test code and, in tracebacks, the very assert
line that failed (nbgrader issues #917 and #1363). Here the notebook passes through
:class:`HideHiddenTests` first:

- a test cell with a hidden part shows only its visible part; an error raised while its hidden
  part ran is reduced to one line naming the exception (an ``AssertionError``'s message is
  withheld too, since hidden checks may spell out their expected values); its printed output is
  withheld;
- in every other cell, traceback lines that repeat a hidden-test line are removed.

A first cell states the grader's verdict (flagged issues included), so a student learns why a
test they deleted was graded anyway. The written page renders its formulas offline (MathJax is
inlined, see :mod:`grader.mathjax`) and its score list names each line by its exercise.
"""

from __future__ import annotations

import re

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from nbgrader.utils import capture_log

from . import cells, mathjax
from .gradebook import Record, records
from .layout import Course
from .verdict import HAS_GRADES

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WITHHELD = "(the hidden tests' output is not shown)"


def _normal(line: str) -> str:
    return " ".join(_ANSI.sub("", line).split())


def secret_lines(sources: list[str], visible: list[str]) -> set[str]:
    """Normalised hidden-test lines that appear in no visible source (and say something)."""
    shown = {_normal(line) for text in visible for line in text.split("\n")}
    found = set()
    for source in sources:
        for line in cells.hidden_lines(source):
            normal = _normal(line)
            if len(normal) >= 4 and normal not in shown:
                found.add(normal)
    return found


def scrub_traceback(traceback: list[str], secrets: set[str]) -> list[str]:
    """Traceback entries without the lines that repeat a hidden-test line."""
    cleaned = []
    for entry in traceback:
        kept = [line for line in entry.split("\n")
                if not any(secret in _normal(line) for secret in secrets)]
        if any(_ANSI.sub("", line).strip() for line in kept):
            cleaned.append("\n".join(kept))
    return cleaned


def hide(nb, sources: list[str], visible: list[str]) -> None:
    """Apply the rules of the module docstring to ``nb`` in place."""
    secrets = secret_lines(sources, visible)
    for cell in nb.cells:
        if cells.has_hidden_tests(cell.source):
            cell.source = cells.strip_hidden_tests(cell.source)
            if cell.cell_type != "code":
                continue
            outputs = []
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    message = ("a hidden test failed" if output.ename == "AssertionError"
                               else output.evalue)
                    outputs.append(new_output("error", ename=output.ename, evalue=message,
                                              traceback=[f"{output.ename}: {message}"]))
                elif output.output_type == "stream" and not outputs:
                    outputs.append(new_output("stream", name="stdout", text=WITHHELD + "\n"))
            cell.outputs = outputs
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = scrub_traceback(output.traceback, secrets)


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback preprocessor: hide hidden tests (see the module docstring)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            sources = [c.source or "" for c in notebook.source_cells]
        visible = [cells.strip_hidden_tests(s) for s in sources]
        hide(nb, sources, visible)
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
    config.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades,
                                             CSSHTMLHeaderPreprocessor]
    converter = _Feedback(coursedir=CourseDirectory(config=config), config=config,
                          verdict=verdict_text(record))
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
    """GenerateFeedback that hands the grader's verdict to :class:`HideHiddenTests`."""

    def __init__(self, verdict: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self._verdict = verdict

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        resources["grader_verdict"] = self._verdict
        return resources
