"""The grader's parts without a kernel: command line, inspection, output cap, feedback, collect."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import ClearHiddenTests

from grader.core import cells
from grader.core.course import Course
from grader.execute.guarded_execute import MAX_CELL_OUTPUT_CHARS, GuardedExecute
from grader.prepare import inspection
from grader.prepare.collect import DEFAULT_PATTERN, collect
from grader.report.feedback import hints, student_view
from tests import harness

A = "01_tanh_derivatives"
COMMANDS = ("release", "collect", "autograde", "report", "feedback", "check", "progress")


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


# ----------------------------------------------------------------------------- command line


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "grader", command, "--help"],
                            capture_output=True, text=True, cwd=harness.ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m grader {command}")
    assert "--root" in result.stdout


def test_console_script_and_top_level_help():
    script = Path(sys.executable).parent / "rnn-grader"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


def test_usage_errors_exit_2_with_a_message():
    result = subprocess.run([sys.executable, "-m", "grader", "autograde", "--jobs", "two"],
                            capture_output=True, text=True, cwd=harness.ROOT)
    assert result.returncode == 2 and "invalid int value" in result.stderr


# ----------------------------------------------------------------------------- cells


def test_hidden_tests_are_stripped_exactly_as_nbgrader_releases_them(source):
    clear = ClearHiddenTests()
    hidden_cells = [c for c in source.cells if cells.has_hidden_tests(c.source)]
    assert len(hidden_cells) >= 6
    for cell in hidden_cells:
        released = copy.deepcopy(cell)
        clear._remove_hidden_test_region(released)
        assert cells.strip_hidden_tests(cell.source) == released.source
        assert all(line not in released.source.split("\n")
                   for line in cells.hidden_lines(cell.source) if line.strip())


def test_exercises_group_test_cells_under_their_answer(source):
    found = {e.name: e for e in cells.exercises(source)}
    assert found["tanh_derivative"].tests == ("test_tanh_derivative_visible",
                                              "test_tanh_derivative_hidden")
    assert found["knowledge_check"].tests == ("test_knowledge_check",)
    assert found["free_response_saturation"].manual
    assert len(found) == 7


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


# ----------------------------------------------------------------------------- output cap


def message(kind: str, **content) -> dict:
    return {"msg_type": kind, "parent_header": {"msg_id": "m"}, "content": content,
            "header": {"msg_type": kind}, "metadata": {}}


def capped_executor(limit: int = 1_000) -> GuardedExecute:
    executor = GuardedExecute(max_cell_output_chars=limit)
    executor._output_chars, executor._dropped_chars = {}, {}
    executor.clear_before_next_output = False
    return executor


def test_output_is_capped_while_it_arrives():
    executor, outs = capped_executor(1_000), []
    for _ in range(10_000):
        executor.output(outs, message("stream", name="stdout", text="x" * 99 + "\n"), None, 0)
    kept = sum(len(o.text) for o in outs)
    assert kept == 1_000 and len(outs) <= 11
    assert executor._dropped_chars[0] == 10_000 * 100 - 1_000
    assert MAX_CELL_OUTPUT_CHARS >= 100_000


def test_output_that_decides_the_grade_is_never_dropped():
    executor, outs = capped_executor(100), []
    executor.output(outs, message("stream", name="stdout", text="y" * 500), None, 0)
    warning = "/tmp/x.py:3: RuntimeWarning: overflow encountered in exp\n"
    executor.output(outs, message("stream", name="stderr", text=warning), None, 0)
    executor.output(outs, message("stream", name="stderr", text="real error\n" * 1000), None, 0)
    executor.output(outs, message("stream", name="stderr", text="second error\n"), None, 0)
    executor.output(outs, message("error", ename="AssertionError", evalue="wrong",
                                  traceback=["AssertionError: wrong"]), None, 0)
    executor.output(outs, message("execute_result", data={"text/plain": "0.5"},
                                  execution_count=1, metadata={}), None, 0)
    kinds = [(o.output_type, o.get("name")) for o in outs]
    assert kinds == [("stream", "stdout"), ("stream", "stderr"), ("error", None),
                     ("execute_result", None)]
    assert outs[1].text.startswith("real error") and len(outs[1].text) <= 2_000


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


# ----------------------------------------------------------------------------- collect


@pytest.mark.parametrize(("name", "student"), [
    ("jdoe_01_tanh_derivatives.ipynb", "jdoe"), ("jdoe.ipynb", "jdoe"), ("jdoe", "jdoe"),
    ("jdoe_attempt2", "jdoe"), ("j.doe-2.ipynb", "j.doe-2"), ("Jane Doe_x.ipynb", None),
])
def test_default_student_pattern(name, student):
    match = re.search(DEFAULT_PATTERN, name)
    assert (match.group("student") if match else None) == student


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions" / A).mkdir(parents=True)
    (tmp_path / "solutions" / A / f"{A}.ipynb").write_text("{}")
    return Course(tmp_path)


def test_collect_places_renames_and_explains(course, tmp_path, release):
    export = tmp_path / "export"
    (export / "amy").mkdir(parents=True)
    nbformat.write(release, str(export / "amy" / "homework.ipynb"))
    (export / "amy" / "data.csv").write_text("1,2\n")
    (export / "bo").mkdir()
    nbformat.write(release, str(export / "bo" / "a.ipynb"))
    nbformat.write(release, str(export / "bo" / "b.ipynb"))
    nbformat.write(release, str(export / f"cy_1_{A}.ipynb"))
    nbformat.write(release, str(export / f"cy_2_{A}.ipynb"))
    result = collect(course, export)
    placed = {p.student: p for p in result.placed}
    assert set(placed) == {"amy", "cy"}
    assert placed["amy"].notes == [f"renamed homework.ipynb -> {A}.ipynb"]
    assert (course.submission_dir("amy", A) / "data.csv").read_text() == "1,2\n"
    assert placed["cy"].source == f"cy_2_{A}.ipynb"
    why = dict(result.unplaced)
    assert "none is named" in why["bo"]
    assert "kept cy_2_01_tanh_derivatives.ipynb" in why[f"cy_1_{A}.ipynb"]
    assert sorted(p.name for p in course.submitted.iterdir()) == ["amy", "cy"]


def test_collect_dry_run_writes_nothing(course, tmp_path, release):
    export = tmp_path / "export"
    export.mkdir()
    nbformat.write(release, str(export / "dee.ipynb"))
    result = collect(course, export, dry_run=True)
    assert [p.student for p in result.placed] == ["dee"]
    assert not course.submitted.exists()


def test_collect_refuses_unsafe_zip_paths(course, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside.ipynb", "{}")
    with pytest.raises(ValueError, match="unsafe path"):
        collect(course, archive)
    assert not (tmp_path.parent / "outside.ipynb").exists()


def test_collect_lists_hidden_entries_it_does_not_collect(course, tmp_path, release):
    export = tmp_path / "export"
    export.mkdir()
    nbformat.write(release, str(export / "dee.ipynb"))
    nbformat.write(release, str(export / ".eve.ipynb"))
    (export / ".DS_Store").write_text("litter")
    result = collect(course, export)
    assert [p.student for p in result.placed] == ["dee"]
    assert [name for name, _ in result.unplaced] == [".eve.ipynb"]
    assert "hidden" in result.unplaced[0][1]


def test_collect_refuses_a_zip_that_would_unpack_too_large(course, tmp_path, monkeypatch):
    import grader.prepare.collect as collecting

    monkeypatch.setattr(collecting, "MAX_UNPACKED_BYTES", 10 * 2**20)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for index in range(3):
            zf.writestr(f"s{index}.ipynb", b"\0" * 5 * 2**20)
    assert archive.stat().st_size < 100_000
    with pytest.raises(ValueError, match="would unpack to 15 MiB"):
        collect(course, archive)
    assert not course.submitted.exists()


def test_collect_needs_a_student_group(course, tmp_path):
    with pytest.raises(ValueError, match="group named 'student'"):
        collect(course, tmp_path, pattern=r"^(\w+)_")


# ----------------------------------------------------------------------------- scheduling


def test_only_new_changed_or_errored_submissions_are_graded_again(tmp_path):
    from grader.core.course import submission_checksum
    from grader.execute.autograde import Submission, _needs_grading
    from grader.record.gradebook import Record

    (tmp_path / f"{A}.ipynb").write_text("{}")
    submission = Submission("amy", A, tmp_path)
    same = submission_checksum(tmp_path)

    def stored(status, checksum):
        return Record("amy", A, status, None, (), checksum, "2025-01-01", 1.0)

    assert _needs_grading(submission, None)
    assert not _needs_grading(submission, stored("graded", same))
    assert not _needs_grading(submission, stored("failed", same))
    assert _needs_grading(submission, stored("error", same))
    assert _needs_grading(submission, stored("graded", "an older version"))


@pytest.mark.parametrize(("jobs", "cores", "threads"),
                         [(1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 16, 8), (3, 16, 5), (0, 2, 2)])
def test_each_kernel_gets_its_share_of_the_cores(jobs, cores, threads):
    from grader.execute.autograde import threads_per_kernel

    assert threads_per_kernel(jobs, cores) == threads


def test_a_worker_passes_its_thread_share_to_the_kernel_unless_the_instructor_set_one(
        monkeypatch):
    from dataclasses import replace

    from grader.execute.worker import Job, worker_environment

    job = Job("amy", A, "sub", "rel", "tpl", "work", config=None, threads=1)
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    assert worker_environment(job)["COURSE_THREADS"] == "1"
    assert "COURSE_THREADS" not in worker_environment(replace(job, threads=None))
    monkeypatch.setenv("COURSE_THREADS", "3")
    assert worker_environment(job)["COURSE_THREADS"] == "3"


# ----------------------------------------------------------------------------- a stuck kernel


def test_a_kernel_that_ignores_the_interrupt_is_shut_down_and_later_cells_score_zero():
    """nbgrader would give up on the whole notebook; GuardedExecute keeps what ran."""
    from grader.core.repository import grading_env
    from grader.execute.findings import execution_issues

    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("import time\nran = True"),
        # A bare except in a loop swallows the KeyboardInterrupt of the timeout.
        new_code_cell("while True:\n    try:\n        time.sleep(0.05)\n    except:\n"
                      "        pass"),
        new_code_cell("assert ran"),
    ])
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "test_after", "points": 1,
                                        "locked": True, "solution": False}
    environment = dict(os.environ)
    try:
        os.environ.update(grading_env())
        executor = GuardedExecute(timeout=2, kernel_name="python3")
        executor.preprocess(nb, {"metadata": {"path": "."}})
    finally:
        os.environ.clear()
        os.environ.update(environment)
    assert nb.cells[0].execution_count is not None
    assert {o.ename for o in nb.cells[1].outputs if o.output_type == "error"} >= {
        "UnresponsiveKernelError"}
    assert [o.ename for o in nb.cells[2].outputs] == ["NotExecuted"]
    issues = execution_issues(nb)
    stopped = [i for i in issues if i.kind == "kernel"]
    assert len(stopped) == 1 and stopped[0].flag
    assert "stopped responding" in stopped[0].message and "test_after" in stopped[0].message


# ----------------------------------------------------------------------------- settling errors


def test_a_grader_error_met_twice_on_the_same_files_is_settled_as_failed():
    from grader.execute.autograde import settle
    from grader.record.gradebook import Record, Result

    def error(reason="nbgrader could not grade it: KeyError 'x'", checksum="abc"):
        return Result("s", A, "error", reason=reason, checksum=checksum)

    def stored(status="error", reason="nbgrader could not grade it: KeyError 'x'",
               checksum="abc"):
        return Record("s", A, status, reason, (), checksum, "2026-11-29", 1.0)

    assert settle(error(), None).status == "error"
    assert settle(error(), stored(reason="another error")).status == "error"
    assert settle(error(), stored(checksum="new files")).status == "error"
    settled = settle(error(), stored())
    assert settled.status == "failed" and "twice" in settled.reason
