"""grader.prepare.inspection: repairing locked cells, scanning the code."""

from __future__ import annotations

import copy

import pytest
from nbformat.v4 import new_code_cell

from grader.core import cells
from grader.prepare import inspection
from tests import harness

A = "01_tanh_derivatives"


# ----------------------------------------------------------------------------- repair


def filled(release):
    return harness.filled_release(A, release=release)


def test_an_untouched_submission_needs_no_repair(release, reference):
    nb, issues = inspection.repair(filled(release), reference)
    assert issues == []
    assert [c.source for c in nb.cells] == [c.source for c in filled(release).cells]


def test_edited_and_deleted_cells_are_reported_one_line_each(release, reference):
    nb = filled(release)
    for cell in nb.cells:
        if cells.grade_id(cell) == "test_relu_derivative_visible":
            cell.source = "pass"
        if cells.grade_id(cell) == "test_tanh_derivative_visible":
            cell.metadata.nbgrader["points"] = 100
    nb.cells = [c for c in nb.cells if cells.grade_id(c) not in ("test_central_difference_hidden",
                                                                 "setup")]
    repaired, issues = inspection.repair(nb, reference)
    messages = sorted(i.message for i in issues)
    assert messages == [
        "locked cell 'setup' was deleted; it was put back and graded",
        "test cell 'test_central_difference_hidden' was deleted; it was put back and graded",
        "test cell 'test_relu_derivative_visible' was edited; the original was restored and "
        "graded",
        "test cell 'test_tanh_derivative_visible' had its points changed from 1 to 100; the "
        "original was restored and graded",
    ]
    assert all(i.flag and i.kind == "tampered" for i in issues)
    order = [cells.grade_id(c) for c in repaired.cells if cells.grade_id(c)]
    assert order == [cells.grade_id(c) for c in release.cells if cells.grade_id(c)]
    restored = next(c for c in repaired.cells
                    if cells.grade_id(c) == "test_central_difference_hidden")
    assert restored.metadata.nbgrader["points"] == 2 and restored.metadata.nbgrader["locked"]
    assert "BEGIN HIDDEN" not in restored.source
    tanh = next(c for c in repaired.cells if cells.grade_id(c) == "test_tanh_derivative_visible")
    assert tanh.metadata.nbgrader["points"] == 1


def test_copied_test_cell_loses_its_role_and_a_deleted_answer_is_noted(release, reference):
    nb = filled(release)
    test = next(c for c in nb.cells if cells.grade_id(c) == "test_tanh_derivative_visible")
    nb.cells.append(copy.deepcopy(test))
    nb.cells = [c for c in nb.cells if cells.grade_id(c) != "relu_derivative"]
    repaired, issues = inspection.repair(nb, reference)
    kinds = sorted((i.kind, i.flag) for i in issues)
    assert kinds == [("deleted", False), ("tampered", True)]
    ids = [cells.grade_id(c) for c in repaired.cells]
    assert ids.count("test_tanh_derivative_visible") == 1


def test_blank_means_every_answer_is_still_the_stub(release, reference):
    assert inspection.is_blank(copy.deepcopy(release), reference)
    assert not inspection.is_blank(filled(release), reference)

# ----------------------------------------------------------------------------- scan


def scanned(release, reference, code: str) -> list[str]:
    nb = filled(release)
    nb.cells.append(new_code_cell(code))
    return [i.message for i in inspection.scan(nb, reference)]


@pytest.mark.parametrize(("code", "expected"), [
    ("np.allclose = lambda *a, **k: True", "replaces numpy.allclose"),
    ("import numpy\nnumpy.testing.assert_allclose = print", "replaces numpy.testing"),
    ("torch.testing.assert_close = lambda *a, **k: None", "replaces torch.testing.assert_close"),
    ("import builtins\nbuiltins.isinstance = lambda *a: True", "replaces builtins.isinstance"),
    ("__builtins__.abs = lambda v: 0", "replaces builtins.abs"),
    ("setattr(np, 'isclose', lambda *a, **k: True)", "sets an attribute by name on numpy"),
    ("from course_utils import checks as c\nc.check_close = print",
     "replaces course_utils.checks.check_close"),
    ("def print(*args):\n    pass", "rebinds print"),
    ("np = None", "rebinds np"),
    ("import math as np", "rebinds np"),
    ("np.seterr(all='ignore')", "numpy.seterr"),
    ("import warnings\nwarnings.filterwarnings('ignore')", "warning filters"),
    ("exec('x = 1')", "runs code from a string"),
    ("import sys\nsys.modules['numpy'] = None", "writes into sys.modules"),
    ("from unittest import mock\nmock.patch('numpy.allclose').start()", "patches objects"),
])
def test_scan_flags_monkeypatching(release, reference, code, expected):
    found = scanned(release, reference, code)
    assert any(expected in message for message in found), found


@pytest.mark.parametrize("code", [
    "import numpy as np\nimport torch",
    "rng = np.random.default_rng(0)\nvalues = np.abs(rng.normal(size=3))",
    "def helper(x):\n    len = 3\n    return x * len",
    "with np.errstate(over='ignore'):\n    big = np.exp(np.array([1000.0]))",
    "plt.rcParams['figure.dpi'] = 80",
    "%matplotlib inline\nprint(tanh_derivative(0.0))",
    "torch.manual_seed(0)",
])
def test_scan_leaves_ordinary_code_alone(release, reference, code):
    assert scanned(release, reference, code) == []


def test_scan_ignores_the_course_own_cells(release, reference):
    assert inspection.scan(filled(release), reference) == []
