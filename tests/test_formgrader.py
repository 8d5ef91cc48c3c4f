"""The instructor's loop in a real browser: JupyterLab's nbgrader formgrader on an autograded
course, with the SQLite gradebook and with a PostgreSQL one.

A grader opens *Nbgrader > Formgrader* in JupyterLab, sees the released assignment (no exchange
warning, not a draft) and its autograded submissions, types a score and a comment on alice's
free-response answer, and ``grader report`` then counts them, with nothing left to grade by hand.
Needs Debian's chromium, like tests/test_browser.py (``make test`` installs it).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import nbformat
import pytest

from grader.core.course import Course
from tests import harness, postgres
from tests.offline_browser import CHROMIUM, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

require_chromium()

from playwright.sync_api import sync_playwright  # noqa: E402

A = "01_tanh_derivatives"
FREE_RESPONSE = "free_response_saturation"
COMMENT = "Right mechanism; say which initialisation you would use."


run = harness.run_grader


def graded_course(root: Path, db_url: str | None) -> Course:
    """A course with notebook 01 released and two autograded submissions: alice (the solution),
    bob (the release handed in blank)."""
    database = ["--db", db_url] if db_url else []
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    assert run("release", "--root", root, *database)[0] == 0
    release = harness.read(root / "notebooks" / A / f"{A}.ipynb")
    export = root.parent / "export"
    export.mkdir()
    nbformat.write(harness.filled_release(A, {}, release=release), str(export / f"alice_{A}.ipynb"))
    nbformat.write(release, str(export / f"bob_{A}.ipynb"))
    assert run("collect", export, "--root", root, *database)[0] == 0
    code, text = run("autograde", "--root", root, "--jobs", "2", "--no-progress", *database)
    assert code == 0, text
    return Course(root, db_url)


@contextlib.contextmanager
def jupyterlab(server_root: Path, course: Course):
    """`make lab`'s JupyterLab, its formgrader pointed at ``course`` by an nbgrader_config.py
    that loads the course's own and says where this course and its gradebook are."""
    config = server_root.parent / "config"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(harness.ROOT / 'grader' / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course.root)!r}\n"
        f"c.CourseDirectory.db_url = {course.db_url!r}\n"
        f"c.Exchange.root = {str(course.exchange)!r}\n")
    port, token = postgres.free_port(), "formgrader-test-token"
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(config)}
    log = open(server_root.parent / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={server_root}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=config)
    base = f"http://127.0.0.1:{port}"
    try:
        started = postgres.wait_for(lambda: _answers(f"{base}/api/status?token={token}")
                                    or server.poll() is not None, timeout=120)
        if not started or server.poll() is not None:
            raise RuntimeError(f"JupyterLab did not start: {Path(log.name).read_text()}")
        yield f"{base}/lab?reset&token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def instructor(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        db_url = (stack.enter_context(postgres.server())
                  if request.param == "postgresql" else None)
        server_root = tmp_path_factory.mktemp(f"formgrader-{request.param}") / "lab"
        course = graded_course(server_root / "course", db_url)
        before = run("report", "--root", course.root, *(["--db", db_url] if db_url else []))
        url = stack.enter_context(jupyterlab(server_root, course))
        yield {"course": course, "url": url, "db": db_url, "report before": before}


def free_response(course: Course, student: str):
    with course.gradebook() as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        grade = next(g for g in notebook.grades if g.name == FREE_RESPONSE)
        comment = next(c for c in notebook.comments if c.name == FREE_RESPONSE)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def grades_csv(course: Course, name: str) -> list[dict[str, str]]:
    with open(course.reports / name, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_grader_grades_a_written_answer_in_the_formgrader(instructor, tmp_path):
    course = instructor["course"]
    alice = next(r for r in grades_csv(course, "grades.csv") if r["student"] == "alice")
    assert alice["to_grade_by_hand"] == "1" and alice["score"] == "16"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(instructor["url"])
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click(timeout=90_000)
            page.get_by_text("Formgrader", exact=True).click()
            formgrader = page.frame_locator("iframe[src*='formgrader']")

            # Manage Assignments: released (the exchange is set up), with its two submissions.
            row = formgrader.locator("tr", has_text=A).first
            row.wait_for(timeout=60_000)
            cells = row.locator("td").all_inner_texts()
            assert "released" in cells and "2" in cells, cells
            body = formgrader.locator("body").inner_text()
            assert "draft" not in body and "exchange" not in body.lower(), body[:2000]
            page.screenshot(path=str(tmp_path / "manage_assignments.png"))

            # Manual Grading: the assignment, its notebook, the autograded submissions.
            formgrader.get_by_role("link", name="Manual Grading").first.click()
            formgrader.get_by_role("link", name=A).click()
            formgrader.get_by_role("link", name=A).click()
            formgrader.get_by_role("link", name="Submission #2").wait_for(timeout=60_000)
            assert formgrader.locator("tbody tr").count() == 2
            formgrader.get_by_text("Show All Names").click()
            formgrader.get_by_role("link", name="alice").click()

            score = formgrader.locator(f"input.score#{FREE_RESPONSE}")
            score.wait_for(timeout=60_000)
            comment = formgrader.locator(f"textarea#{FREE_RESPONSE}-comment")
            saved = False
            # An edit typed while the page was still binding its fields is never sent (seen
            # once in a full parallel run): type it again until the gradebook has it.
            for _ in range(3):
                score.fill("1.5")
                score.press("Tab")
                comment.fill(COMMENT)
                comment.press("Tab")
                saved = postgres.wait_for(
                    lambda: free_response(course, "alice") == (1.5, False, COMMENT), timeout=15)
                if saved:
                    break
            page.screenshot(path=str(tmp_path / "graded.png"), full_page=False)
            assert saved, free_response(course, "alice")
        finally:
            browser.close()

    database = ["--db", instructor["db"]] if instructor["db"] else []
    code, summary = run("report", "--root", course.root, *database)
    assert code == 0, summary
    alice = next(r for r in grades_csv(course, "grades.csv") if r["student"] == "alice")
    assert alice["to_grade_by_hand"] == "0" and alice["score"] == "17.5"
    exercise = next(r for r in grades_csv(course, "exercises.csv")
                    if r["student"] == "alice" and r["exercise"] == FREE_RESPONSE)
    assert exercise["points"] == "1.5"
    assert "to grade by hand" in instructor["report before"][1]
    assert "to grade by hand" not in summary, summary
