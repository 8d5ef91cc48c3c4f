"""Written answers graded by hand after autograde, on a SQLite gradebook: the late policy, a
regrade, and the feedback written before and after the grader's visit.

alice hands in on time, dave 1h30m after the due date (``collect --times``), erin on time with
Canvas's LATE marker. Feedback is written before anyone grades the written answers, then a grader
gives them points exactly as nbgrader's formgrader does (the same gradebook calls as its grade
and comment handlers, ``give_manual_grade``; tests/test_formgrader.py types them in Chromium),
``report`` and ``feedback`` run again, then ``autograde --force`` regrades everyone.
"""

from __future__ import annotations

import csv
import re
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.core.course import Course
from tests import harness

pytestmark = pytest.mark.xdist_group("manual-grading")

A = "01_tanh_derivatives"
FREE_RESPONSE = "free_response_saturation"
run = harness.run_grader


def give_manual_grade(course: Course, student: str, score: float, comment: str) -> None:
    """What the formgrader's grade and comment handlers do when a grader types a score and a
    comment (nbgrader.server_extensions.formgrader.apihandlers: GradeHandler.put,
    CommentHandler.put)."""
    with Gradebook(course.db_url, "rnn-gradients") as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        grade = next(g for g in notebook.grades if g.name == FREE_RESPONSE)
        grade.manual_score = score
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        written = next(c for c in notebook.comments if c.name == FREE_RESPONSE)
        written.manual_comment = comment
        gb.db.commit()


def table(course: Course, name: str, key=("student",)) -> dict:
    with open(course.reports / name, newline="") as handle:
        return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r
                for r in csv.DictReader(handle)}


def page(course: Course, student: str) -> str:
    return (course.feedback_dir(student, A) / f"{A}.html").read_text(encoding="utf-8")


def score_list(html: str) -> list[str]:
    block = html[html.index('<div id="toc">'):html.index("</ol>")]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li.*?</li>", block,
                                                                         re.S)]


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    root = tmp_path_factory.mktemp("manual") / "course"
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    out = {"release": run("release", "--root", root, "--due", "2026-03-01T17:00:00+01:00")}
    release = harness.read(root / "notebooks" / A / f"{A}.ipynb")
    export = root.parent / "export"
    export.mkdir()
    for name in (f"alice_{A}.ipynb", f"dave_{A}.ipynb", f"erin_LATE_{A}.ipynb"):
        nbformat.write(harness.filled_release(A, {}, release=release), str(export / name))
    times = root.parent / "times.csv"
    times.write_text("student,submitted_at\nalice,2026-03-01T15:59:00+01:00\n"
                     "dave,2026-03-01T18:30:00+01:00\n")
    out["collect"] = run("collect", export, "--root", root, "--times", times)
    (root / "grader" / "submitted" / "erin" / A / "lms-late.txt").write_text("LATE\n")
    out["autograde"] = run("autograde", "--root", root, "--jobs", "2", "--no-progress")
    course = Course(root)
    out["feedback before"] = run("feedback", "--root", root)
    pages = {"before": {s: page(course, s) for s in ("alice", "dave")}}
    files = {"before": sorted(p.name for p in course.feedback_dir("erin", A).iterdir())}

    give_manual_grade(course, "alice", 1.5, "Right mechanism.")
    give_manual_grade(course, "dave", 2.0, "Complete.")
    give_manual_grade(course, "erin", 2.0, "Complete.")
    out["report"] = run("report", "--root", root, "--lms", "canvas")
    reports = {"after grading": (table(course, "grades.csv"),
                                 table(course, "exercises.csv", ("student", "exercise")),
                                 table(course, "canvas_import.csv", ("SIS Login ID",)))}
    out["feedback after"] = run("feedback", "--root", root)
    pages["after"] = {s: page(course, s) for s in ("alice", "dave")}

    out["regrade"] = run("autograde", "--root", root, "--jobs", "2", "--no-progress", "--force")
    out["report after regrade"] = run("report", "--root", root, "--lms", "canvas")
    reports["after regrade"] = (table(course, "grades.csv"),
                                table(course, "exercises.csv", ("student", "exercise")),
                                table(course, "canvas_import.csv", ("SIS Login ID",)))
    yield {"course": course, "out": out, "pages": pages, "reports": reports, "files": files}


def test_every_command_ran(loop):
    for name, (code, printed) in loop["out"].items():
        assert code == 0, (name, printed[-3000:])


def test_the_late_penalty_holds_for_the_final_score_after_manual_grading(loop):
    grades, exercises, canvas = loop["reports"]["after grading"]
    assert grades["dave"]["late"] == "1h 30m"
    assert exercises[("dave", FREE_RESPONSE)]["points"] == "2"
    assert grades["dave"]["score"] == "0" and grades["dave"]["late_penalty"] == "18", \
        grades["dave"]
    assert canvas["dave"][A] == "0"
    assert grades["alice"]["score"] == "17.5" and grades["alice"]["late_penalty"] == "0"
    # Canvas's LATE marker gives no time: recorded, no penalty.
    assert grades["erin"]["score"] == "18" and grades["erin"]["late"].startswith("late per")


def test_the_feedback_says_why_a_late_submission_scores_zero(loop):
    dave = loop["pages"]["after"]["dave"]
    assert "Handed in late" in dave and "1h 30m after the due date" in dave
    assert "late work scores 0" in dave
    assert "18 points are taken off, so this submission scores 0 of 18" in dave
    assert "Late submission penalty (Score: -18" in dave
    before = loop["pages"]["before"]["dave"]
    assert "and so will it once every answer is graded by hand" in before


def test_a_regrade_keeps_the_manual_grade_and_its_graded_status(loop):
    grades, exercises, canvas = loop["reports"]["after regrade"]
    assert loop["out"]["regrade"][1].count("graded") >= 3, loop["out"]["regrade"][1]
    assert grades["alice"]["to_grade_by_hand"] == "0", grades["alice"]
    assert grades["alice"]["score"] == "17.5"
    assert exercises[("alice", FREE_RESPONSE)]["points"] == "1.5"
    assert canvas["alice"][A] == "17.5" and canvas["dave"][A] == "0"
    with loop["course"].gradebook() as gb:
        for student, score in (("alice", 1.5), ("dave", 2.0)):
            notebook = gb.find_submission_notebook(A, A, student)
            grade = next(g for g in notebook.grades if g.name == FREE_RESPONSE)
            assert (grade.manual_score, grade.needs_manual_grade) == (score, False), student
    assert "to grade by hand" not in loop["out"]["report after regrade"][1]


def test_feedback_before_manual_grading_says_not_graded_yet(loop):
    alice = loop["pages"]["before"]["alice"]
    lines = score_list(alice)
    assert f"{FREE_RESPONSE} — written answer: not graded yet (of 2)" in lines, lines
    assert not any(line.startswith(f"{FREE_RESPONSE} — written answer: 0") for line in lines)
    assert "Not graded yet (of 2 points)" in alice
    assert "1 answer not graded yet" in alice
    printed = loop["out"]["feedback before"][1]
    assert "warning: 3 submissions have answers still to grade by hand" in printed, printed
    assert f"alice/{A}" in printed
    assert "warning" not in loop["out"]["feedback after"][1]
    after = score_list(loop["pages"]["after"]["alice"])
    assert f"{FREE_RESPONSE} — written answer: 1.5/2" in after, after
    assert "Not graded yet" not in loop["pages"]["after"]["alice"]


def test_every_line_of_the_score_list_names_its_exercise(loop):
    lines = score_list(loop["pages"]["after"]["alice"])
    assert "Comment" not in lines, lines
    assert f"{FREE_RESPONSE} — comment" in lines, lines
    assert all(" — " in line for line in lines), lines


def test_a_comment_on_any_answer_is_named_by_its_exercise():
    """nbgrader lists a "Comment" line for every answer cell with a comment (an unanswered code
    cell gets "No response."), four of them in one export: each names its exercise."""
    from grader.report.feedback import name_scores, score_labels

    labels = score_labels(harness.read(harness.release_path(A)))
    html = ('<div id="toc"><ol><li><a href="#comment-tanh_derivative">Comment</a></li>'
            '<li><a href="#comment-unknown_cell">Comment</a></li></ol>')
    assert score_list(name_scores(html, labels)) == ["tanh_derivative — comment",
                                                     "unknown_cell — comment"]


def test_the_students_feedback_folder_holds_no_grader_records(loop):
    course = loop["course"]
    for student in ("alice", "dave", "erin"):
        names = sorted(p.name for p in course.feedback_dir(student, A).iterdir())
        assert names == [f"{A}.html"], (student, names)
    assert loop["files"]["before"] == [f"{A}.html"]
