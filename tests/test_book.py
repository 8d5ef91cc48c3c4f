"""The book's pages and the local MathJax, without a kernel or a browser (tests/test_site.py reads
the built book in chromium)."""

from __future__ import annotations

import copy
import re

import pytest

from book.build import EXPLORER_NOTE, Options, front_page, page_of, read, text, to_execute
from grader.core import cells
from grader.core.policy import ASSIGNMENTS
from grader.core.repository import REPO_ROOT
from grader.report import mathjax

A = "03_eigenvalue_analysis"


def fake_run(nb: dict) -> dict:
    """``nb`` as if executed: every code cell printed its own source."""
    executed = copy.deepcopy(nb)
    for cell in executed["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text(cell)}]
    return executed


def test_the_learner_runs_the_release_with_answers_filled_and_no_hidden_tests():
    _, filled = to_execute(Options(), A)
    source = read(REPO_ROOT / "solutions" / A / f"{A}.ipynb")
    answers = {cells.grade_id(c): text(c) for c in source["cells"] if cells.is_solution(c)}
    for cell in filled["cells"]:
        assert "BEGIN HIDDEN TESTS" not in text(cell)
        if cells.is_solution(cell) and cell["cell_type"] == "code":
            assert text(cell) == answers[cells.grade_id(cell)]


def test_a_learner_page_shows_the_release_and_no_answer_or_test_output():
    _, filled = to_execute(Options(), A)
    page = page_of(Options(), A, fake_run(filled))
    release = {cells.grade_id(c): text(c)
               for c in read(REPO_ROOT / "notebooks" / A / f"{A}.ipynb")["cells"]}
    graded = [c for c in page["cells"] if cells.is_solution(c) or cells.is_grade(c)]
    assert len(graded) >= 10
    for cell in graded:
        assert text(cell) == release[cells.grade_id(cell)]
        assert not cell.get("outputs"), cells.grade_id(cell)
    assert text(page["cells"][0]).startswith("# 03 ")
    assert "{download}`Download this notebook <_notebooks/03_eigenvalue_analysis.ipynb>`" in \
        text(page["cells"][1])
    notes = [i for i, c in enumerate(page["cells"]) if text(c) == EXPLORER_NOTE]
    assert notes and all("explore(" in text(page["cells"][i + 1]) for i in notes)
    demos = [c for c in page["cells"] if c["cell_type"] == "code" and c.get("outputs")]
    assert demos, "the outputs of ordinary cells are kept"


def test_the_instructors_page_keeps_solutions_and_hidden_tests():
    options = Options(solutions=True)
    _, source = to_execute(options, A)
    page = page_of(options, A, fake_run(source))
    assert any("BEGIN HIDDEN TESTS" in text(c) for c in page["cells"])
    assert "Download the solved notebook" in text(page["cells"][1])


def test_the_front_page_is_the_course_map_linking_every_notebook():
    page = front_page(Options(), ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        assert f"[{assignment}]({assignment}.ipynb)" in page
    assert page.index("## Course map") < page.index("{toctree}")
    assert re.search(r":hidden:\n:maxdepth: 1\n\n01_tanh_derivatives\n02_", page)


def test_mathjax_is_local_and_replaces_the_cdn_in_an_nbconvert_page():
    bundle = mathjax.bundle_path()
    assert bundle.stat().st_size > 1_000_000
    assert f'VERSION="{mathjax.VERSION}"' in bundle.read_text(encoding="utf-8")
    page = ('<html><head><!-- Load mathjax -->\n<script src="https://cdnjs.cloudflare.com/ajax/'
            'libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"> </script>\n'
            '<!-- End of mathjax configuration --></head><body>$x^2$</body></html>')
    offline = mathjax.offline(page)
    assert "cdnjs" not in offline and "https://" not in offline.split("<script")[0]
    assert offline.count('id="MathJax-script"') == 1 and "</script" in offline
    assert '"inlineMath": [["$", "$"]' in offline
    assert offline.endswith("</head><body>$x^2$</body></html>")
    with pytest.raises(ValueError, match="not an HTML page with a <head>"):
        mathjax.offline("<p>fragment</p>")
