"""Command line for instructors: ``python -m grader <command>`` (or ``rnn-grader``)."""

from __future__ import annotations

import argparse

from . import course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser(
        "release", help="regenerate notebooks/ from solutions/ and register the assignments")
    release.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    args = parser.parse_args(argv)

    if args.command == "release":
        for assignment in course.release(args.assignments or None):
            print(f"released {assignment} -> notebooks/{assignment}/{assignment}.ipynb")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
