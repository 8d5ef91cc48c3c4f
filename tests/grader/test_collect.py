"""grader.prepare.collect: placing an LMS export's entries."""

from __future__ import annotations

import re
import zipfile

import nbformat
import pytest

from grader.core.course import Course
from grader.prepare.collect import DEFAULT_PATTERN, collect

A = "01_tanh_derivatives"


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
