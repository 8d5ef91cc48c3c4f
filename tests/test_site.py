"""``make site``: the learner's book, built once for this module and read in headless chromium
from ``file://`` with the network refused (see tests/offline_browser.py).

From the front page the test follows the book's "next" links through every notebook, in course
order, and checks on each page that the formulas were typeset (no raw ``$...$`` left), every image
loaded, no solution or hidden-test line is there, and the download link gives the released
notebook; then the search box finds "spectral radius". Screenshots land in pytest's temporary
directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from book.build import Options, build
from grader.core import cells
from grader.core.policy import ASSIGNMENTS
from grader.core.repository import REPO_ROOT
from tests.offline_browser import (
    BROKEN_IMAGES,
    MATHJAX_DONE,
    VISIBLE_PROSE,
    offline_page,
    raw_math,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("site")]


def normal(line: str) -> str:
    return " ".join(line.split())


def secrets() -> dict[str, set[str]]:
    """Per notebook: lines of its solutions, model answers and hidden tests that appear nowhere
    in its release (long enough to be unmistakable)."""
    found = {}
    for assignment in ASSIGNMENTS:
        source = json.loads((REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb")
                            .read_text())
        release = json.loads((REPO_ROOT / "notebooks" / assignment / f"{assignment}.ipynb")
                             .read_text())
        shown = " ".join(normal("".join(c["source"])) for c in release["cells"])
        lines = set()
        for cell in source["cells"]:
            text = "".join(cell["source"])
            if cells.is_solution(cell):
                lines |= {normal(line) for line in text.split("\n")}
            lines |= {normal(line) for line in cells.hidden_lines(text)}
        found[assignment] = {line for line in lines if len(line) >= 16
                             and not line.startswith("#") and line not in shown}
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    require_chromium()
    work = tmp_path_factory.mktemp("book")
    # One notebook at a time: the rest of the suite runs on the other core meanwhile.
    return build(Options(out=work / "site", work=work / "work", jobs=1), log=lambda _: None).parent


def test_the_book_reads_offline_from_file_in_course_order(site, tmp_path):
    assert sorted(p.name for p in site.parent.iterdir()) == ["site", "work"], \
        "the build wrote outside its output and work folders"
    hidden = secrets()
    assert all(len(lines) >= 5 for lines in hidden.values()), "the probe needs lines to look for"
    visited = []
    with offline_page() as (page, blocked):
        page.goto((site / "index.html").as_uri())
        front = page.evaluate(VISIBLE_PROSE)
        assert "Course map" in front and "08_gradient_dashboard" in front
        sidebar = [normal(t) for t in page.locator("nav.bd-docs-nav a").all_inner_texts()]
        assert [s[:2] for s in sidebar if s[:2].isdigit()] == [a[:2] for a in ASSIGNMENTS], \
            sidebar
        page.screenshot(path=str(tmp_path / "front_page.png"))
        while page.locator("a.right-next").count():
            page.locator("a.right-next").first.click()
            page.wait_for_load_state("load")
            assignment = Path(urlparse(page.url).path).stem
            visited.append(assignment)
            check_page(page, assignment, hidden[assignment])
            if assignment == "03_eigenvalue_analysis":
                page.screenshot(path=str(tmp_path / f"{assignment}.png"), full_page=False)

        page.goto((site / "index.html").as_uri())
        page.locator("button.search-button-field, button.search-button").first.click()
        search = page.locator("input[name='q']:visible").first
        search.fill("spectral radius")
        search.press("Enter")
        page.wait_for_url(re.compile(r"search\.html"))
        results = page.locator("#search-results li")
        results.first.wait_for(timeout=30_000)
        hits = [normal(t) for t in results.all_inner_texts()]
    assert visited == list(ASSIGNMENTS), f"the next links went {visited}"
    assert any("03" in hit for hit in hits), f"search for 'spectral radius' found {hits}"
    assert not blocked, f"the book asked the network for {sorted(set(blocked))[:5]}"


def check_page(page, assignment: str, hidden: set[str]) -> None:
    assert page.evaluate(MATHJAX_DONE), f"{assignment}: no MathJax on the page"
    assert page.locator("mjx-container").count() > 10, f"{assignment}: formulas not typeset"
    prose = page.evaluate(VISIBLE_PROSE)
    assert not raw_math(prose), f"{assignment}: raw TeX left: {raw_math(prose)[:3]}"
    assert page.locator("img").count() >= 2, f"{assignment}: no figures"
    broken = page.evaluate(BROKEN_IMAGES)
    assert not broken, f"{assignment}: images that did not load: {broken}"
    text = normal(page.inner_text("body"))
    assert "def " in text and "# YOUR CODE HERE" in text, f"{assignment}: code is not shown"
    leaked = sorted(line for line in hidden if line in text)
    assert not leaked, f"{assignment}: solution or hidden-test lines on the page: {leaked[:3]}"
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    if "explore(" in text:
        assert "In JupyterLab the figure below is live" in text, f"{assignment}: explorer note"
    link = page.locator("a.download", has_text="Download this notebook").first
    target = Path(unquote(urlparse(link.get_attribute("href") or "").path))
    if not target.is_absolute():
        target = Path(unquote(urlparse(page.url).path)).parent / target
    released = REPO_ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
    assert target.read_bytes() == released.read_bytes(), f"{assignment}: wrong download"
