"""The instructor's whole flow on notebook 01, with a corpus of good and bad submissions.

One temporary course is built once for the module: ``release``; ``collect`` of a zip of ten
generated submissions (mixed good and bad) and of a folder of three more; an ``autograde`` run
killed after its first stored grade (a crash must lose nothing stored); ``autograde --jobs 2``
over everything; ``report``; ``feedback``. The tests then read what that produced. Every
command runs through the real command line (``grader.__main__.main``).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import html
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from grader.__main__ import main
from grader.core import cells
from grader.core.course import Course
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES

pytestmark = pytest.mark.xdist_group("grader-flow")

A = "01_tanh_derivatives"
CELL_TIMEOUT = 20  # seconds; dave's endless cell waits this long once

ISOLATION_PROBE = """import os
print("WORKDIR", os.getcwd())
print("LISTING", sorted(os.listdir(".")))
print("VISIBLE", [p for p in {paths!r} if os.path.exists(p)])
"""

ENDLESS_ON_FIRST_CALL = """import time

_calls = []

def relu_derivative(x):
    _calls.append(x)
    if len(_calls) == 1:
        while True:  # never returns; sleeps so that the other worker keeps its core
            time.sleep(0.05)
    return (np.asarray(x) > 0).astype(float)
"""

KERNEL_KILLER = """def relu_derivative(x):
    import os
    os._exit(1)
"""

HUGE_OUTPUT = """for _line in range(30_000):
    print("debugging", _line, "x" * 60)

def tanh_derivative(x):
    t = np.tanh(x)
    return 1 - t * t
"""

MONKEYPATCH = """import builtins

np.allclose = lambda *args, **kwargs: True
builtins.abs = lambda value: 0
checks.check_close = lambda *args, **kwargs: None

def tanh_derivative(x):
    return 1 - x**2
"""


def run(*args: str, stderr: io.StringIO | None = None) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(stderr or io.StringIO()):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def first_wrong_answers() -> dict[str, str]:
    return {name: next(iter(answers.wrong.values())) for name, answers in EXERCISES.items()}


def warning_answer() -> str:
    return next(iter(EXERCISES["tanh_derivative"].correct_with_warning.values()))


def write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def corpus(release: nbformat.NotebookNode, root: Path) -> dict[str, nbformat.NotebookNode]:
    """Whole notebooks, by student."""
    def filled(answers=None):
        return harness.filled_release(A, answers or {}, release=release)

    alice = filled()
    secret = [str(root), str(root / "solutions"), str(root / "grader" / "gradebook.db"),
              str(harness.ROOT / "solutions"), str(harness.ROOT / "grader")]
    alice.cells.append(nbformat.v4.new_code_cell(ISOLATION_PROBE.format(paths=secret)))
    ivan = filled({"tanh_derivative": "def tanh_derivative(x):\n    return 1 - x**2\n"})
    for cell in ivan.cells:
        if cells.grade_id(cell) == "test_tanh_derivative_visible":
            cell.source = "pass"
    judy = filled()
    judy.cells = [c for c in judy.cells
                  if cells.grade_id(c) != "test_sigmoid_derivative_hidden"]
    return {
        "alice": alice,
        "bob": filled(first_wrong_answers()),
        "carol": copy.deepcopy(release),
        "dave": filled({"relu_derivative": ENDLESS_ON_FIRST_CALL}),
        "erin": filled({"relu_derivative": KERNEL_KILLER}),
        "grace": filled(),
        "ivan": ivan,
        "judy": judy,
        "kim": filled({"tanh_derivative": warning_answer()}),
        "leo": filled({"tanh_derivative": HUGE_OUTPUT}),
        "mallory": filled({"tanh_derivative": MONKEYPATCH}),
        "nina": filled(),
    }


def build_zip(notebooks: dict, path: Path) -> None:
    """An LMS-style export: ten students, plus two entries that name no usable student."""
    with zipfile.ZipFile(path, "w") as zf:
        for student in ("alice", "bob", "carol", "dave", "erin", "ivan", "judy"):
            zf.writestr(f"{student}_{A}.ipynb", nbformat.writes(notebooks[student]))
        zf.writestr(f"frank_{A}.ipynb", nbformat.writes(notebooks["alice"])[:5000])
        zf.writestr("grace/my homework.ipynb", nbformat.writes(notebooks["grace"]))
        zf.writestr("heidi/notes.txt", "I could not finish, sorry.\n")
        zf.writestr("README.txt", "exported by the LMS\n")
        zf.writestr(f"Jane Doe_{A}.ipynb", nbformat.writes(notebooks["alice"]))


def stored_statuses(db: Path) -> dict[str, str]:
    try:
        with contextlib.closing(sqlite3.connect(db)) as connection:
            return dict(connection.execute("SELECT student, status FROM grader_result"))
    except sqlite3.Error:
        return {}


def crash_after_first_grade(root: Path, scratch: Path) -> dict[str, str]:
    """Start `autograde` for alice and bob, SIGKILL it as soon as one grade is stored."""
    command = [sys.executable, "-m", "grader", "autograde", "--root", str(root), "--jobs", "1",
               "--no-progress", "--student", "alice", "bob"]
    # The killed run cannot clean its temporary directory: keep it inside the test's.
    environment = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(command, cwd=harness.ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True,
                               env=environment)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if stored_statuses(root / "grader" / "gradebook.db"):
                break
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return stored_statuses(root / "grader" / "gradebook.db")


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    (root / "grader").mkdir()
    outputs = {"release": run("release", "--root", root)}
    release = harness.read(root / "notebooks" / A / f"{A}.ipynb")
    notebooks = corpus(release, root)

    exports = tmp_path_factory.mktemp("exports")
    build_zip(notebooks, exports / "export.zip")
    outputs["collect zip"] = run("collect", exports / "export.zip", "--root", root)
    folder = exports / "second"
    write(notebooks["kim"], folder / "kim" / f"{A}.ipynb")
    write(notebooks["leo"], folder / f"leo_{A}.ipynb")
    write(notebooks["mallory"], folder / f"mallory_{A}.ipynb")
    outputs["collect folder"] = run("collect", folder, "--root", root, "--assignment", A)
    # Placed by hand under another name: autograde itself must cope.
    write(notebooks["nina"], root / "grader" / "submitted" / "nina" / A / "final version.ipynb")

    crash_tmp = tmp_path_factory.mktemp("crash")
    crashed = crash_after_first_grade(root, crash_tmp)
    left_by_the_crash = sorted(p.name for p in crash_tmp.iterdir())
    # The next run, in the same temporary directory, removes what the killed one left there.
    with mock.patch.object(tempfile, "tempdir", str(crash_tmp)):
        outputs["autograde"] = run("autograde", "--root", root, "--jobs", "2", "--timeout",
                                   CELL_TIMEOUT, "--no-progress")
    left_after_the_rerun = sorted(p.name for p in crash_tmp.iterdir())
    outputs["report"] = run("report", "--root", root)
    outputs["feedback"] = run("feedback", "--root", root)
    return {"root": root, "course": Course(root), "out": outputs, "crashed": crashed,
            "notebooks": notebooks, "left": (left_by_the_crash, left_after_the_rerun)}


def grades(course: Course, student: str) -> dict[str, tuple[float | None, float]]:
    with Gradebook(course.db_url) as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades}


def exercise_points(course: Course, student: str) -> dict[str, tuple[float, float]]:
    source = harness.read(harness.source_path(A))
    found = grades(course, student)
    result = {}
    for exercise in cells.exercises(source):
        if not exercise.manual:
            result[exercise.name] = (sum(found[t][0] or 0 for t in exercise.tests),
                                     sum(found[t][1] for t in exercise.tests))
    return result


def record(flow, student):
    from grader.record.gradebook import records

    return records(flow["course"])[(student, A)]


def csv_rows(flow, name):
    with open(flow["course"].reports / name, newline="") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- the flow


def test_every_command_succeeded_except_for_the_bad_submissions(flow):
    out = flow["out"]
    assert out["release"][0] == 0, out["release"]
    assert out["collect zip"][0] == 0 and out["collect folder"][0] == 0
    assert out["autograde"][0] == 1, "failed submissions must make autograde exit 1"
    assert out["report"][0] == 0 and out["feedback"][0] == 0


def test_collect_places_ten_students_and_says_what_it_left_out(flow):
    text = flow["out"]["collect zip"][1]
    submitted = flow["course"].submitted
    for student in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
                    "judy"):
        assert (submitted / student / A).is_dir(), text
    assert (submitted / "grace" / A / f"{A}.ipynb").is_file()
    assert re.search(r"grace/.*renamed my homework\.ipynb -> 01_tanh_derivatives\.ipynb", text)
    assert re.search(r"heidi/.*no notebook", text)
    assert re.search(r"NOT PLACED README\.txt: not a notebook", text)
    assert re.search(r"NOT PLACED Jane Doe_01_tanh_derivatives\.ipynb: no student id", text)
    assert "10 submissions of 10 students placed; 2 entries not placed" in text
    assert "3 submissions of 3 students placed" in flow["out"]["collect folder"][1]


def test_collect_again_changes_nothing(flow, tmp_path):
    zip_copy = tmp_path / "again.zip"
    with zipfile.ZipFile(zip_copy, "w") as zf:
        zf.writestr(f"bob_{A}.ipynb", nbformat.writes(
            harness.filled_release(A, first_wrong_answers(),
                                   release=flow["notebooks"]["carol"])))
    code, text = run("collect", zip_copy, "--root", flow["root"])
    assert code == 0 and "unchanged since the last collect" in text, text


def test_a_crash_loses_no_stored_grade_and_the_rerun_skips_it(flow):
    crashed = flow["crashed"]
    assert list(crashed) == ["alice"], f"expected exactly alice stored before the kill: {crashed}"
    assert crashed["alice"] == "graded"
    assert "skipped 1 already graded" in flow["out"]["autograde"][1]
    points = exercise_points(flow["course"], "alice")
    assert all(got == top for got, top in points.values()), points


def test_the_next_run_removes_what_a_killed_run_left_in_the_temp_directory(flow):
    by_the_crash, after_the_rerun = flow["left"]
    assert any(name.startswith("rnn-grader-") for name in by_the_crash), by_the_crash
    assert after_the_rerun == []


def test_rerunning_autograde_grades_nothing_new(flow):
    code, text = run("autograde", "--root", flow["root"], "--no-progress")
    assert "graded 0 submissions" in text and "skipped 14 already graded" in text, text
    assert code == 0


def test_a_failing_regrade_never_touches_other_grades(flow):
    course = flow["course"]
    others = ("alice", "bob", "ivan", "kim")
    before = {s: grades(course, s) for s in others}
    progress = io.StringIO()
    code, text = run("autograde", "--root", flow["root"], "--force", "--student", "frank",
                     "heidi", stderr=progress)
    assert code == 1 and "graded 2 submissions" in text, text
    assert re.search(r"autograde: 100%.*2/2 \[[\d:]+<[\d:]+", progress.getvalue()), \
        "a progress bar with the elapsed time and the ETA"
    assert {s: grades(course, s) for s in others} == before
    assert record(flow, "frank").status == "failed"


# ----------------------------------------------------------------------------- the corpus


def test_correct_submission_gets_full_marks(flow):
    points = exercise_points(flow["course"], "alice")
    assert all(got == top for got, top in points.values()), points
    assert record(flow, "alice").status == "graded"
    assert not record(flow, "alice").issues


def test_wrong_submission_loses_points_on_every_exercise(flow):
    points = exercise_points(flow["course"], "bob")
    assert all(got < top for got, top in points.values()), points
    assert record(flow, "bob").status == "graded"


def test_blank_submission_scores_zero_and_is_called_blank(flow):
    points = exercise_points(flow["course"], "carol")
    assert all(got == 0 for got, _ in points.values()), points
    assert [i.kind for i in record(flow, "carol").issues] == ["blank"]


def test_endless_cell_times_out_and_everything_else_is_graded(flow):
    got = grades(flow["course"], "dave")
    assert got["test_relu_derivative_visible"][0] == 0
    assert got["test_relu_derivative_hidden"][0] == 2
    points = exercise_points(flow["course"], "dave")
    assert all(g == t for name, (g, t) in points.items() if name != "relu_derivative"), points
    issues = record(flow, "dave").issues
    assert [i.kind for i in issues] == ["timeout"], issues
    assert "test_relu_derivative_visible" in issues[0].message
    assert record(flow, "dave").status == "graded"


def test_dead_kernel_keeps_the_grades_of_cells_that_ran_and_is_flagged(flow):
    points = exercise_points(flow["course"], "erin")
    assert points["tanh_derivative"] == (3, 3) and points["sigmoid_derivative"] == (3, 3)
    later = ("relu_derivative", "central_difference", "fraction_saturated", "knowledge_check")
    assert all(points[name][0] == 0 for name in later), points
    verdict = record(flow, "erin")
    assert verdict.status == "flagged"
    died = [i for i in verdict.issues if "died" in i.message]
    assert len(died) == 1 and "test_relu_derivative_visible" in died[0].message
    assert re.search(r"the \d+ code cells before it ran", died[0].message)
    with Gradebook(flow["course"].db_url) as gb:
        assert gb.find_submission_notebook(A, A, "erin").flagged


def test_invalid_json_fails_with_a_reason_and_no_grade(flow):
    verdict = record(flow, "frank")
    assert verdict.status == "failed"
    assert re.fullmatch(r"01_tanh_derivatives.ipynb is not a readable notebook: invalid JSON "
                        r"\(.* line \d+ column \d+ .*\)", verdict.reason), verdict.reason
    with Gradebook(flow["course"].db_url) as gb, pytest.raises(MissingEntry):
        gb.find_submission(A, "frank")


def test_renamed_notebooks_are_graded(flow):
    assert exercise_points(flow["course"], "grace") == exercise_points(flow["course"], "alice")
    nina = record(flow, "nina")
    assert nina.status == "graded"
    assert [i.kind for i in nina.issues] == ["renamed"]
    assert "final version.ipynb" in nina.issues[0].message


def test_missing_notebook_fails_with_a_reason(flow):
    verdict = record(flow, "heidi")
    assert verdict.status == "failed"
    assert verdict.reason == f"{A}.ipynb is missing (found: no notebook)"


def test_edited_test_cell_is_restored_and_reported_once(flow):
    verdict = record(flow, "ivan")
    assert verdict.status == "flagged"
    assert [i.message for i in verdict.issues] == [
        "test cell 'test_tanh_derivative_visible' was edited; the original was restored and "
        "graded"]
    assert grades(flow["course"], "ivan")["test_tanh_derivative_visible"][0] == 0
    assert "checksum" not in flow["out"]["autograde"][1].lower()


def test_deleted_test_cell_is_put_back_and_graded(flow):
    verdict = record(flow, "judy")
    assert verdict.status == "flagged"
    assert [i.message for i in verdict.issues] == [
        "test cell 'test_sigmoid_derivative_hidden' was deleted; it was put back and graded"]
    assert grades(flow["course"], "judy")["test_sigmoid_derivative_hidden"] == (2, 2)


def test_correct_answer_that_warns_keeps_its_points(flow):
    assert exercise_points(flow["course"], "kim")["tanh_derivative"] == (3, 3)
    autograded = flow["course"].autograded_dir("kim", A) / f"{A}.ipynb"
    assert "RuntimeWarning" in autograded.read_text()


def test_huge_output_is_truncated(flow):
    points = exercise_points(flow["course"], "leo")
    assert all(got == top for got, top in points.values()), points
    autograded = flow["course"].autograded_dir("leo", A) / f"{A}.ipynb"
    assert autograded.stat().st_size < 1_000_000
    text = autograded.read_text()
    assert "[grader] output truncated" in text or "... Output truncated ..." in text
    assert [i.kind for i in record(flow, "leo").issues] == ["output"]


def test_monkeypatching_is_flagged_for_review(flow):
    verdict = record(flow, "mallory")
    assert verdict.status == "flagged"
    text = "\n".join(i.message for i in verdict.issues)
    for patched in ("replaces numpy.allclose", "replaces builtins.abs",
                    "replaces course_utils.checks.check_close", "imports builtins"):
        assert patched in text, text
    # Read in the code (review) and found in the kernel at run time (tampered).
    assert {i.kind for i in verdict.issues} == {"review", "tampered"}, text
    assert "numpy.allclose was replaced" in text and "builtins.abs was replaced" in text


def test_each_submission_runs_alone_without_solutions_or_gradebook(flow):
    executed = harness.read(flow["course"].autograded_dir("alice", A) / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    workdir = re.search(r"WORKDIR (.*)", printed).group(1)
    assert not workdir.startswith(str(flow["root"])), workdir
    assert re.search(r"LISTING \['01_tanh_derivatives.ipynb'\]", printed), printed
    assert "VISIBLE []" in printed, printed


# ----------------------------------------------------------------------------- report


def test_grades_csv_has_every_student_with_status_and_empty_scores_for_failures(flow):
    rows = {r["student"]: r for r in csv_rows(flow, "grades.csv")}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                         "ivan", "judy", "kim", "leo", "mallory", "nina"}
    for student in ("frank", "heidi"):
        assert rows[student]["status"] == "failed" and rows[student]["score"] == ""
        assert rows[student]["issues"], "the reason must be in the CSV"
    assert rows["alice"]["score"] == "16" and rows["alice"]["max_score"] == "18"
    assert rows["alice"]["to_grade_by_hand"] == "1"
    assert rows["carol"]["score"] == "0"
    assert rows["ivan"]["status"] == "flagged" and "edited" in rows["ivan"]["issues"]


def test_exercises_csv_has_points_per_exercise(flow):
    rows = [r for r in csv_rows(flow, "exercises.csv") if r["student"] == "dave"]
    by_name = {r["exercise"]: r for r in rows}
    assert by_name["relu_derivative"]["points"] == "2"
    assert by_name["relu_derivative"]["max_points"] == "3"
    assert by_name["tanh_derivative"]["points"] == "3"
    assert by_name["free_response_saturation"]["points"] == ""  # waits for a person
    assert not [r for r in csv_rows(flow, "exercises.csv") if r["student"] == "frank"]


def test_report_prints_a_summary_and_draws_the_distribution(flow):
    code, text = flow["out"]["report"]
    assert "01_tanh_derivatives  (max 18 points)" in text
    assert re.search(r"relu_derivative\s+\d+\.\d\d\s+3\s+\d+/12", text), text
    assert "FAILED   frank" in text and "FLAGGED  erin" in text
    png = flow["course"].reports / f"{A}_scores.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


# ----------------------------------------------------------------------------- feedback


def hidden_secrets() -> list[str]:
    """Lines of the hidden tests that appear nowhere in the visible notebook."""
    source = harness.read(harness.source_path(A))
    visible = " ".join(" ".join(cells.strip_hidden_tests(c.source).split()) for c in source.cells)
    lines = {" ".join(line.split()) for c in source.cells for line in
             cells.hidden_lines(c.source)}
    return sorted(line for line in lines if len(line) > 6 and line not in visible)


def feedback_text(path: Path) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", path.read_text())).split())


def test_feedback_exists_for_every_graded_submission_and_only_those(flow):
    written = {p.parent.parent.name for p in flow["course"].feedback.glob(f"*/{A}/{A}.html")}
    assert written == {"alice", "bob", "carol", "dave", "erin", "grace", "ivan", "judy", "kim",
                       "leo", "mallory", "nina"}
    assert "no feedback for frank" in flow["out"]["feedback"][1]


def test_feedback_contains_no_hidden_test_source_or_assert_lines(flow):
    secrets = hidden_secrets()
    assert len(secrets) > 20, "the probe needs hidden lines to look for"
    for path in flow["course"].feedback.glob(f"*/{A}/{A}.html"):
        text = feedback_text(path)
        assert "HIDDEN TESTS" not in text, path
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{path} shows hidden test lines: {leaked[:3]}"


def test_feedback_would_leak_without_the_grader(flow):
    """The probe is sharp: nbgrader's autograded notebook does hold the hidden lines."""
    text = " ".join((flow["course"].autograded_dir("bob", A) / f"{A}.ipynb").read_text().split())
    raw = nbformat.reads(text, as_version=4)
    joined = " ".join(" ".join(c.source.split()) for c in raw.cells)
    assert sum(line in joined for line in hidden_secrets()) > 20


def test_feedback_shows_scores_and_the_graders_notes(flow):
    text = feedback_text(flow["course"].feedback_dir("ivan", A) / f"{A}.html")
    assert "Flagged for review by your instructor" in text
    assert "test cell 'test_tanh_derivative_visible' was edited" in text
    bob = feedback_text(flow["course"].feedback_dir("bob", A) / f"{A}.html")
    assert "this test earned 0 of 2 points" in bob and "What to check" in bob


def test_feedback_score_list_names_each_line_by_its_exercise(flow):
    page = (flow["course"].feedback_dir("grace", A) / f"{A}.html").read_text()
    score_list = re.search(r'<div id="toc">(.*?)</div>', page, re.S).group(1)
    lines = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split())
             for item in re.findall(r"<li.*?</li>", score_list, re.S)]
    assert "tanh_derivative — visible tests: 1/1" in lines, lines
    assert "tanh_derivative — hidden tests: 2/2" in lines, lines
    # Nobody has graded grace's written answer yet: it says so, never 0/2.
    assert "free_response_saturation — written answer: not graded yet (of 2)" in lines, lines
    assert not [line for line in lines if "Test cell" in line], lines


@pytest.mark.browser
def test_feedback_renders_its_formulas_offline_and_names_its_scores(flow, tmp_path):
    """Opened from file:// with every network request refused, as a student reads it on a
    train: MathJax is inside the page, the formulas are typeset, the score list names exercises."""
    from tests.offline_browser import MATHJAX_DONE, VISIBLE_PROSE, offline_page, raw_math

    path = flow["course"].feedback_dir("grace", A) / f"{A}.html"
    with offline_page() as (page, blocked):
        page.goto(path.as_uri())
        assert page.evaluate(MATHJAX_DONE), "the feedback page has no MathJax"
        typeset = page.locator("mjx-container").count()
        prose = page.evaluate(VISIBLE_PROSE)
        scores = page.locator("#toc li").all_inner_texts()
        page.screenshot(path=str(tmp_path / "feedback.png"), full_page=False)
    assert not blocked, f"the feedback page asked the network for {blocked}"
    assert typeset > 20, f"only {typeset} formulas were typeset"
    assert not raw_math(prose), f"formulas left as raw TeX: {raw_math(prose)[:5]}"
    assert "tanh_derivative — hidden tests: 2/2" in [" ".join(s.split()) for s in scores], scores


def test_a_merge_that_fails_midway_stores_nothing(flow, monkeypatch):
    from grader.core.verdict import NotebookGrades, Result
    from grader.record import gradebook

    result = Result("zoe", A, "graded", checksum="abc", notebooks={
        A: NotebookGrades(scores={"test_tanh_derivative_visible": 1.0})})

    def disk_full(gb, result):
        raise OSError("disk full")

    monkeypatch.setattr(gradebook, "_write_record", disk_full)
    with pytest.raises(OSError, match="disk full"):
        gradebook.store(flow["course"], result)
    with Gradebook(flow["course"].db_url) as gb, pytest.raises(MissingEntry):
        gb.find_student("zoe")
    assert ("zoe", A) not in gradebook.records(flow["course"])


def test_verifier_kernels_are_forked_from_the_warm_zygote(flow):
    log = flow["course"].log_file("alice", A).read_text()
    assert "verifier kernel: forked from the warm zygote" in log
    assert "started cold" not in log
