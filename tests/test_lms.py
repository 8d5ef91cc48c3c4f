"""The LMS round trip without grading: what collect keeps of an export's lateness, and the CSV
files that report writes for Canvas's and Moodle's gradebook imports.

(The late penalty that follows from a submission time is checked end to end in
test_postgres_gradebook.py.)
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from grader.core.course import Course
from grader.prepare.collect import LMS_LATE, TIMESTAMP, collect, read_times
from grader.report.grades import Row, write_lms_csv
from tests import harness

A = "01_tanh_derivatives"


@pytest.fixture()
def course(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    return Course(root)


def notebook_text() -> str:
    return nbformat.writes(harness.read(harness.release_path(A)))


def canvas_export(path, entries: dict[str, str]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return path


def test_canvas_late_marker_is_kept_and_times_give_the_time(course, tmp_path):
    export = canvas_export(tmp_path / "submissions.zip", {
        f"doejane_LATE_1234_5678_{A}.ipynb": notebook_text(),
        f"roeric_2345_6789_{A}-1.ipynb": notebook_text(),
    })
    result = collect(course, export, pattern="canvas")
    assert sorted(p.student for p in result.placed) == ["1234", "2345"]
    late = course.submission_dir("1234", A)
    assert (late / LMS_LATE).is_file() and not (late / TIMESTAMP).exists()
    assert not (course.submission_dir("2345", A) / LMS_LATE).exists()
    notes = {p.student: p.notes for p in result.placed}
    assert any("marked LATE by Canvas" in n for n in notes["1234"])

    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\n1234,2026-03-01T18:30:00+01:00\n9999,"
                     "2026-03-01T10:00:00Z\n")
    again = collect(course, export, pattern="canvas", times=read_times(times))
    assert (late / TIMESTAMP).read_text() == "2026-03-01 17:30:00.000000 UTC\n"
    assert not (late / LMS_LATE).exists(), "the time replaces the bare marker"
    assert again.unused_times == ["9999"]


def test_nbgrader_timestamp_in_an_entry_is_kept(course, tmp_path):
    folder = tmp_path / "exchange" / "jdoe"
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_text(notebook_text())
    (folder / TIMESTAMP).write_text("2026-03-01 09:00:00.000000 UTC\n")
    result = collect(course, tmp_path / "exchange", assignment=A)
    placed = course.submission_dir("jdoe", A)
    assert (placed / TIMESTAMP).read_text() == "2026-03-01 09:00:00.000000 UTC\n"
    assert any("kept its timestamp.txt" in n for n in result.placed[0].notes)


@pytest.mark.parametrize("text, expected", [
    ("student,when\njdoe,2026-03-01T10:00:00Z\n", "needs a header with the columns"),
    ("student,submitted_at\njdoe,2026-03-01 10:00\n", "has no time zone"),
    ("student,submitted_at\njdoe,yesterday\n", "is not a time"),
])
def test_times_that_cannot_be_read_are_refused_with_the_reason(tmp_path, text, expected):
    path = tmp_path / "times.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_times(path)


def test_times_accept_offsets_and_utc():
    from grader.prepare.collect import parse_time

    assert parse_time("2026-03-01T18:30:00+01:00", "t") == datetime(
        2026, 3, 1, 17, 30, tzinfo=timezone.utc)
    assert parse_time("2026-03-01 17:30:00 UTC", "t") == parse_time("2026-03-01T17:30Z", "t")


def rows() -> list[Row]:
    return [Row("1234", A, "graded", score=16, max_score=18),
            Row("1234", "02_jacobian_products", "graded", score=10, max_score=18,
                to_grade_by_hand=1),
            Row("2345", A, "failed", max_score=18),
            Row("jdoe", A, "flagged", score=7.5, max_score=18)]


def read(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_canvas_csv_has_canvas_columns_and_only_final_scores(tmp_path):
    path, warnings = write_lms_csv(rows(), "canvas", tmp_path)
    table = read(path)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        A, "02_jacobian_products"]
    assert table[1] == ["", "1234", "", "", "", "16", ""]
    assert table[2] == ["", "2345", "", "", "", "", ""]
    assert table[3] == ["", "", "", "jdoe", "", "7.5", ""]
    assert warnings == ["left empty until graded by hand: 1234/02_jacobian_products"]


def test_canvas_csv_takes_names_sections_and_titles_from_canvas_export(tmp_path):
    roster = tmp_path / "export.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,01_tanh_derivatives (88),Current Score\n"
        "    Points Possible,,,,,18,\n"
        '"Doe, Jane",1234,S001,jdoe1,Section A,,\n'
        '"Public, John",777,S002,jpub,Section B,,\n')
    path, warnings = write_lms_csv(rows()[:1] + rows()[3:], "canvas", tmp_path, roster)
    table = read(path)
    assert table[0][5] == "01_tanh_derivatives (88)"
    assert table[1] == ["Doe, Jane", "1234", "S001", "jdoe1", "Section A", "16"]
    assert len(table) == 2
    assert warnings == ["jdoe is not in the roster export.csv: left out"]


def test_moodle_csv_has_an_identifier_column_and_a_column_per_item(tmp_path):
    path, _ = write_lms_csv(rows(), "moodle", tmp_path)
    assert read(path) == [["ID number", A, "02_jacobian_products"],
                          ["1234", "16", ""], ["2345", "", ""], ["jdoe", "7.5", ""]]


def test_roster_that_is_not_a_canvas_export_is_refused(tmp_path):
    roster = tmp_path / "other.csv"
    roster.write_text("name,email\n")
    with pytest.raises(ValueError, match="not a Canvas gradebook export"):
        write_lms_csv(rows(), "canvas", tmp_path, roster)
