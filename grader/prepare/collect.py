"""Importing submissions as a learning-management system exports them.

An export is a folder or a zip file with one entry per student: a notebook file or a folder. The
student id is read from the entry's name with a regular expression whose group ``student`` is the
id; by default the name up to its first underscore, or the whole name without ``.ipynb``:

    jdoe_01_tanh_derivatives.ipynb   jdoe.ipynb   jdoe/   jdoe_attempt1/      ->  jdoe

Ids may use letters, digits, '.', '_' and '-'. The assignment is ``--assignment`` when given, else
the assignment id found in the notebook's (or the entry's) name, else the only released one. Each
submission lands in nbgrader's ``submitted/<student>/<assignment>/<assignment>.ipynb``; a
notebook handed in under another name is renamed (and said so). What cannot be placed is listed
with the reason, nothing is guessed silently.

Lateness travels with the submission, so that nbgrader's late penalties apply (against the due
date given to ``release --due``):

- an entry holding nbgrader's own ``timestamp.txt`` (an export of nbgrader's exchange) keeps it;
- ``times`` (``--times CSV``: columns ``student`` and ``submitted_at``, times with their time zone)
  writes ``timestamp.txt`` for the students it names, whatever the export said;
- Canvas marks a late file in its name (``doejane_LATE_1234_5678_nb.ipynb``, see Canvas's
  ``ContentZipper#get_filename``) but gives no time: such a submission gets ``lms-late.txt``,
  which the report shows, until ``--times`` gives its time.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.core.course import Course, submission_checksum, valid_student_id

DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*?)(?:_.*|\.ipynb)?$"
# Canvas's "Download Submissions": <sortable name>[_LATE]_<user id>_<attachment id>_<file name>.
PATTERNS = {"canvas": r"^[^_]+_(?:LATE_)?(?P<student>\d+)_"}
CANVAS_LATE = re.compile(r"(?:^|_)LATE_")  # names are lower-cased by Canvas; the marker is not
TIMESTAMP = "timestamp.txt"  # nbgrader's submission time, read by its autograde
LMS_LATE = "lms-late.txt"  # the export said "late" without saying when
_IGNORED = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store"}
# An export is notebooks: a zip that would unpack to more is refused before anything is written
# (zipfile never writes more than a member's declared size).
MAX_UNPACKED_BYTES = 4 * 2**30
MAX_MEMBER_BYTES = 256 * 2**20
MAX_MEMBERS = 100_000


@dataclass
class Placed:
    student: str
    assignment: str
    source: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Collection:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)
    unused_times: list[str] = field(default_factory=list)  # students of --times not placed


def read_times(path: Path) -> dict[str, datetime]:
    """``student -> submitted_at`` (UTC) from a CSV with those two columns and a header."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--times: {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    columns = {name.strip().lower().replace("-", "_").replace(" ", "_"): name
               for name in (rows[0].keys() if rows else [])}
    if not {"student", "submitted_at"} <= set(columns):
        raise ValueError(f"--times: {path.name} needs a header with the columns student and "
                         f"submitted_at; found: {', '.join(columns) or 'no header'}")
    times = {}
    for number, row in enumerate(rows, start=2):
        student = (row[columns["student"]] or "").strip()
        text = (row[columns["submitted_at"]] or "").strip()
        if not student and not text:
            continue
        times[student] = parse_time(text, f"--times: {path.name} line {number}")
    return times


def parse_time(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"{where}: {text!r} is not a time; expected ISO 8601 with its time "
                         "zone, e.g. 2026-03-01T17:05:00+01:00 or 2026-03-01 16:05:00Z") \
            from error
    if moment.tzinfo is None:
        raise ValueError(f"{where}: {text!r} has no time zone, so its lateness is unknown; "
                         "write it as 2026-03-01T17:05:00+01:00 (or Z for UTC)")
    return moment.astimezone(timezone.utc)


def nbgrader_timestamp(moment: datetime) -> str:
    """The format nbgrader writes to timestamp.txt (and parses back)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The export's entries, and the hidden ones (names starting with '.') that are not
    collected; operating-system litter (``__MACOSX``, ``.DS_Store``) is neither."""
    def split(directory: Path) -> tuple[list[Path], list[Path]]:
        found = sorted(p for p in directory.iterdir() if p.name not in _IGNORED)
        return ([p for p in found if not p.name.startswith(".")],
                [p for p in found if p.name.startswith(".")])

    entries, hidden = split(folder)
    # An export often wraps everything in one folder: look inside it.
    while len(entries) == 1 and entries[0].is_dir() and not _any_notebook_at(entries[0]):
        entries, more = split(entries[0])
        hidden += more
    return entries, hidden


def _any_notebook_at(folder: Path) -> bool:
    return any(p.suffix == ".ipynb" for p in folder.iterdir() if p.is_file())


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        largest = max((m.file_size for m in members), default=0)
        total = sum(m.file_size for m in members)
        if len(members) > MAX_MEMBERS or largest > MAX_MEMBER_BYTES or total > MAX_UNPACKED_BYTES:
            raise ValueError(
                f"{archive.name} would unpack to {total / 2**20:,.0f} MiB in {len(members):,} "
                f"files (largest {largest / 2**20:,.0f} MiB); an export of notebooks stays under "
                f"{MAX_UNPACKED_BYTES / 2**30:g} GiB, {MAX_MEMBERS:,} files and "
                f"{MAX_MEMBER_BYTES / 2**20:g} MiB per file: refused, nothing was written")
        for member in members:
            destination = (target / member.filename).resolve()
            if not destination.is_relative_to(target.resolve()):
                raise ValueError(f"{archive.name}: unsafe path in the archive: {member.filename}")
        zf.extractall(target)


def _files(entry: Path) -> list[Path]:
    if entry.is_file():
        return [entry]
    return sorted(p for p in entry.rglob("*") if p.is_file()
                  and not any(part in _IGNORED or part.startswith(".")
                              for part in p.relative_to(entry).parts))


def _assignment_for(entry: Path, notebooks: list[Path], known: list[str],
                    forced: str | None) -> str | None:
    if forced:
        return forced
    for name in [*(p.stem for p in notebooks), entry.name]:
        matches = [a for a in known if a in name]
        if matches:
            return max(matches, key=len)
    return known[0] if len(known) == 1 else None


def collect(course: Course, path: Path, assignment: str | None = None,
            pattern: str = DEFAULT_PATTERN, dry_run: bool = False,
            times: dict[str, datetime] | None = None) -> Collection:
    """Place every submission of the export at ``path`` (a folder or a .zip) in the course;
    ``times`` (student -> submission time) overrides what the export says about lateness."""
    path = Path(path)
    regex = re.compile(PATTERNS.get(pattern, pattern))
    if "student" not in regex.groupindex:
        raise ValueError(f"the pattern needs a group named 'student': {pattern}")
    known = course.released_assignments() or course.source_assignments()
    if assignment and assignment not in known:
        raise ValueError(f"unknown assignment {assignment!r}; known: {', '.join(known)}")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    with tempfile.TemporaryDirectory(prefix="rnn-collect-") as scratch:
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise ValueError(f"{path} is neither a folder nor a zip file")
            _unzip(path, Path(scratch))
            folder = Path(scratch)
        else:
            folder = path
        result = _collect_folder(course, folder, known, assignment, regex, dry_run, times or {})
    result.unused_times = sorted(set(times or {}) - {p.student for p in result.placed})
    return result


def _collect_folder(course: Course, folder: Path, known: list[str], forced: str | None,
                    regex: re.Pattern, dry_run: bool, times: dict[str, datetime]
                    ) -> Collection:
    result = Collection()
    chosen: dict[tuple[str, str], tuple[Path, list[Path]]] = {}
    entries, hidden = _entries(folder)
    for entry in hidden:
        result.unplaced.append((entry.name, "a hidden entry (its name starts with '.'): not "
                                "collected; rename it to collect it"))
    for entry in entries:
        match = regex.search(entry.name)
        student = match.group("student") if match else None
        if not student:
            result.unplaced.append((entry.name, "no student id in the name (see --pattern)"))
            continue
        if not valid_student_id(student):
            result.unplaced.append((entry.name, f"'{student}' is not a usable student id "
                                    "(letters, digits, '.', '_' and '-' only)"))
            continue
        files = _files(entry)
        notebooks = [p for p in files if p.suffix == ".ipynb"]
        if entry.is_file() and not notebooks:
            result.unplaced.append((entry.name, "not a notebook (.ipynb) or a folder"))
            continue
        target = _assignment_for(entry, notebooks, known, forced)
        if target is None:
            result.unplaced.append((entry.name, "cannot tell which assignment it is "
                                    f"(none of {', '.join(known)} in its name); use "
                                    "--assignment"))
            continue
        key = (student, target)
        if key in chosen:
            # Entries come in name order, so the later attempt (..._2, ..._attempt2) wins.
            result.unplaced.append((chosen[key][0].name, f"a second submission of {student} "
                                    f"for {target}; kept {entry.name}, the last by name"))
        chosen[key] = (entry, files)
    for (student, target), (entry, files) in chosen.items():
        placed = _place(course, student, target, entry, files, dry_run, times.get(student))
        if isinstance(placed, str):
            result.unplaced.append((entry.name, placed))
        else:
            result.placed.append(placed)
    return result


def _place(course: Course, student: str, assignment: str, entry: Path, files: list[Path],
           dry_run: bool, submitted_at: datetime | None = None) -> Placed | str:
    """Copy one student's files (and what the export says about their lateness); return what was
    done, or why nothing could be."""
    expected = f"{assignment}.ipynb"
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    placed = Placed(student, assignment, entry.name)
    names = {}
    exact = [p for p in notebooks if p.name == expected]
    if exact:
        names[exact[0]] = expected
    elif len(notebooks) == 1:
        names[notebooks[0]] = expected
        if notebooks[0].name != expected:
            placed.notes.append(f"renamed {notebooks[0].name} -> {expected}")
    elif notebooks:
        return (f"{len(notebooks)} notebooks and none is named {expected}: "
                f"{', '.join(p.name for p in notebooks)}")
    else:
        placed.notes.append(f"no notebook (placed anyway; autograde will report "
                            f"{expected} missing)")
    base = entry if entry.is_dir() else entry.parent
    layout = {}
    for path in files:
        if path.suffix == ".ipynb" and path not in names:
            placed.notes.append(f"left out the extra notebook {path.name}")
            continue
        layout[path] = names.get(path) or str(path.relative_to(base))
    lateness = _lateness(entry, layout, submitted_at, placed)
    target = course.submission_dir(student, assignment)
    if dry_run:
        return placed
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=_ensure(course.submitted)))
    try:
        for path, relative in layout.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / relative)
        for name, text in lateness.items():
            (staging / name).write_text(text)
        if target.exists():
            if submission_checksum(target) == submission_checksum(staging):
                placed.notes.append("unchanged since the last collect")
                return placed
            placed.notes.append("replaced the earlier submission")
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return placed


def _lateness(entry: Path, layout: dict[Path, str], submitted_at: datetime | None,
              placed: Placed) -> dict[str, str]:
    """The files that carry lateness into the submission (dropping the export's own where
    ``submitted_at`` replaces it), with a note on each."""
    if submitted_at is not None:
        for path in [p for p, relative in layout.items() if relative in (TIMESTAMP, LMS_LATE)]:
            del layout[path]
        placed.notes.append(f"submitted at {nbgrader_timestamp(submitted_at)} (--times)")
        return {TIMESTAMP: nbgrader_timestamp(submitted_at) + "\n"}
    kept = [p for p, relative in layout.items() if relative == TIMESTAMP]
    if kept:
        placed.notes.append(f"kept its {TIMESTAMP}: {kept[0].read_text().strip()}")
        return {}
    if CANVAS_LATE.search(entry.name):
        placed.notes.append("marked LATE by Canvas, without a time: give --times for nbgrader's "
                            "late penalty")
        return {LMS_LATE: f"Canvas marked {entry.name} late; the export gives no time.\n"}
    return {}


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
