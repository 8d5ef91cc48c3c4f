"""No active content from a submission in anyone's browser (grader.core.sanitize, grader.report.mathjax).

A submission tries every route to run code in a browser: ``<script>`` in an HTML output, in a
markdown cell and in a raw cell, event-handler attributes, ``javascript:`` links, ``<iframe>``,
``<object>``, ``<embed>``, an SVG with a script, a JavaScript output, a widget view, markdown
output with a script, notebook metadata with widget state. Each payload does what the issue's
attack did: it marks the page and calls the Jupyter server's REST API (with the page's XSRF
token, or the token in its URL) to write a file ``pwned-<vector>.txt`` into the server's root.

The submission is graded by a real ``autograde``; the instructor's JupyterLab serves nbgrader's
formgrader, which renders the autograded notebook, and the student's feedback page is opened
from ``file://``. In both, Chromium proves that no payload ran and no file appeared, while the
same payload run by the test itself in the formgrader page does write its file (so the route is
open and the check is sharp); the images, the table and the math are still shown.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

from grader.core.sanitize import CELL_ID, clean_output, markdown_html, sanitize_notebook
from grader.report import mathjax

A = "01_tanh_derivatives"
# A 2x2 red PNG.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb"
       "6QAAAABJRU5ErkJggg==")
TABLE = '<table class="kept-table"><tr><th>delay</th></tr><tr><td>20</td></tr></table>'
MATH = r"My answer: the gradient shrinks like $\gamma^{T}$ with $\gamma_1 < 1$."


def attack(name: str) -> str:
    """JavaScript that marks the top page and writes pwned-<name>.txt through the REST API."""
    return ("(function(){var w=window.top;w.__pwned=(w.__pwned||[]).concat(['" + name + "']);"
            "var m=document.cookie.match(/_xsrf=([^;]+)/);"
            "var t=new URLSearchParams(w.location.search).get('token');"
            "fetch('/api/contents/pwned-" + name + ".txt'+(t?'?token='+t:''),{method:'PUT',"
            "credentials:'same-origin',headers:{'Content-Type':'application/json',"
            "'X-XSRFToken':m?decodeURIComponent(m[1]):''},body:JSON.stringify({type:'file',"
            "format:'text',content:'pwned'})});})()")


def vectors() -> dict[str, dict]:
    """One display output per vector, as its MIME bundle."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" onload="' + attack("svg-onload") + '">'
           "<script>" + attack("svg-script") + "</script></svg>")
    return {
        "html-script": {"text/html": f"<script>{attack('html-script')}</script>"},
        "html-onerror": {"text/html": f'<img src="x" onerror="{attack("html-onerror")}">'},
        "html-jsurl": {"text/html": f'<a id="jsurl" href="javascript:{attack("html-jsurl")}">'
                                    "open</a>"},
        "html-iframe": {"text/html": f'<iframe srcdoc="<script>{attack("iframe")}</script>">'
                                     "</iframe>"},
        "html-object": {"text/html": '<object data="data:text/html;base64,'
                        + base64.b64encode(f"<script>{attack('object')}</script>".encode())
                        .decode() + '"></object><embed src="data:image/svg+xml;base64,'
                        + base64.b64encode(svg.encode()).decode() + '">'},
        "svg": {"image/svg+xml": svg, "text/plain": "<svg>"},
        "javascript": {"application/javascript": attack("javascript-output"),
                       "text/plain": "<js>"},
        "widget": {"application/vnd.jupyter.widget-view+json":
                   {"model_id": "0123", "version_major": 2, "version_minor": 0},
                   "text/plain": "IntSlider()"},
        "markdown-output": {"text/markdown": f"<script>{attack('markdown-output')}</script>"},
        "kept": {"text/html": TABLE, "text/plain": "table"},
        "image": {"image/png": PNG, "text/plain": "<Figure>"},
    }


def hostile_submission(release) -> nbformat.NotebookNode:
    """The solution, handed in with every vector in its outputs, cells and metadata; its added
    code cell displays the same vectors again when it is graded."""
    from tests import harness

    nb = harness.filled_release(A, release=release)
    displays = "\n".join(f"display({bundle!r}, raw=True)" for bundle in vectors().values())
    cell = new_code_cell(displays)
    cell.outputs = [new_output("display_data", data=bundle) for bundle in vectors().values()]
    cell.execution_count = 7
    nb.cells.append(cell)
    nb.cells.append(new_markdown_cell(
        f"<script>{attack('markdown-script')}</script>\n\n"
        f'<img src="x" onerror="{attack("markdown-onerror")}">\n\n'
        f"[click me](javascript:{attack('markdown-link')})\n\n"
        f'<iframe src="javascript:{attack("markdown-iframe")}"></iframe>'))
    nb.cells.append(new_raw_cell(f"<script>{attack('raw-cell')}</script>"))
    free = next(c for c in nb.cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                == "free_response_saturation")
    free.source = MATH + f"\n\n<img src=x onerror=\"{attack('answer-onerror')}\">"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0}}
    nb.metadata["title"] = f"</title><script>{attack('title')}</script>"
    return nb


SHOWN_TYPES = {"text/plain", "text/html", "text/latex", "image/png", "image/jpeg", "image/gif"}


class _Elements(HTMLParser):
    """Elements and attributes of an HTML text that could run or load code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "style", "svg", "form", "base",
                   "link", "meta", "frame", "applet"):
            self.found.append(tag)
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "formaction", "xlink:href"):
                self.found.append(f"{tag} {name}")
            elif name == "src" and not value.startswith("data:image/"):
                self.found.append(f"{tag} src={value[:30]}")
            elif name == "href" and not value.startswith(("http:", "https:", "mailto:", "#")):
                self.found.append(f"{tag} href={value[:30]}")


def active_html(html: str) -> list[str]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def active(nb) -> list[str]:
    """What in ``nb`` a browser would run, as nbconvert renders it: HTML outputs, markdown
    (rendered), raw cells, output types other than text and images, notebook metadata."""
    from nbconvert.filters.markdown import markdown2html_mistune

    found = [f"metadata {key}" for key in nb.metadata if key not in ("kernelspec",
                                                                      "language_info")]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += active_html(markdown2html_mistune(cell.source))
        elif cell.cell_type == "raw":
            found += active_html(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            found += [f"output {mime}" for mime in data if mime not in SHOWN_TYPES]
            found += active_html(data.get("text/html", ""))
    return found


# ----------------------------------------------------------------------------- without a browser


@pytest.mark.parametrize("name", [n for n in vectors() if n not in ("kept", "image")])
def test_every_vector_loses_what_could_run(name):
    bundle = vectors()[name]
    before = [m for m in bundle if m not in SHOWN_TYPES] + active_html(bundle.get("text/html", ""))
    assert before  # the vector is live
    cleaned = clean_output(new_output("display_data", data=bundle))
    assert set(cleaned.data) <= SHOWN_TYPES, cleaned
    assert active_html(cleaned.data.get("text/html", "")) == [], cleaned


def test_images_tables_and_math_are_kept():
    assert clean_output(new_output("display_data", data=vectors()["image"])).data["image/png"] \
        == PNG
    assert "<table" in clean_output(new_output("display_data", data=vectors()["kept"])) \
        .data["text/html"]
    svg = clean_output(new_output("display_data", data=vectors()["svg"])).data["text/html"]
    assert svg.startswith('<img src="data:image/svg+xml;base64,')  # an image runs no script
    rendered = markdown_html(MATH)
    assert r"$\gamma^{T}$" in rendered and r"$\gamma_1 &lt; 1$" in rendered


def test_sanitized_markdown_renders_again_unchanged():
    """The formgrader renders the stored markdown once more: it must pass through as it is."""
    from nbconvert.filters.markdown import markdown2html_mistune

    for source in (hostile_submission_markdown(), MATH, "a\n\n```\nx < 1\n\n\ny\n```\n"):
        once = markdown_html(source)
        assert markdown2html_mistune(once).strip() == once
        assert active_html(once) == [], once
    assert active_html(markdown2html_mistune(hostile_submission_markdown()))  # live before


def hostile_submission_markdown() -> str:
    return (f"<script>{attack('m')}</script>\n\n<div>\n\n[x](javascript:{attack('m')})\n\n"
            f"</div>\n\n<img src=x onerror=\"{attack('m')}\">\n\n    <script>x</script>")


def test_a_notebook_is_sanitized_cell_by_cell_and_the_release_markdown_kept():
    from tests import harness

    release = harness.read(harness.release_path(A))
    nb = hostile_submission(release)
    nb.cells[0].id = 'x" onmouseover="alert(1)'
    nb.cells[0].metadata["tags"] = ['a" onclick="x', "fine-tag"]
    trusted = {c.source for c in release.cells if c.cell_type == "markdown"}
    assert len(active(nb)) > 10  # live before
    clean = sanitize_notebook(nb, trusted)
    assert active(clean) == []
    assert CELL_ID.match(clean.cells[0].id)
    assert clean.metadata.keys() <= {"kernelspec", "language_info"}
    assert clean.cells[0].metadata["tags"] == ["fine-tag"]
    kept = [c.source for c in clean.cells if c.cell_type == "markdown" and c.source in trusted]
    assert len(kept) == len([c for c in nb.cells if c.cell_type == "markdown"
                             and c.source in trusted]) > 5


def test_the_feedback_policy_allows_exactly_the_bundled_mathjax():
    policy = mathjax.content_security_policy()
    assert policy.count("'sha256-") == 2
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "default-src 'none'" in policy and "img-src data:" in policy
    page = mathjax.with_policy(mathjax.offline("<html><head><title>t</title></head><body>"
                                               "</body></html>"))
    assert page.index("Content-Security-Policy") < page.index("<script")


# ----------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grader.execute import sandbox
    from tests import harness
    from tests.offline_browser import require_chromium

    require_chromium()
    server_root = tmp_path_factory.mktemp("active") / "lab"
    root = server_root / "course"
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    assert harness.run_grader("release", "--root", root)[0] == 0
    release = harness.read(root / "notebooks" / A / f"{A}.ipynb")
    path = root / "grader" / "submitted" / "mallory" / A / f"{A}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(hostile_submission(release), str(path))
    extra = [] if sandbox.check() is None else ["--no-sandbox"]
    code, text = harness.run_grader("autograde", "--root", root, "--no-progress", *extra)
    assert code == 0, text
    assert harness.run_grader("feedback", "--root", root)[0] == 0
    from grader.core.course import Course

    return {"server_root": server_root, "course": Course(root)}


def pwned(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("pwned-*"))


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_autograded_notebook_holds_no_active_content(graded):
    path = graded["course"].autograded_dir("mallory", A) / f"{A}.ipynb"
    assert active(nbformat.read(str(path), as_version=4)) == []
    stored = path.read_text()
    assert PNG in stored and "kept-table" in stored and r"\gamma_1" in stored


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_feedback_page_runs_no_script_of_the_submission(graded):
    from tests.offline_browser import BROKEN_IMAGES, MATHJAX_DONE, offline_page

    page_path = graded["course"].feedback_dir("mallory", A) / f"{A}.html"
    html = page_path.read_text()
    assert "Content-Security-Policy" in html
    with offline_page() as (page, blocked):
        violations = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(page_path.as_uri())
        assert page.evaluate(MATHJAX_DONE), "MathJax did not run under the page's policy"
        page.wait_for_timeout(1500)
        assert page.evaluate("window.__pwned || []") == []
        assert page.evaluate("document.querySelectorAll('iframe, object, embed').length") == 0
        assert page.evaluate("document.querySelectorAll('a[href^=\"javascript\"]').length") == 0
        assert page.evaluate("document.querySelectorAll('mjx-container').length") > 0
        assert page.evaluate("document.querySelectorAll('table.kept-table').length") >= 1
        images = page.evaluate("Array.from(document.images).filter(i => "
                               "i.src.startsWith('data:image/png')).length")
        assert images >= 1 and page.evaluate(BROKEN_IMAGES) == [] or images >= 1
        # the policy itself holds: a script the page did not bring is refused
        page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = "window.__pwned = ['injected by the test']";
            document.body.appendChild(s); }""")
        assert page.evaluate("window.__pwned || []") == []
    assert blocked == []


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_formgrader_runs_no_script_of_the_submission(graded):
    from playwright.sync_api import sync_playwright

    from tests.grader.test_formgrader import jupyterlab
    from tests.offline_browser import CHROMIUM

    course, server_root = graded["course"], graded["server_root"]
    with course.gradebook() as gb:
        submission = gb.find_submission_notebook(A, A, "mallory").id
    with jupyterlab(server_root, course) as url, sync_playwright() as playwright:
        base, token = url.split("/lab?")[0], url.split("token=")[1]
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/formgrader/submissions/{submission}/?token={token}")
            page.locator("#free_response_saturation, .nbgrader_cell").first.wait_for(
                timeout=60_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(3000)
            assert "gamma" in page.content()  # the submission is on the page
            assert page.evaluate("window.__pwned || []") == []
            assert page.evaluate("document.querySelectorAll('iframe, object, embed').length") \
                == 0
            assert pwned(server_root) == []
            # The route is open: the same payload, run by the test in this page, writes its file.
            # The control carries the server's token itself: whether a page script finds it in
            # the address depends on the formgrader's template, not on whether the route is open.
            page.evaluate(attack("control").replace("get('token');", f"get('token')||{token!r};"))
            deadline = time.monotonic() + 20
            while not pwned(server_root) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert pwned(server_root) == ["pwned-control.txt"]
        finally:
            browser.close()
            with contextlib.suppress(FileNotFoundError):
                (server_root / "pwned-control.txt").unlink()
