"""What a learner's check says, and how a test cell is scored: shared by ``check`` (a whole
notebook, graded by the worker) and ``check --exercise`` / ``progress`` (one kernel, see
:mod:`grader.learner.exercise`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.core import cells
from grader.core.policy import WARNING_STDERR_PATTERN
from grader.core.verdict import HAS_GRADES

NOT_STARTED = "not started (the answer cell is still the released stub)"


def answer_note(answer: str, stub: str | None) -> str | None:
    """What both check modes say about an answer cell instead of its tests' errors: "not
    started" for the released stub, or the SyntaxError/IndentationError that stops it, with
    its line (otherwise the tests only report that the function is not defined)."""
    if stub is not None and answer.strip() == stub.strip():
        return NOT_STARTED
    try:
        compile(answer, "<answer cell>", "exec")
        return None
    except SyntaxError as error:  # IndentationError included
        problem = error
    try:  # perhaps only IPython's syntax (a magic): read it as the kernel does
        from IPython.core.inputtransformer2 import TransformerManager

        compile(TransformerManager().transform_cell(answer), "<answer cell>", "exec")
        return None
    except SyntaxError:
        pass
    line = (problem.text or "").strip()
    where = f"line {problem.lineno} of the answer cell" if problem.lineno else "the answer cell"
    return (f"the answer does not run: {type(problem).__name__}: {problem.msg} ({where}"
            + (f": {line[:120]}" if line else "") + ")")


def answer_notes(student: dict, release: dict | None, names: list[str]) -> dict[str, str]:
    """``answer_note`` for each of the exercises ``names`` (notebooks as plain JSON)."""
    def sources(nb):
        return {cells.grade_id(c): "".join(c["source"]) if isinstance(c["source"], list)
                else c["source"] for c in (nb or {}).get("cells", []) if cells.is_solution(c)}

    answers, stubs = sources(student), sources(release)
    notes = {}
    for name in names:
        if name in answers:
            note = answer_note(answers[name], stubs.get(name))
            if note:
                notes[name] = note
    return notes


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
        return self.status in HAS_GRADES and all(
            e.points == e.max_points for e in self.exercises if e.points is not None)


def messages(cell) -> list[str]:
    """What a failing test cell said: the error's first line and its 'suspect:' hint."""
    if cell is None:
        return []
    hidden = cells.has_hidden_tests(cell["source"])
    found = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "error":
            lines = [line.strip() for line in str(output["evalue"]).splitlines() if line.strip()]
            first = f"{output['ename']}: {lines[0]}" if lines else output["ename"]
            hints = [line for line in lines[1:] if line.lower().startswith("suspect")]
            prefix = "hidden test" if hidden else "test"
            found.append(f"{prefix} {cells.grade_id(cell)}: {first}")
            found += [f"  {hint}" for hint in hints]
        elif output["output_type"] == "stream" and output["name"] == "stderr":
            if re.search(WARNING_STDERR_PATTERN, output["text"]):
                continue  # dropped before grading (the course's IgnorePattern)
            found.append(f"{cells.grade_id(cell)} wrote to stderr: "
                         f"{output['text'].strip().splitlines()[0][:200]}")
    return found


def score(outputs: list[dict], points: float) -> float:
    """nbgrader's ``determine_grade`` for a test cell, after the course's IgnorePattern."""
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stderr" and re.search(
                WARNING_STDERR_PATTERN, output.get("text", "")):
            continue
        if kind == "error" or (kind == "stream" and output.get("name") == "stderr"):
            return 0.0
        if kind == "execute_result":
            value = output.get("data", {}).get("text/plain", "")
            value = "".join(value) if isinstance(value, list) else value
            try:
                value = float(value)
            except ValueError:
                return points
            return min(value, points) if value >= 0 else points  # nbgrader's oddities
    return points


def points_of(exercise: cells.Exercise, scores: dict[str, float | None]) -> float | None:
    """An exercise's points as nbgrader totals them: the sum of its test cells' scores (a test
    that did not run scores 0); None when it is graded by hand or a score is missing. ``check``
    passes nbgrader's scores, ``check --exercise`` those of :func:`score`."""
    if exercise.manual:
        return None
    found = [scores.get(test, 0.0) for test in exercise.tests]
    return None if any(s is None for s in found) else float(sum(found))


def max_points_of(exercise: cells.Exercise, points: dict[str, float]) -> float:
    """What ``exercise`` is worth, from ``points`` (grade cell -> its points)."""
    names = [exercise.name] if exercise.manual else list(exercise.tests)
    return float(sum(points[n] for n in names if n in points))


def cell_points(nb) -> dict[str, float]:
    """Grade cell -> the points it is worth, from a notebook's nbgrader metadata."""
    return {cells.grade_id(c): float(cells.nbgrader_meta(c).get("points", 0))
            for c in nb["cells"] if cells.is_grade(c)}
