"""What a learner's check says, and how a test cell is scored: shared by ``check`` (a whole
notebook, graded by the worker) and ``check --exercise`` / ``progress`` (one kernel, see
:mod:`grader.learner.exercise`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.core import cells
from grader.core.policy import WARNING_STDERR_PATTERN


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
