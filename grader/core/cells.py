"""Reading nbgrader notebooks: cell roles, exercises, hidden-test regions, code as Python."""

from __future__ import annotations

import ast
from dataclasses import dataclass

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_grade(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_test(cell) -> bool:
    """An autograded test cell: a graded code cell that is not also an answer."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def has_hidden_tests(source: str) -> bool:
    return HIDDEN_BEGIN in source


def strip_hidden_tests(source: str) -> str:
    """The source with its hidden-test regions (delimiter lines included) removed, line for line
    what nbgrader's ClearHiddenTests releases; an unclosed region runs to the end."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def hidden_lines(source: str) -> list[str]:
    """The lines inside hidden-test regions, delimiters included."""
    lines, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        if hidden:
            lines.append(line)
        if HIDDEN_END in line:
            hidden = False
    return lines


@dataclass(frozen=True)
class Exercise:
    """A graded exercise: its answer cell and the test cells that follow it."""

    name: str  # the answer (solution) cell's grade_id
    tests: tuple[str, ...]  # grade_ids of its autograded test cells
    manual: bool  # graded by hand (a written answer)


def exercises(nb) -> list[Exercise]:
    """Exercises in notebook order. A test cell belongs to the closest answer cell above it; a
    graded answer cell (free response) is an exercise graded by hand. ``nb`` may be an nbformat
    notebook or the plain JSON of one."""
    found: list[Exercise] = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if is_solution(cell):
            found.append(Exercise(meta["grade_id"], (), manual=is_grade(cell)))
        elif is_test(cell):
            if not found:
                found.append(Exercise(meta["grade_id"], (), manual=False))
            last = found[-1]
            found[-1] = Exercise(last.name, (*last.tests, meta["grade_id"]), last.manual)
    return [e for e in found if e.tests or e.manual]


def python_source(source: str) -> str:
    """Cell source as plain Python: IPython magics and shell escapes become ordinary calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parse_cell(source: str) -> ast.Module | None:
    """The cell as a Python syntax tree, or None when it does not parse."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    try:  # magics and shell escapes are not Python until IPython rewrites them
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None


def label(index: int, cell) -> str:
    """How a message names a cell: ``cell 3 (grade_id)``, counting from 1."""
    name = grade_id(cell)
    return f"cell {index + 1} ({name})" if name else f"cell {index + 1}"
