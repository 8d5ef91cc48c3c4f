"""``python -m book``: build the course as a static HTML book (what ``make site`` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import Options, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m book", description=__doc__ + "\n\nOpen OUT/index.html in a browser; the "
        "book needs no network and no server (any static host serves it as it is).")
    parser.add_argument("--out", type=Path, default=Options.out, metavar="DIR",
                        help="where the HTML goes (default: %(default)s; replaced)")
    parser.add_argument("--work", type=Path, default=Options.work, metavar="DIR",
                        help="generated sources and executed notebooks (default: %(default)s)")
    parser.add_argument("--solutions", action="store_true",
                        help="the instructors' book: solutions and hidden tests included")
    parser.add_argument("--jobs", "-j", type=int, default=2, metavar="N",
                        help="notebooks executed at once (default: %(default)s)")
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="only these notebooks (default: the whole course)")
    args = parser.parse_args(argv)
    try:
        index = build(Options(out=args.out.resolve(), work=args.work.resolve(),
                              solutions=args.solutions, jobs=args.jobs,
                              assignments=tuple(args.assignments)))
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"open {index.as_uri()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
