"""Command line for instructors and self-paced learners: ``python -m grader <command>``
(or ``rnn-grader <command>``).

A term's work, in order:

  release                    regenerate notebooks/ from solutions/, register the assignments
  collect EXPORT.zip         put the LMS export into grader/submitted/<student>/<assignment>/
  autograde --jobs 4         grade everything not graded yet, in parallel
  report                     grades CSVs, a summary, score plots in grader/reports/
  feedback                   one HTML per student and assignment in grader/feedback/

and, for a learner working alone:

  check my_notebook.ipynb    grade a notebook against the visible and hidden tests
  check NB --exercise NAME   only one exercise, in seconds
  progress                   a table of every notebook under notebooks/: what passes, what is left

Every command takes --help. Exit status: 0 on success; 1 when something could not be done
(a submission failed to grade, a checked notebook lost points); 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.core.course import Course
from grader.core.repository import REPO_ROOT


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="course directory (default: this repository)")
    common.add_argument("--db", default=None, metavar="URL",
                        help="the gradebook's database: sqlite:///PATH or "
                             "postgresql://USER@HOST:PORT/NAME (default: db_url of "
                             "grader/nbgrader_config.py, SQLite at grader/gradebook.db)")
    parser = argparse.ArgumentParser(
        prog="python -m grader", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=description,
                                   parents=[common],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    release = command(
        "release", "regenerate notebooks/ from solutions/ and register the assignments",
        "Run `nbgrader generate_assignment --force` for each assignment: the released notebook\n"
        "(solutions and hidden tests removed) goes to notebooks/<id>/, and the gradebook learns\n"
        "the assignment's cells, hidden tests included, to grade submissions against.")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="assignment ids (default: every notebook in solutions/)")
    release.add_argument("--due", metavar="TIME",
                         help="due date of these assignments, with its time zone (e.g. "
                              "2026-03-01T17:00:00+01:00): a submission handed in later gets "
                              "nbgrader's late penalty (LateSubmissionPlugin in "
                              "grader/nbgrader_config.py)")

    from grader.prepare.collect import DEFAULT_PATTERN
    collect = command(
        "collect", "import an LMS export (folder or zip) into grader/submitted/",
        "Import submissions from a folder or a .zip with one entry (a notebook, or a folder)\n"
        "per student into grader/submitted/<student>/<assignment>/<assignment>.ipynb.\n\n"
        "The student id is read from each entry's name with --pattern; by default it is the\n"
        "name up to the first underscore, or the whole name without .ipynb:\n"
        "  jdoe_01_tanh_derivatives.ipynb, jdoe.ipynb, jdoe/, jdoe_attempt2/  ->  jdoe\n"
        "Ids may contain letters, digits, '.', '_' and '-'. The assignment is --assignment, or\n"
        "the assignment id in the notebook's name, or the only released assignment. A single\n"
        "notebook under another name is renamed; entries that cannot be placed are listed with\n"
        "the reason. Collecting again replaces a student's earlier submission.\n\n"
        "Lateness: an entry's own timestamp.txt (nbgrader's) is kept; Canvas's LATE marker in a\n"
        "file name is kept as lms-late.txt (Canvas gives no time); --times sets the time of the\n"
        "students it names, so that nbgrader's late penalty applies after `release --due`.")
    collect.add_argument("path", type=Path, metavar="PATH", help="a folder or a .zip file")
    collect.add_argument("--assignment", metavar="ID",
                         help="the assignment every entry belongs to")
    collect.add_argument("--pattern", default=DEFAULT_PATTERN, metavar="REGEX",
                         help="regular expression with a group named 'student', searched in "
                              "each entry's name, or 'canvas' for Canvas's numeric user ids "
                              "(default: %(default)s)")
    collect.add_argument("--times", type=Path, metavar="CSV",
                         help="submission times: a CSV with the columns student and "
                              "submitted_at (ISO 8601 with the time zone)")
    collect.add_argument("--dry-run", action="store_true",
                         help="say what would be placed, change nothing")

    autograde = command(
        "autograde", "grade submissions in parallel (skips those already graded)",
        "Grade every submission under grader/submitted/ with nbgrader, one worker process per\n"
        "submission, each in a temporary course holding only that notebook and the course\n"
        "files. Each result is stored as soon as it is ready, so an interrupted run loses\n"
        "nothing already graded. A submission whose files have not changed since it was\n"
        "graded is skipped unless --force.\n\n"
        "Status of each submission: graded; flagged (graded, but needs a look: a test cell\n"
        "edited or deleted, monkeypatching, a kernel that died); failed (could not be graded:\n"
        "not a notebook, notebook missing; its score stays EMPTY in reports, never 0); error\n"
        "(the grader itself failed; retried by the next run).")
    autograde.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                           help="submissions graded at once (default: 1; use the number of "
                                "cores)")
    autograde.add_argument("--timeout", type=int, default=None, metavar="S",
                           help="seconds a cell may run before it is interrupted and scores 0 "
                                "(default: Execute.timeout of grader/nbgrader_config.py)")
    autograde.add_argument("--submission-timeout", type=float, default=None, metavar="S",
                           help="seconds a whole submission may take before its worker is "
                                "stopped (default: 10 cell timeouts, at least 600)")
    autograde.add_argument("--student", nargs="+", action="extend", metavar="ID",
                           help="only these students")
    autograde.add_argument("--assignment", nargs="+", action="extend", metavar="ID",
                           help="only these assignments")
    autograde.add_argument("--force", action="store_true",
                           help="grade again submissions that were already graded")
    autograde.add_argument("--cluster", metavar="ADDRESS",
                           help="grade on the workers of the Dask cluster whose scheduler is at "
                                "ADDRESS (e.g. tcp://10.0.0.5:8786), as many at once as they "
                                "have threads, instead of local processes")
    autograde.add_argument("--no-progress", action="store_true", help="no progress bar")
    autograde.add_argument("--memory", type=float, default=4, metavar="GiB",
                           help="memory of each kernel and everything it starts (default: 4)")
    autograde.add_argument("--processes", type=int, default=256, metavar="N",
                           help="processes and threads each kernel may run at once "
                                "(default: 256)")
    autograde.add_argument("--cpu-seconds", type=int, default=3600, metavar="S",
                           help="CPU seconds each process of a kernel may use (default: 3600)")
    autograde.add_argument("--no-sandbox", action="store_true",
                           help="run kernels without the sandbox (not recommended: a submission "
                                "could then read solutions and change grades); recorded in the "
                                "report")

    report = command(
        "report", "grades CSVs per student and per exercise, summary, score plots",
        "Write grader/reports/grades.csv (student x assignment: status, score, max,\n"
        "late penalty, submission time, lateness, cells to grade by hand, issues),\n"
        "grader/reports/exercises.csv (student x assignment x exercise: points) and\n"
        "<assignment>_scores.png (points per exercise), and print a summary. Submissions that\n"
        "failed to grade have an empty score and their status says why.\n\n"
        "--lms canvas|moodle also writes grader/reports/<lms>_import.csv for the LMS's\n"
        "gradebook import; a score still waiting for a manual grade is left empty there.")
    report.add_argument("--lms", choices=("canvas", "moodle"),
                        help="also write the scores as this LMS's gradebook import reads them")
    report.add_argument("--roster", type=Path, metavar="CSV",
                        help="Canvas's own gradebook export, to fill in each student's name, "
                             "ids and section and the assignment columns' titles")

    feedback = command(
        "feedback", "one HTML file per student and assignment, hidden tests left out",
        "Write grader/feedback/<student>/<assignment>/<notebook>.html for every graded\n"
        "submission: the student's notebook with scores per test, the grader's notes, and no\n"
        "hidden test code (neither in cells nor in tracebacks).")
    feedback.add_argument("--student", nargs="+", action="extend", metavar="ID")
    feedback.add_argument("--assignment", nargs="+", action="extend", metavar="ID")

    check = command(
        "check", "grade your own notebook against the visible and hidden tests",
        "Grade NOTEBOOK as the instructor's autograde would, hidden tests included, in a\n"
        "temporary course (nothing is stored), and print points and messages per exercise,\n"
        "each exercise's line as soon as its tests have run.\n\n"
        "With --exercise NAME only that exercise is checked, in seconds: one kernel runs the\n"
        "setup cell, the earlier cells that define what the exercise uses, your answer and its\n"
        "visible and hidden tests (scored by nbgrader's rules; the instructor's autograde\n"
        "remains the grade). Exit status 0 only when every automatically graded point checked\n"
        "was earned.")
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    check.add_argument("--exercise", "-e", action="append", metavar="NAME",
                       help="only this exercise (the answer cell's name, e.g. tanh_derivative); "
                            "repeat for several")
    check.add_argument("--assignment", metavar="ID",
                       help="the assignment (default: from the file name or its cells)")
    check.add_argument("--timeout", type=int, default=None, metavar="S",
                       help="seconds a cell may run (default: the course's Execute.timeout)")

    progress = command(
        "progress", "a table of every notebook under notebooks/: passed, points, what is left",
        "Check every notebook under notebooks/ (or the ones given) as `check --exercise` does,\n"
        "all of its exercises at once, and print one line per notebook: exercises passed,\n"
        "points, and what is left (exercises not started or failing, written answers to\n"
        "write). Exit status 0 only when every automatically graded point was earned.")
    progress.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK",
                          help="notebooks to check (default: notebooks/<id>/<id>.ipynb of every "
                               "assignment)")
    progress.add_argument("--timeout", type=int, default=None, metavar="S",
                          help="seconds a cell may run (default: the course's Execute.timeout)")
    return parser


def _terminate(signum, frame):
    # SIGTERM (a job scheduler, `kill`) unwinds like Ctrl-C: scratch files are removed and the
    # workers stopped, grades already stored are kept.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        course = Course(args.root or REPO_ROOT, args.db)
        return COMMANDS[args.command](course, args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: grades stored so far are kept", file=sys.stderr)
        return 130


def _release(course: Course, args) -> int:
    from grader.core import repository

    chosen = args.assignments or course.source_assignments()
    unknown = [a for a in chosen if a not in course.source_assignments()]
    if unknown:
        raise ValueError(f"no solutions/<id>/<id>.ipynb for: {', '.join(unknown)}")
    (course.root / "grader").mkdir(exist_ok=True)
    root = None if course.root == repository.REPO_ROOT else course.root
    due = _parse_due(args.due) if args.due else None
    for assignment in repository.release(chosen, root=root, db_url=course.db_url):
        print(f"released {assignment} -> {course.release / assignment / assignment}.ipynb")
    if due is not None:
        with course.gradebook() as gradebook:
            for assignment in chosen:
                gradebook.update_or_create_assignment(assignment, duedate=due)
                print(f"{assignment} is due {due:%Y-%m-%d %H:%M} UTC")
    return 0


def _parse_due(text: str):
    from grader.prepare.collect import parse_time

    return parse_time(text, "--due").replace(tzinfo=None)  # nbgrader stores naive UTC


def _collect(course: Course, args) -> int:
    from grader.prepare.collect import collect, read_times

    times = read_times(args.times) if args.times else None
    result = collect(course, args.path, assignment=args.assignment, pattern=args.pattern,
                     dry_run=args.dry_run, times=times)
    verb = "would place" if args.dry_run else "placed"
    for placed in result.placed:
        notes = f"  ({'; '.join(placed.notes)})" if placed.notes else ""
        print(f"{verb} {placed.source} -> {placed.student}/{placed.assignment}{notes}")
    for entry, why in result.unplaced:
        print(f"NOT PLACED {entry}: {why}")
    students = {p.student for p in result.placed}
    print(f"{len(result.placed)} submissions of {len(students)} students {verb}; "
          f"{len(result.unplaced)} entries not placed")
    if result.unused_times:
        print(f"--times names students with no submission here: {', '.join(result.unused_times)}")
    return 0 if result.placed else 1


def _autograde(course: Course, args) -> int:
    from grader.execute.autograde import autograde
    from grader.execute.sandbox import GIB, Limits
    from grader.report.grades import collect_rows

    if args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if args.memory <= 0 or args.processes < 16 or args.cpu_seconds < 1:
        raise ValueError("--memory must be positive, --processes at least 16 (a kernel runs "
                         "several threads), --cpu-seconds at least 1")
    if args.no_sandbox:
        print("warning: --no-sandbox: kernels run with everything the grader can read and do; "
              "each result records it", file=sys.stderr)
    limits = Limits(memory=int(args.memory * GIB), tasks=args.processes,
                    cpu_seconds=args.cpu_seconds)
    summary = autograde(course, students=args.student, assignments=args.assignment,
                        jobs=args.jobs, timeout=args.timeout,
                        submission_timeout=args.submission_timeout, force=args.force,
                        progress=not args.no_progress, sandbox=not args.no_sandbox,
                        limits=limits, cluster=args.cluster)
    where = f"--cluster {args.cluster}" if args.cluster else f"--jobs {args.jobs}"
    print(f"graded {len(summary.graded)} submissions in {summary.seconds:.0f} s "
          f"({where}); skipped {len(summary.skipped)} already graded"
          + (" (--force grades them again)" if summary.skipped else ""))
    if summary.graded:
        rows = {(r.student, r.assignment): r for r in collect_rows(course)}
        table = []
        for result in sorted(summary.graded, key=lambda r: (r.assignment, r.student)):
            row = rows.get((result.student, result.assignment))
            score = (f"{row.score:g}/{row.max_score:g}" if row and row.score is not None
                     else "-")
            notes = ([result.reason] if result.reason else []) + [str(i) for i in result.issues]
            table.append((result.student, result.assignment, result.status, score, notes))
        print(_table(table))
    failed = summary.failed
    if failed:
        print(f"{len(failed)} submissions could not be graded; their score stays empty in "
              "reports")
    return 1 if failed else 0


def _table(rows: list[tuple[str, str, str, str, list[str]]]) -> str:
    headers = ("student", "assignment", "status", "score")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + "  issues"]
    for row in rows:
        cells = "  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths, strict=True))
        notes = row[4] or ["-"]
        lines.append(f"{cells}  {notes[0]}")
        lines += [" " * (sum(widths) + 8) + f"  {note}" for note in notes[1:]]
    return "\n".join(lines)


def _report(course: Course, args) -> int:
    from grader.report.grades import report

    if args.roster and args.lms != "canvas":
        raise ValueError("--roster is Canvas's gradebook export: use it with --lms canvas")
    rows, written, summary = report(course, lms=args.lms, roster=args.roster)
    print(summary, end="")
    for path in written:
        print(f"wrote {path}")
    return 0


def _feedback(course: Course, args) -> int:
    from grader.report.feedback import generate

    written, skipped = generate(course, students=args.student, assignments=args.assignment)
    for path in written:
        print(f"wrote {path}")
    for student, assignment, why in skipped:
        print(f"no feedback for {student}/{assignment}: {why}")
    return 0


def _check(course: Course, args) -> int:
    if args.exercise:
        from grader.learner.check import format_result
        from grader.learner.exercise import check_exercises

        result = check_exercises(args.notebook, args.exercise, assignment=args.assignment,
                                 timeout=args.timeout, source=course)
        print(format_result(result), end="")
        return 0 if result.complete else 1
    from grader.learner.check import check, format_line, format_result

    started = time.monotonic()

    def finished(exercise) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {format_line(exercise)}", flush=True)

    print(f"checking {args.notebook} (every cell, visible and hidden tests, fast mode):",
          flush=True)
    result = check(args.notebook, assignment=args.assignment, timeout=args.timeout,
                   source=course, on_exercise=finished)
    print()
    print(format_result(result), end="")
    return 0 if result.complete else 1


def _progress(course: Course, args) -> int:
    from grader.learner.progress import format_progress, progress

    rows = progress(course, args.notebooks or None, timeout=args.timeout,
                    on_row=lambda row: print(f"checked {row.assignment}", file=sys.stderr))
    print(format_progress(rows), end="")
    return 0 if all(row.complete for row in rows) else 1


COMMANDS = {"release": _release, "collect": _collect, "autograde": _autograde,
            "report": _report, "feedback": _feedback, "check": _check,
            "progress": _progress}


if __name__ == "__main__":
    raise SystemExit(main())
