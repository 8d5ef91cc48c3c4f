"""Fixtures the grader's unit tests share: notebook 01 as written, as released, and what the
gradebook registers for it."""

from __future__ import annotations

import pytest

from grader.core import cells
from grader.prepare import inspection
from tests import harness

A = "01_tanh_derivatives"


@pytest.fixture(scope="module")
def source():
    return harness.read(harness.source_path(A))


@pytest.fixture(scope="module")
def release():
    return harness.read(harness.release_path(A))


@pytest.fixture(scope="module")
def reference(source, release):
    """What the gradebook registers for notebook 01, read from the notebooks themselves."""
    released = {cells.grade_id(c): c for c in release.cells if cells.grade_id(c)}
    found = {}
    for cell in source.cells:
        meta = cells.nbgrader_meta(cell)
        if not meta:
            continue
        name = meta["grade_id"]
        text = released[name].source if meta.get("solution") else cell.source
        found[name] = inspection.ReferenceCell(
            name, cell.cell_type, bool(meta.get("locked")), text, grade=bool(meta.get("grade")),
            solution=bool(meta.get("solution")), points=meta.get("points"))
    return inspection.Reference(A, found, release)
