import json

import nbformat
import pytest

from grader.author import scripts as authoring
from grader.core import repository
from tests import harness


def comparable(nb):
    data = json.loads(json.dumps(nb))
    for cell in data["cells"]:
        cell.pop("id", None)
    return data


@pytest.mark.parametrize("assignment", repository.available_assignments())
def test_export_then_build_gives_back_the_source_notebook(assignment):
    source = harness.read(harness.source_path(assignment))
    rebuilt = authoring.build(authoring.export(source))
    assert comparable(rebuilt)["cells"] == comparable(source)["cells"]


def test_build_reads_every_cell_kind():
    script = "\n".join([
        "# %% [markdown]", "# # Title", "#", "# text",
        "# %% [setup]", "import numpy as np",
        "# %% [solution] id=f", "def f(x):", "    ### BEGIN SOLUTION", "    return x",
        "    ### END SOLUTION",
        "# %% [tests] id=test_f points=2", "assert f(1) == 1",
        "# %% [free] id=essay points=3", "### BEGIN SOLUTION", "# model answer",
        "### END SOLUTION",
        "# %%", "print(f(2))",
    ])
    nb = authoring.build(script)
    nbformat.validate(nb)
    kinds = [(c.cell_type, c.metadata.get("nbgrader", {}).get("grade_id")) for c in nb.cells]
    assert kinds == [("markdown", None), ("code", "setup"), ("code", "f"), ("code", "test_f"),
                     ("markdown", "essay"), ("code", None)]
    assert nb.cells[0].source == "# Title\n\ntext"
    assert nb.cells[3].metadata.nbgrader.points == 2 and nb.cells[3].metadata.nbgrader.locked
    assert nb.cells[4].source == "### BEGIN SOLUTION\nmodel answer\n### END SOLUTION"


@pytest.mark.parametrize(("script", "message"), [
    ("# %% [tests] id=t\nassert True", "points"),
    ("# %% [solution]\nx = 1", "id="),
    ("# %% [bogus]\nx = 1", "unknown cell kind"),
    ("x = 1\n# %%\ny = 2", "before the first"),
])
def test_build_rejects_malformed_scripts(script, message):
    with pytest.raises(ValueError, match=message):
        authoring.build(script)
