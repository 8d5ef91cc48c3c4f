"""Fast mode and full size tell the same story.

Graded notebooks and their feedback run in fast mode, the course is read at full size, and the
prose between the cells quotes numbers that both print. Each claim the prose makes about those
numbers ("under one percent", "the error falls", "the exponent stays negative") is asserted by
the cell that prints them, so executing a notebook checks its prose. Fast mode is executed for
every notebook by tests/test_notebooks.py (test_solution_executes_cleanly); this module executes
at full size the notebooks whose full size takes seconds, not minutes (the others are timed by
``python -m benchmarks.notebook_runtime``).
"""

from __future__ import annotations

import pytest

from grader.core import repository
from tests import harness

FULL_SIZE_IN_SECONDS = ["01_tanh_derivatives", "02_jacobian_products", "03_eigenvalue_analysis",
                        "08_gradient_dashboard"]


@pytest.mark.parametrize("assignment", [
    pytest.param(a, marks=pytest.mark.xdist_group(a), id=a) for a in FULL_SIZE_IN_SECONDS
    if a in repository.available_assignments()])
def test_notebook_keeps_its_claims_at_full_size(assignment, tmp_path):
    nb = harness.execute(harness.read(harness.source_path(assignment)), tmp_path,
                         extra_env={"COURSE_FAST": "0"})
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert "mode=full" in "".join(o.get("text", "") for o in setup.outputs), \
        "the notebook did not run at full size"
    problems = [f"cell {index}: {error}" for index, cell in enumerate(nb.cells)
                if cell.cell_type == "code" for error in harness.errors(cell)]
    assert not problems, "at full size:\n" + "\n".join(problems)


def test_notebooks_assert_what_their_prose_claims():
    """The notebooks run here must actually assert claims, or this module would check nothing."""
    for assignment in FULL_SIZE_IN_SECONDS:
        cells = harness.read(harness.source_path(assignment)).cells
        claims = [c for c in cells if c.cell_type == "code" and not harness.is_test(c)
                  and "\nassert " in "\n" + c.source]
        assert claims, \
            f"{assignment}: no cell asserts a claim of the prose"
