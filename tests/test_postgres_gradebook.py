"""The instructor's loop on a PostgreSQL gradebook: release (with a due date), collect (with the
submission times of an LMS), autograde, a manual grade as the formgrader writes it, report (with
Canvas's import file), feedback, against a private PostgreSQL server.

Two ``autograde`` runs (one of them regrading bob, both grading carol) and a teaching assistant's
manual grades go at the same time; afterwards every submission is in the gradebook once, with
the grades a quiet run gives, and the last manual grade written is still there.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile

import nbformat
import pytest
from nbgrader.api import Grade, Gradebook, SubmittedAssignment
from sqlalchemy import create_engine, func, select, text

from grader.core.course import Course
from grader.core.repository import gradebook_url
from tests import harness, postgres
from tests.answers.nb01_tanh_derivatives import EXERCISES

pytestmark = pytest.mark.xdist_group("postgres")

A = "01_tanh_derivatives"
FREE_RESPONSE = "free_response_saturation"


run = harness.run_grader


def give_manual_grade(db_url: str, student: str, score: float, comment: str) -> None:
    """What the formgrader's grade and comment handlers do when a grader types a score and a
    comment (nbgrader.server_extensions.formgrader.apihandlers)."""
    with Gradebook(gradebook_url(db_url), "rnn-gradients") as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        grade = next(g for g in notebook.grades if g.name == FREE_RESPONSE)
        grade.manual_score = score
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        written = next(c for c in notebook.comments if c.name == FREE_RESPONSE)
        written.manual_comment = comment
        gb.db.commit()


def grader_command(root, db_url, *args) -> list[str]:
    return [sys.executable, "-m", "grader", "autograde", "--root", str(root), "--db", db_url,
            "--no-progress", "--jobs", "1", *args]


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    with postgres.server() as db_url:
        root = tmp_path_factory.mktemp("course")
        shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
        out = {"release": run("release", "--root", root, "--db", db_url, "--due",
                              "2026-03-01T17:00:00+01:00")}
        release = harness.read(root / "notebooks" / A / f"{A}.ipynb")
        wrong = {name: next(iter(answers.wrong.values())) for name, answers in EXERCISES.items()}
        export = tmp_path_factory.mktemp("export") / "export.zip"
        with zipfile.ZipFile(export, "w") as zf:
            for student, answers in (("alice", {}), ("bob", wrong), ("dave", {})):
                notebook = harness.filled_release(A, answers, release=release)
                zf.writestr(f"{student}_{A}.ipynb", nbformat.writes(notebook))
            zf.writestr(f"carol_{A}.ipynb", nbformat.writes(release))
        times = export.with_name("times.csv")
        times.write_text("student,submitted_at\nalice,2026-03-01T15:59:00+01:00\n"
                         "dave,2026-03-01T18:30:00+01:00\n")
        out["collect"] = run("collect", export, "--root", root, "--db", db_url, "--times", times)
        out["first autograde"] = run("autograde", "--root", root, "--db", db_url, "--jobs", "2",
                                     "--no-progress", "--student", "alice", "bob")
        course = Course(root, db_url)
        out["before"] = auto_scores(course)

        # Two runs and a grader at once: regrading bob, grading carol twice and dave once.
        environment = {**os.environ, "TMPDIR": str(tmp_path_factory.mktemp("runs"))}
        runs = [subprocess.Popen(grader_command(root, db_url, *args), cwd=harness.ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env=environment)
                for args in (("--force", "--student", "bob", "carol"),
                             ("--student", "carol", "dave"))]
        written = []

        def grade_bob_meanwhile():
            score = 0.0
            while any(r.poll() is None for r in runs):
                score = 0.5 if score >= 2 else score + 0.5
                give_manual_grade(db_url, "bob", score, f"comment {len(written)}")
                written.append((score, f"comment {len(written)}"))
                time.sleep(0.3)

        grader = threading.Thread(target=grade_bob_meanwhile)
        grader.start()
        out["runs"] = [(r.wait(timeout=600), r.stdout.read()) for r in runs]
        grader.join()
        out["manual grades written"] = written
        out["bob after the runs"] = free_response(course, "bob")

        give_manual_grade(db_url, "alice", 1.5, "Good: names the saturated regions.")
        out["report"] = run("report", "--root", root, "--db", db_url, "--lms", "canvas")
        out["feedback"] = run("feedback", "--root", root, "--db", db_url)
        yield {"root": root, "db_url": db_url, "course": course, "out": out}


def auto_scores(course: Course) -> dict[str, dict[str, float | None]]:
    with course.gradebook() as gb:
        return {s.student.id: {g.name: g.auto_score for n in s.notebooks for g in n.grades}
                for s in gb.find_assignment(A).submissions}


def free_response(course: Course, student: str) -> tuple[float | None, str | None]:
    with course.gradebook() as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        grade = next(g for g in notebook.grades if g.name == FREE_RESPONSE)
        comment = next(c for c in notebook.comments if c.name == FREE_RESPONSE)
        return grade.manual_score, comment.manual_comment


def test_every_command_ran_on_postgresql(loop):
    out = loop["out"]
    for name in ("release", "collect", "first autograde", "report", "feedback"):
        assert out[name][0] == 0, (name, out[name][1])
    for code, printed in out["runs"]:
        assert code == 0, printed
    assert loop["db_url"].startswith("postgresql://")
    assert not (loop["root"] / "grader" / "gradebook.db").exists(), "no SQLite file on the side"


def test_concurrent_runs_lose_and_double_nothing(loop):
    course = loop["course"]
    engine = create_engine(course.db_url)
    try:
        with engine.connect() as connection:
            per_student = dict(connection.execute(
                select(SubmittedAssignment.student_id, func.count()).group_by(
                    SubmittedAssignment.student_id)).all())
            grades = connection.execute(select(func.count()).select_from(Grade)).scalar()
            results = connection.execute(text(
                "SELECT student, count(*) FROM grader_result GROUP BY student")).all()
    finally:
        engine.dispose()
    assert per_student == {"alice": 1, "bob": 1, "carol": 1, "dave": 1}
    with course.gradebook() as gb:
        cells = len(gb.find_notebook(A, A).grade_cells)
    assert grades == 4 * cells
    assert dict(results) == {"alice": 1, "bob": 1, "carol": 1, "dave": 1}


def test_regrading_at_the_same_time_gives_the_grades_of_a_quiet_run(loop):
    after = auto_scores(loop["course"])
    before = loop["out"]["before"]
    assert after["alice"] == before["alice"] and after["bob"] == before["bob"]
    assert after["dave"] == after["alice"], "dave handed in the same answers as alice"
    assert all(not score for name, score in after["carol"].items() if name != FREE_RESPONSE)


def test_the_manual_grade_written_during_the_runs_is_kept(loop):
    written = loop["out"]["manual grades written"]
    assert len(written) >= 3, "the grader wrote while the runs were going"
    assert loop["out"]["bob after the runs"] == written[-1]


def report_rows(course: Course, name: str) -> dict[str, dict[str, str]]:
    with open(course.reports / name, newline="") as handle:
        return {r.get("student") or r["SIS Login ID"]: r for r in csv.DictReader(handle)}


def test_report_shows_the_manual_grade_and_feedback_is_written(loop):
    course = loop["course"]
    rows = report_rows(course, "grades.csv")
    assert rows["alice"]["score"] == "17.5" and rows["alice"]["to_grade_by_hand"] == "0"
    assert rows["carol"]["score"] == "0"
    assert (course.feedback_dir("alice", A) / f"{A}.html").is_file()
    assert "Good: names the saturated regions." in (
        course.feedback_dir("alice", A) / f"{A}.html").read_text()


def test_a_submission_after_the_due_date_gets_nbgraders_late_penalty(loop):
    rows = report_rows(loop["course"], "grades.csv")
    assert rows["alice"]["submitted_at"] == "2026-03-01 14:59:00 UTC"
    assert rows["alice"]["late"] == "" and rows["alice"]["late_penalty"] == "0"
    assert rows["dave"]["submitted_at"] == "2026-03-01 17:30:00 UTC"
    assert rows["dave"]["late"] == "1h 30m"
    assert rows["dave"]["late_penalty"] == "16" and rows["dave"]["score"] == "0"
    assert rows["carol"]["submitted_at"] == "" and rows["carol"]["late"] == ""


def test_canvas_import_file_has_the_final_scores(loop):
    rows = report_rows(loop["course"], "canvas_import.csv")
    assert rows["alice"][A] == "17.5" and rows["carol"][A] == "0"
    assert rows["dave"][A] == "", "his written answer still waits for a grader"
    assert re.search(rf"canvas: left empty until graded by hand: .*dave/{A}",
                     loop["out"]["report"][1])
