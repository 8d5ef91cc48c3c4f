"""Sphinx configuration of the course book; ``book.build`` copies it into the generated source
directory next to ``_book.json``, which carries the options of one build."""

import json
from pathlib import Path

_options = json.loads((Path(__file__).parent / "_book.json").read_text())

project = _options["title"]
author = "the rnn-gradients authors"
copyright = "the rnn-gradients authors"  # noqa: A001 (Sphinx's name)
root_doc = "index"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "_notebooks", "**.ipynb_checkpoints"]

# The notebooks arrive executed (book.build runs them in fast mode): never run them again here.
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {}  # explorers are static figures; no widget scripts from a CDN
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# MathJax from the course's own copy (grader.report.mathjax), never a CDN.
mathjax_path = "mathjax/" + _options["mathjax_bundle"]
mathjax3_config = _options["mathjax_config"]
html_static_path = ["_static"]
html_css_files = ["book.css"]

html_theme = "sphinx_book_theme"
html_title = _options["title"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}
