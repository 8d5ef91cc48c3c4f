"""`python -m grader check NOTEBOOK`: a learner grades their own notebook, hidden tests included."""

from __future__ import annotations

import contextlib
import io
import re

import nbformat
import pytest

from grader.__main__ import main
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES

pytestmark = pytest.mark.xdist_group("grader-check")

A = "01_tanh_derivatives"


def check(path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(path)])
    return code, out.getvalue()


def test_a_complete_notebook_passes(tmp_path):
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(harness.filled_release(A), str(path))
    code, text = check(path)
    assert code == 0, text
    for exercise in ("tanh_derivative", "sigmoid_derivative", "relu_derivative",
                     "central_difference", "fraction_saturated"):
        assert re.search(rf"^{exercise}\s+3/3\s+ok$", text, re.MULTILINE), text
    assert re.search(r"^free_response_saturation\s+\?/2\s+graded by hand$", text, re.MULTILINE)
    assert re.search(r"^total\s+16/16", text, re.MULTILINE), text


def test_hidden_test_failures_are_reported_per_exercise(tmp_path):
    """A fraction_saturated that ignores its threshold passes the visible test (default
    threshold) and fails only the hidden one; a central difference that ignores eps fails both,
    and the visible test says what to suspect."""
    saturated = EXERCISES["fraction_saturated"].wrong["threshold ignored"]
    wrong = EXERCISES["central_difference"].wrong["ignores eps"]
    nb = harness.filled_release(A, {"central_difference": wrong, "fraction_saturated": saturated})
    path = tmp_path / "my attempt.ipynb"  # any name: the cells say which assignment it is
    nbformat.write(nb, str(path))
    code, text = check(path)
    assert code == 1, text
    assert re.search(r"^fraction_saturated\s+1/3\s+FAILED\n\s+hidden test "
                     r"test_fraction_saturated_hidden: AssertionError", text, re.MULTILINE), text
    assert re.search(r"^central_difference\s+0/3\s+FAILED$", text, re.MULTILINE), text
    assert "suspect:  the eps argument is ignored" in text
    assert re.search(r"^tanh_derivative\s+3/3\s+ok$", text, re.MULTILINE)
    assert re.search(r"^total\s+11/16", text, re.MULTILINE), text


def test_an_unreadable_notebook_is_not_graded(tmp_path):
    path = tmp_path / f"{A}.ipynb"
    path.write_text('{"cells": [')
    code, text = check(path)
    assert code == 1
    assert "could not be graded" in text and "invalid JSON" in text
