"""Write nbgrader source notebooks as plain percent-format scripts, and back.

    python -m grader.author.scripts build SCRIPT.py solutions/<id>/<id>.ipynb
    python -m grader.author.scripts export solutions/<id>/<id>.ipynb > SCRIPT.py

A script is a sequence of cells, each opened by a header line:

    # %% [markdown]                     prose; every line written as a comment ("# text")
    # %%                                a plain code cell
    # %% [setup]                        the locked setup cell (grade_id "setup")
    # %% [locked] id=NAME               another locked code cell
    # %% [solution] id=NAME             an answer cell: ### BEGIN SOLUTION / ### END SOLUTION inside
    # %% [tests] id=NAME points=N       a locked, autograded test cell (hidden part between
                                        ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS)
    # %% [free] id=NAME points=N        a manually graded written answer (markdown, with the
                                        ### BEGIN SOLUTION / ### END SOLUTION model answer)

The notebook is the source of truth that nbgrader and the tests read; a script is a convenient way
to write or review one in an editor.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?: \[(\w+)\])?(.*)$")
MARKER = re.compile(r"^### (BEGIN|END) ")
PROSE_KINDS = ("markdown", "free")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(grade_id: str, *, grade=False, locked=False, solution=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell(kind: str, attributes: dict[str, str], text: str, line: int):
    def need(key):
        if key not in attributes:
            raise ValueError(f"line {line}: a [{kind}] cell needs {key}=...")
        return attributes[key]

    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(text)
    if kind == "code":
        return nbformat.v4.new_code_cell(text)
    if kind == "setup":
        return nbformat.v4.new_code_cell(text, metadata=_nbgrader("setup", locked=True))
    if kind == "locked":
        return nbformat.v4.new_code_cell(text, metadata=_nbgrader(need("id"), locked=True))
    if kind == "solution":
        return nbformat.v4.new_code_cell(text, metadata=_nbgrader(need("id"), solution=True))
    if kind == "tests":
        return nbformat.v4.new_code_cell(text, metadata=_nbgrader(
            need("id"), grade=True, locked=True, points=int(need("points"))))
    if kind == "free":
        return nbformat.v4.new_markdown_cell(text, metadata=_nbgrader(
            need("id"), grade=True, solution=True, points=int(need("points"))))
    raise ValueError(f"line {line}: unknown cell kind [{kind}]")


def _unprose(lines: list[str]) -> str:
    return "\n".join(line if MARKER.match(line) else re.sub(r"^# ?", "", line)
                     for line in lines).strip("\n")


def build(script: str) -> nbformat.NotebookNode:
    """The nbgrader source notebook described by a percent-format script."""
    cells, kind, attributes, body, start = [], None, {}, [], 0

    def flush():
        if kind is not None:
            text = _unprose(body) if kind in PROSE_KINDS else "\n".join(body).strip("\n")
            cells.append(_cell(kind, attributes, text, start))

    for number, line in enumerate(script.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            flush()
            kind = header.group(1) or "code"
            attributes = dict(re.findall(r"(\w+)=(\S+)", header.group(2)))
            body, start = [], number
        elif kind is None:
            if line.strip():
                raise ValueError(f"line {number}: text before the first '# %%' header")
        else:
            body.append(line)
    flush()
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:03d}"
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nbformat.validate(notebook)
    return notebook


def _header(cell) -> str:
    meta = cell.get("metadata", {}).get("nbgrader")
    if not meta:
        return "# %% [markdown]" if cell.cell_type == "markdown" else "# %%"
    grade_id, points = meta.get("grade_id"), meta.get("points")
    if cell.cell_type == "markdown":
        if meta.get("solution") and meta.get("grade"):
            return f"# %% [free] id={grade_id} points={points:g}"
        return "# %% [markdown]"
    if meta.get("grade") and not meta.get("solution"):
        return f"# %% [tests] id={grade_id} points={points:g}"
    if meta.get("solution"):
        return f"# %% [solution] id={grade_id}"
    if meta.get("locked"):
        return "# %% [setup]" if grade_id == "setup" else f"# %% [locked] id={grade_id}"
    return "# %%"


def export(notebook: nbformat.NotebookNode) -> str:
    """The percent-format script of a notebook (outputs are not kept)."""
    chunks = []
    for cell in notebook.cells:
        if cell.cell_type == "raw":
            raise ValueError("raw cells have no percent-format equivalent here")
        text = cell.source
        if cell.cell_type == "markdown":
            text = "\n".join(line if MARKER.match(line) else (f"# {line}" if line else "#")
                             for line in text.splitlines())
        chunks.append(f"{_header(cell)}\n{text}\n")
    return "\n".join(chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.author.scripts",
                                     description="percent-format scripts <-> nbgrader notebooks")
    commands = parser.add_subparsers(dest="command", required=True)
    to_notebook = commands.add_parser("build", help="build a source notebook from a script")
    to_notebook.add_argument("script", type=Path)
    to_notebook.add_argument("notebook", type=Path)
    to_script = commands.add_parser("export", help="print a notebook as a script")
    to_script.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        notebook = build(args.script.read_text())
        args.notebook.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(args.notebook))
        print(f"wrote {args.notebook} ({len(notebook.cells)} cells)")
    else:
        sys.stdout.write(export(nbformat.read(str(args.notebook), as_version=4)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
