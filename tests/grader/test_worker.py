"""grader.execute.worker: what a worker refuses, and how it names a grader error."""

from __future__ import annotations

import copy

import nbformat
from nbformat.v4 import new_code_cell

A = "01_tanh_derivatives"

def test_a_notebook_with_too_many_cells_is_refused_with_the_reason(tmp_path, release, reference):
    """Tens of thousands of cells cost minutes of grading: refused above the documented cap."""
    from grader.core.policy import MAX_CELLS
    from grader.execute.worker import _place_submission

    nb = copy.deepcopy(release)
    nb.cells += [new_code_cell("") for _ in range(30_000)]
    source = tmp_path / "submitted"
    source.mkdir()
    nbformat.write(nb, str(source / f"{A}.ipynb"))
    placed, _, reason = _place_submission(source, tmp_path / "target", {A: reference})
    assert placed == []
    assert reason == (f"{A}.ipynb has {len(nb.cells):,} cells, more than the {MAX_CELLS:,} a "
                      f"notebook may have (the released one has {len(release.cells)}); it was "
                      "not graded")

    nb.cells = nb.cells[:MAX_CELLS]  # at the cap: graded as usual
    nbformat.write(nb, str(source / f"{A}.ipynb"))
    placed, _, reason = _place_submission(source, tmp_path / "target2", {A: reference})
    assert (placed, reason) == ([A], None)


NBGRADER_LOG = """[INFO] Converting notebook 01_tanh_derivatives.ipynb
[ERROR] There was an error processing assignment: /tmp/x/autograded/me/01_tanh_derivatives
[ERROR] Traceback (most recent call last):
  File "nbgrader/converters/base.py", line 402, in convert_notebooks
    self.convert_single_notebook(notebook_filename)
  File "jupyter_client/manager.py", line 98, in wrapper
    raise RuntimeError("Kernel died before replying to kernel_info")
RuntimeError: Kernel died before replying to kernel_info

[ERROR] There was an error processing assignment '01_tanh_derivatives' for student 'me'
[ERROR] Please see the the above traceback for details on the specific errors on the above failures.
Traceback (most recent call last):
nbgrader.converters.base.NbGraderException: Please see the the above traceback for details
"""


def test_a_grader_error_names_its_real_cause_and_the_kernel_s_last_words_at_start():
    from grader.execute.worker import failure_cause

    startup = ("Traceback (most recent call last):\n  File \"kernel_guard.py\"\n"
               "ModuleNotFoundError: No module named 'course_utils'\n")
    reason = failure_cause(NBGRADER_LOG, {"startup": startup, "cells_started": False})
    assert reason.startswith("RuntimeError: Kernel died before replying to kernel_info")
    assert "No module named 'course_utils'" in reason
    assert "above traceback" not in reason


def test_once_submission_code_ran_no_kernel_text_reaches_the_reason():
    from grader.execute.worker import failure_cause

    log = NBGRADER_LOG.replace("RuntimeError: Kernel died before replying to kernel_info",
                               "KeyError: 'x0000617373657274'")
    reason = failure_cause(log, {"startup": "", "cells_started": True})
    assert reason.startswith("KeyError after the submission's code had started")
    assert "x0000" not in reason
