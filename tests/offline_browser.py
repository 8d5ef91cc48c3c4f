"""Headless Debian chromium for the tests that read the course's static HTML from ``file://``:
the book (``make site``) and the students' feedback pages. Every request that leaves the machine
is refused and recorded, so a page that needs the network shows it.

Without chromium a caller is skipped on a workstation and fails under CI: every browser test
(tests/test_browser.py and tests/grader/test_formgrader.py drive JupyterLab with the same browser) calls
:func:`require_chromium`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Text a reader sees, without code, scripts and math MathJax has already typeset.
VISIBLE_PROSE = """() => {
  const skip = new Set(["SCRIPT", "STYLE", "PRE", "CODE", "MJX-CONTAINER", "TEXTAREA", "NOSCRIPT"]);
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName)) return;
    if (node.classList && (node.classList.contains("highlight")
        || node.classList.contains("output"))) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return parts.join(" ");
}"""

# Resolves once MathJax 3 has typeset the page (false when the page has no MathJax).
MATHJAX_DONE = """async () => {
  if (!window.MathJax || !window.MathJax.startup) return false;
  await window.MathJax.startup.promise;
  return true;
}"""

BROKEN_IMAGES = """() => Array.from(document.images)
  .filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.src)"""


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    missing = "chromium is not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{missing}; `make test` installs it", pytrace=False)
    pytest.skip(missing, allow_module_level=True)


@contextlib.contextmanager
def offline_page(viewport=(1280, 900)):
    """A page in a fresh headless chromium; yields (page, blocked) where ``blocked`` lists every
    URL the page tried to fetch from the network (all refused)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def refuse_network(route):
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]})
            context.route("**/*", refuse_network)
            yield context.new_page(), blocked
        finally:
            browser.close()


def raw_math(text: str) -> list[str]:
    """Stretches of ``text`` that still look like TeX a renderer should have typeset."""
    import re

    found = re.findall(r"\$\$.+?\$\$|\$[^$\s][^$]{0,200}?\$|\\\(.+?\\\)|\\\[.+?\\\]", text)
    return [item[:80] for item in found]
