"""grader.report.feedback without a kernel: what a page may hold, hints."""

from __future__ import annotations

import copy

import nbformat
from nbformat.v4 import new_output

from grader.core import cells
from grader.report.feedback import hints, student_view
from tests import harness

A = "01_tanh_derivatives"


# ----------------------------------------------------------------------------- feedback


def test_feedback_holds_only_the_students_own_outputs_and_no_hidden_test(source):
    """Nothing the grading kernel printed reaches the page: outputs come from the notebook as
    handed in, test cells lose their hidden part, a lost test gets the visible hints."""
    release = harness.read(harness.release_path(A))
    graded = copy.deepcopy(source)
    hidden = next(c for c in graded.cells if cells.grade_id(c) == "test_tanh_derivative_hidden")
    secret = next(line for line in cells.hidden_lines(hidden.source) if len(line.strip()) > 20)
    hidden.outputs = [new_output("stream", name="stdout", text=f"leaked: {secret}\n")]
    own = copy.deepcopy(release)
    visible = next(c for c in own.cells if cells.grade_id(c) == "test_tanh_derivative_visible")
    visible.outputs = [new_output("stream", name="stdout", text="my own run\n")]
    scores = {"test_tanh_derivative_visible": (0.0, 1.0), "test_tanh_derivative_hidden": (0, 2)}
    student_view(graded, own, scores, release)
    text = nbformat.writes(graded)
    assert "BEGIN HIDDEN" not in text and secret.strip() not in text and "leaked" not in text
    shown = next(c for c in graded.cells if cells.grade_id(c) == "test_tanh_derivative_visible")
    assert shown.outputs[0].text == "my own run\n"
    notes = [c.source for c in graded.cells if c.cell_type == "markdown"
             and "this test earned" in c.source]
    assert len(notes) == 2 and "tanh'(x) = 1 - tanh(x)**2" in notes[0]


def test_hints_are_read_from_the_checks_a_test_calls():
    code = 'checks.check_close(a, b, name="f", hint="first " "part")\nx = 1\nf(hint=2)\n'
    assert hints(code) == ["first part"]
