"""Every notebook's solution, graded in the sandbox, is neither flagged nor marked down.

The kernel's guard (grader.execute.kernel_guard) compares what the submission's kernel looks like
before every test cell with what it looked like before the first cell: whatever an honest
notebook's own libraries do on the way (torch wrapping its functions as parts of it load,
matplotlib registering its IPython hook, ipykernel's per-request state) must not read as tampering.
Notebooks change; this keeps the guard honest for all of them.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from grader.__main__ import main
from grader.core import repository
from grader.core.course import Course
from grader.record.gradebook import records
from tests import harness
from tests.test_sandbox import _require_sandbox

pytestmark = pytest.mark.xdist_group("sandbox-honest")

ASSIGNMENTS = repository.available_assignments()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _require_sandbox()
    root = tmp_path_factory.mktemp("course")
    (root / "grader").mkdir()
    for assignment in ASSIGNMENTS:
        shutil.copytree(harness.ROOT / "solutions" / assignment, root / "solutions" / assignment)
    assert main(["release", "--root", str(root)]) == 0
    for assignment in ASSIGNMENTS:
        release = harness.read(root / "notebooks" / assignment / f"{assignment}.ipynb")
        path = root / "grader" / "submitted" / "honest" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(harness.filled_release(assignment, release=release), str(path))
    main(["autograde", "--root", str(root), "--jobs", "2", "--no-progress"])
    return Course(root)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_is_graded_in_the_sandbox_without_a_flag(graded, assignment):
    from nbgrader.api import Gradebook

    record = records(graded)[("honest", assignment)]
    assert record.status == "graded", [str(i) for i in record.issues]
    with Gradebook(graded.db_url) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, "honest")
        lost = {g.name: (g.auto_score, g.max_score) for g in notebook.grades
                if g.auto_score is not None and g.auto_score < g.max_score}
    assert lost == {}
