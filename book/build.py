"""Build the course book: every notebook executed in fast mode, rendered to static HTML.

The learner's book (the default) is built from the *released* notebooks, so it holds neither the
solutions nor the hidden tests:

1. each release notebook is executed in fast mode with static explorers, its answer cells filled
   from ``solutions/`` so that every figure, table and printed number downstream of an exercise
   exists; the hidden tests never run, since the release's test cells hold none;
2. the answer cells then get their released stubs back and lose their outputs, and the test cells
   lose theirs; each page gains a download link to the released notebook and, above each explorer,
   a line saying that it is live in JupyterLab;
3. Sphinx (myst-nb, sphinx-book-theme) renders the pages, with the README's course map as the
   front page and MathJax from the course's own copy (:mod:`grader.report.mathjax`).

With ``solutions=True`` (``make site SOLUTIONS=1``, for instructors) the pages are the solution
notebooks executed as they are, hidden tests included, and their download links give the solution
notebooks.

Executed notebooks are kept in a cache keyed by what they depend on (the notebook, the course's
``course_utils``), so that a second build only renders.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from grader.core import cells
from grader.core.policy import ASSIGNMENTS
from grader.core.repository import REPO_ROOT, grading_env
from grader.report import mathjax

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT = 600
EXPLORER_CALL = re.compile(r"\b(?:explore|widget)\(")
EXPLORER_NOTE = (
    "```{note}\n"
    "In JupyterLab the figure below is live: its controls (sliders, menus, a Train button) "
    "redraw it. This page shows it drawn once, at their starting values.\n"
    "```")


@dataclass(frozen=True)
class Options:
    root: Path = REPO_ROOT
    out: Path = REPO_ROOT / "site"
    work: Path = REPO_ROOT / "build" / "book"  # generated sources and the execution cache
    solutions: bool = False
    jobs: int = 2
    assignments: tuple[str, ...] = ()  # default: every notebook of the course

    @property
    def title(self) -> str:
        return ("rnn-gradients: why recurrent networks forget (with solutions)"
                if self.solutions else "rnn-gradients: why recurrent networks forget")


def build(options: Options, log=print) -> Path:
    """Build the book into ``options.out``; return the path of its front page."""
    started = time.monotonic()
    chosen = options.assignments or tuple(
        a for a in ASSIGNMENTS if (options.root / "solutions" / a / f"{a}.ipynb").is_file())
    if not chosen:
        raise ValueError(f"no notebook to build under {options.root / 'solutions'}")
    variant = "solutions" if options.solutions else "learner"
    source_dir = options.work / f"src-{variant}"
    cache = options.work / "executed"
    shutil.rmtree(source_dir, ignore_errors=True)
    (source_dir / "_static").mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)

    executed = execute_all([to_execute(options, a) for a in chosen], cache, options.jobs, log)
    for assignment, nb in zip(chosen, executed, strict=True):
        page = page_of(options, assignment, nb)
        download = source_dir / "_notebooks" / f"{assignment}.ipynb"
        download.parent.mkdir(exist_ok=True)
        shutil.copyfile(notebook_path(options, assignment), download)
        (source_dir / f"{assignment}.ipynb").write_text(json.dumps(page, indent=1))
    (source_dir / "index.md").write_text(front_page(options, chosen))
    shutil.copyfile(HERE / "conf.py", source_dir / "conf.py")
    shutil.copyfile(HERE / "static" / "book.css", source_dir / "_static" / "book.css")
    mathjax.install(source_dir / "_static" / "mathjax")
    (source_dir / "_book.json").write_text(json.dumps({
        "title": options.title, "mathjax_bundle": mathjax.BUNDLE,
        "mathjax_config": {"tex": mathjax.CONFIG["tex"], "svg": mathjax.CONFIG["svg"]}}))

    log(f"rendering {len(chosen)} pages with Sphinx")
    # Rendered inside the work folder (myst-nb writes beside its output folder), then moved.
    html = options.work / variant / "html"
    shutil.rmtree(html.parent, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E",
               "-d", str(html.parent / "doctrees"), str(source_dir), str(html)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Sphinx failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    for line in warnings:
        log(line)
    (html / ".nojekyll").touch()  # GitHub Pages would hide _static/ and _images/
    shutil.rmtree(options.out, ignore_errors=True)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(html, options.out)
    log(f"built {options.out / 'index.html'} in {time.monotonic() - started:.0f} s")
    return options.out / "index.html"


# ----------------------------------------------------------------------------- notebooks


def notebook_path(options: Options, assignment: str) -> Path:
    folder = "solutions" if options.solutions else "notebooks"
    return options.root / folder / assignment / f"{assignment}.ipynb"


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def to_execute(options: Options, assignment: str) -> tuple[str, dict]:
    """The notebook to run for ``assignment``: the solution notebook, or the release with its
    answer cells filled from the solutions (its test cells are the release's: no hidden tests)."""
    source = read(options.root / "solutions" / assignment / f"{assignment}.ipynb")
    if options.solutions:
        return assignment, source
    release = read(notebook_path(options, assignment))
    answers = {cells.grade_id(c): text(c) for c in source["cells"] if cells.is_solution(c)}
    filled = copy.deepcopy(release)
    for cell in filled["cells"]:
        if cells.is_solution(cell) and cell["cell_type"] == "code":
            cell["source"] = answers[cells.grade_id(cell)]
    return assignment, filled


def page_of(options: Options, assignment: str, executed: dict) -> dict:
    """The page for the book: executed outputs, release sources, a download link, explorer notes."""
    page = copy.deepcopy(executed)
    if not options.solutions:
        release = {cells.grade_id(c): text(c)
                   for c in read(notebook_path(options, assignment))["cells"]}
        for cell in page["cells"]:
            if cells.is_solution(cell) or cells.is_grade(cell):
                cell["source"] = release[cells.grade_id(cell)]
                if cell["cell_type"] == "code":
                    cell["outputs"], cell["execution_count"] = [], None
    body = []
    for cell in page["cells"]:
        if cell["cell_type"] == "code" and EXPLORER_CALL.search(text(cell)):
            body.append(markdown(EXPLORER_NOTE))
        body.append(cell)
    title, rest = split_title(body[0])
    page["cells"] = [title, markdown(download_line(options, assignment)), *rest, *body[1:]]
    page["metadata"].pop("widgets", None)
    return page


def split_title(cell: dict) -> tuple[dict, list[dict]]:
    """The first cell's ``# title`` line as a cell of its own, and the rest of that cell."""
    lines = text(cell).split("\n")
    if cell["cell_type"] != "markdown" or not lines[0].startswith("# "):
        raise ValueError("a course notebook must open with a markdown cell whose first line is "
                         f"its '# title'; found: {lines[0][:60]!r}")
    rest = "\n".join(lines[1:]).strip()
    return markdown(lines[0]), ([markdown(rest)] if rest else [])


def download_line(options: Options, assignment: str) -> str:
    what = "the solved notebook" if options.solutions else "this notebook"
    return (f"{{download}}`Download {what} <_notebooks/{assignment}.ipynb>` and open it in "
            "JupyterLab (`make lab` in the course repository) to run it and do its exercises; "
            "`python -m grader check` then grades your answers. The figures and numbers on this "
            "page come from a run in fast mode (smaller experiments).")


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


# ----------------------------------------------------------------------------- front page


def front_page(options: Options, chosen: tuple[str, ...]) -> str:
    """The README's introduction and course map, each notebook linked to its page."""
    readme = (options.root / "README.md").read_text(encoding="utf-8")
    intro = readme.split("\n\n")[1].strip()
    course_map = re.search(r"^## Course map\n(.*?)(?=^## )", readme, re.S | re.M)
    if not course_map:
        raise ValueError("README.md has no '## Course map' section to use as the front page")
    table = course_map.group(1).strip()
    for assignment in chosen:
        table = table.replace(f"`{assignment}`", f"[{assignment}]({assignment}.ipynb)")
    toctree = "\n".join(chosen)
    return (f"# {options.title}\n\n{intro}\n\n## Course map\n\n{table}\n\n"
            "Every page is a notebook of the course, run in fast mode; each starts with a link "
            "to download it. The search box finds any word of the course.\n\n"
            f"```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toctree}\n```\n")


# ----------------------------------------------------------------------------- execution


def digest(nb: dict, root: Path) -> str:
    """What an executed notebook depends on: its cells and the course's shared code and data."""
    hashed = hashlib.sha256(json.dumps(nb["cells"], sort_keys=True).encode())
    for path in sorted((root / "course_utils").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            hashed.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()


def execute_all(jobs: list[tuple[str, dict]], cache: Path, workers: int, log) -> list[dict]:
    """Execute the notebooks, ``workers`` at a time, reusing the cached ones that still match."""
    results: dict[str, dict] = {}
    pending = []
    root = REPO_ROOT
    for name, nb in jobs:
        key = digest(nb, root)
        cached = cache / f"{name}.ipynb"
        if cached.is_file():
            old = read(cached)
            if old.get("metadata", {}).get("book", {}).get("digest") == key:
                results[name] = old
                continue
        pending.append((name, nb, key))
    if pending:
        log(f"executing {len(pending)} notebooks in fast mode ({workers} at a time; "
            f"{len(jobs) - len(pending)} cached)")
        threads = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
        with ProcessPoolExecutor(max_workers=max(1, workers),
                                 mp_context=get_context("spawn")) as pool:
            futures = {name: pool.submit(execute, nb, name, threads) for name, nb, _ in pending}
            for name, _, key in pending:
                executed = futures[name].result()
                executed["metadata"]["book"] = {"digest": key}
                cached = cache / f"{name}.ipynb"
                cached.write_text(json.dumps(executed))
                results[name] = executed
                log(f"  executed {name}")
    return [results[name] for name, _ in jobs]


def execute(nb: dict, name: str, threads: str) -> dict:
    """Run one notebook in a fresh kernel, in fast mode with static explorers; raise with the
    failing cell's error when a cell fails."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ.update(grading_env({"COURSE_THREADS": os.environ.get("COURSE_THREADS", threads),
                                   "MPLBACKEND": "module://matplotlib_inline.backend_inline"}))
    notebook = nbformat.reads(json.dumps(nb), as_version=4)
    with tempfile.TemporaryDirectory(prefix=f"book-{name}-") as workdir:
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        try:
            client.execute()
        except CellExecutionError as error:
            raise RuntimeError(f"{name} failed while building the book:\n{error}") from None
    return json.loads(nbformat.writes(notebook))
