"""`python -m grader check NOTEBOOK [--exercise NAME]` and `python -m grader progress`: a learner
grades their own notebook, hidden tests included."""

from __future__ import annotations

import contextlib
import io
import json
import re

import nbformat
import pytest

from grader.__main__ import main
from grader.core import cells
from grader.core.policy import ASSIGNMENTS, WARNING_STDERR_PATTERN
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
    # each exercise's line came as soon as its tests had run, before the table
    streamed = re.findall(r"^\[\s*[\d.]+ s\] (\w+)\s+(\S+)\s+(\w+)$", text, re.MULTILINE)
    assert [name for name, _, _ in streamed] == [
        "tanh_derivative", "sigmoid_derivative", "relu_derivative", "central_difference",
        "fraction_saturated", "knowledge_check"], text
    assert all(verdict == "ok" for _, _, verdict in streamed), text
    assert text.index("] knowledge_check") < text.index("exercise ")


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


# ----------------------------------------------------------------------------- --exercise


def quick(path, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path), *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Notebook 01 with a fraction_saturated that ignores its threshold (fails the hidden test
    only) and a central difference that ignores eps (fails both)."""
    saturated = EXERCISES["fraction_saturated"].wrong["threshold ignored"]
    wrong = EXERCISES["central_difference"].wrong["ignores eps"]
    path = tmp_path_factory.mktemp("quick") / f"{A}.ipynb"
    nbformat.write(harness.filled_release(
        A, {"central_difference": wrong, "fraction_saturated": saturated}), str(path))
    return path


def test_one_exercise_gets_its_hidden_test_verdict(mixed):
    code, text, _ = quick(mixed, "--exercise", "fraction_saturated")
    assert code == 1, text
    assert re.search(r"^fraction_saturated\s+1/3\s+FAILED\n\s+hidden test "
                     r"test_fraction_saturated_hidden: AssertionError", text, re.MULTILINE), text
    assert "tanh_derivative" not in text
    code, text, _ = quick(mixed, "-e", "tanh_derivative", "-e", "central_difference")
    assert code == 1
    assert re.search(r"^tanh_derivative\s+3/3\s+ok$", text, re.MULTILINE), text
    assert re.search(r"^central_difference\s+0/3\s+FAILED$", text, re.MULTILINE), text
    assert "suspect:  the eps argument is ignored" in text


def test_every_exercise_at_once_agrees_with_the_full_check(mixed):
    """The same notebook as test_hidden_test_failures_are_reported_per_exercise, which grades it
    with nbgrader: the same points per exercise."""
    from grader.learner.exercise import check_exercises

    result = check_exercises(mixed)
    points = {e.name: (e.points, e.max_points) for e in result.exercises}
    assert points == {"tanh_derivative": (3, 3), "sigmoid_derivative": (3, 3),
                      "relu_derivative": (3, 3), "central_difference": (0, 3),
                      "fraction_saturated": (1, 3), "knowledge_check": (1, 1)}, points


def test_an_untouched_answer_is_not_started_and_starts_no_kernel(monkeypatch):
    from grader.learner import exercise as module

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for stubs only")

    monkeypatch.setattr(module, "Kernel", no_kernel)
    code, text, _ = quick(harness.release_path(A), "-e", "sigmoid_derivative")
    assert code == 1
    assert re.search(r"^sigmoid_derivative\s+0/3\s+FAILED\n\s+not started", text, re.M), text


def test_unknown_and_hand_graded_exercises_are_refused_with_the_list(mixed):
    code, _, err = quick(mixed, "-e", "tanh_derivatve")
    assert code == 2 and "no exercise named tanh_derivatve" in err
    assert "tanh_derivative, sigmoid_derivative" in err
    code, _, err = quick(mixed, "-e", "free_response_saturation")
    assert code == 2 and "free_response_saturation is graded by hand" in err


# ----------------------------------------------------------------------------- which cells run


def solved_plan(assignment: str, exercise: str):
    from grader.learner import exercise as module

    student = json.loads(nbformat.writes(harness.filled_release(assignment)))
    for cell in student["cells"]:
        cell["source"] = module.text(cell)
    return module.make_plan(student, module.read(harness.source_path(assignment)),
                            module.read(harness.release_path(assignment)), assignment,
                            [exercise])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_name_an_exercise_uses_is_defined_by_a_cell_it_runs(assignment):
    from grader.learner import exercise as module

    source = harness.read(harness.source_path(assignment))
    for exercise in [e for e in cells.exercises(source) if not e.manual]:
        plan = solved_plan(assignment, exercise.name)
        ids = [s.grade_id for s in plan.steps]
        assert ids[0] == "setup" and exercise.name in ids
        assert ids[-len(exercise.tests):] == list(exercise.tests), ids
        defined, undefined = set(), set()
        for step in plan.steps:
            found = module.names(step.source)
            undefined |= found.used - defined - module.BUILTINS
            defined |= found.defined
        assert not undefined, f"{exercise.name}: nothing run defines {sorted(undefined)}"


def test_cells_an_exercise_does_not_need_are_not_run():
    plan = solved_plan(A, "relu_derivative")
    assert [s.grade_id for s in plan.steps] == [
        "setup", "relu_derivative", "test_relu_derivative_visible", "test_relu_derivative_hidden"]
    # an answer using an earlier exercise's function brings that answer along
    plan = solved_plan(A, "fraction_saturated")
    assert "tanh_derivative" in [s.grade_id for s in plan.steps]


def test_names_read_before_they_are_bound():
    from grader.learner.exercise import names

    found = names("x = x + 1\ny = [k for k in range(n)]\ndef f(a):\n    return a * w\n"
                  "data.append(3)\nimport numpy as np\n")
    assert found.used == {"x", "n", "w", "data"}
    assert found.defined >= {"x", "y", "f", "np"} and "data" in found.mutated
    assert found.modules == {"np"}
    assert not names("from os import *").parsed and not names("def (:").parsed


def test_scores_follow_nbgrader():
    """The quick check scores a test cell as nbgrader's determine_grade after IgnorePattern."""
    from nbgrader.utils import determine_grade

    from grader.learner.exercise import score

    cases = [
        [],
        [{"output_type": "stream", "name": "stdout", "text": "ok\n"}],
        [{"output_type": "stream", "name": "stderr", "text": "oops\n"}],
        [{"output_type": "stream", "name": "stderr",
          "text": "/x.py:3: RuntimeWarning: overflow\n"}],
        [{"output_type": "error", "ename": "AssertionError", "evalue": "no", "traceback": []}],
        *[[{"output_type": "execute_result", "data": {"text/plain": value}, "metadata": {},
            "execution_count": 1}] for value in ("1.5", "-1", "'ok'")],
    ]
    for outputs in cases:
        kept = [o for o in outputs if not (o.get("name") == "stderr"
                                           and re.search(WARNING_STDERR_PATTERN, o["text"]))]
        cell = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
            "grade": True, "solution": False, "points": 3, "grade_id": "t"}})
        cell.outputs = [nbformat.from_dict(o) for o in kept]
        assert score(outputs, 3.0) == determine_grade(cell)[0], outputs


# ----------------------------------------------------------------------------- progress


def test_progress_lists_every_notebook_and_what_is_left(mixed):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["progress"])
    text = out.getvalue()
    assert code == 1
    for assignment in ASSIGNMENTS:
        assert re.search(rf"^{assignment}\s+0/\d+\s+0/\d+\s+not started: ", text, re.M), text
    assert "written answer to write: free_response_saturation" in text
    with contextlib.redirect_stdout(out := io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["progress", str(mixed)])
    assert code == 1
    assert re.search(r"^01_tanh_derivatives\s+4/6\s+11/16\s+failing: central_difference 0/3, "
                     r"fraction_saturated 1/3$", out.getvalue(), re.M), out.getvalue()


def test_a_kernel_that_dies_fails_the_exercise_at_once(tmp_path):
    answer = "import os\n\ndef tanh_derivative(x):\n    os._exit(1)\n"
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(harness.filled_release(A, {"tanh_derivative": answer}), str(path))
    code, text, _ = quick(path, "-e", "tanh_derivative", "--timeout", "60")
    assert code == 1
    assert re.search(r"^tanh_derivative\s+0/3\s+FAILED\n.*DeadKernelError: the kernel died",
                     text, re.M), text
    assert "not run: the kernel died in an earlier cell" in text
