"""The math renderer shipped with the course's HTML: MathJax 3, from a local copy, never a CDN.

Both the feedback files (one self-contained HTML per student) and the course's static book use the
same file, MathJax's single-file ``tex-svg-full.js`` bundle, with the configuration below. It
comes from the ``django-static-mathjax`` wheel on PyPI (the official MathJax 3 distribution
repackaged; nothing Django-specific is imported), so it is installed with the course and nothing
is fetched when a page is built or read. The SVG output needs no font files, so the one script
renders every formula even when it is inlined into a page opened from ``file://`` offline.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

VERSION = "3.2.2"
BUNDLE = "tex-svg-full.js"  # TeX input, SVG output, every TeX extension: no lazy loading

# Notebooks write inline math as $...$ (MathJax 3 only reads \(...\) unless told).
CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
    },
    "svg": {"fontCache": "global"},
    "options": {"ignoreHtmlClass": "tex2jax_ignore", "processHtmlClass": "tex2jax_process"},
}


def bundle_path() -> Path:
    """The local ``tex-svg-full.js``; a clear error when the package that ships it is missing."""
    try:
        import mathjax  # the django-static-mathjax wheel's package: only data files
    except ImportError:
        raise RuntimeError("MathJax is not installed: it comes with the course "
                           "(pip install -e . installs django-static-mathjax); run `make install`"
                           ) from None
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / BUNDLE
    if not path.is_file():
        raise RuntimeError(f"the installed MathJax has no {BUNDLE} (looked for {path}); "
                           "reinstall django-static-mathjax")
    return path


def config_script() -> str:
    """JavaScript that configures MathJax; it must run before the bundle loads."""
    return f"window.MathJax = {json.dumps(CONFIG)};"


def inline_html() -> str:
    """``<script>`` elements carrying the configuration and the whole bundle (about 2.2 MB), for
    a page that must render its formulas alone, offline."""
    source = bundle_path().read_text(encoding="utf-8").replace("</script", "<\\/script")
    return (f'<script type="text/javascript">{config_script()}</script>\n'
            f'<script type="text/javascript" id="MathJax-script">{source}</script>')


def install(directory: Path) -> Path:
    """Copy the bundle into ``directory`` (a site's static files); return the copy's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / BUNDLE
    shutil.copyfile(bundle_path(), target)
    return target


# nbconvert's templates load MathJax 2 from a CDN between these two comments.
_CDN_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_CDN_SCRIPT = re.compile(r"<script[^>]+src=\"https?://[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>",
                         re.I)


def offline(html: str) -> str:
    """``html`` (an nbconvert page) with its CDN MathJax replaced by the inlined local bundle."""
    html = _CDN_SCRIPT.sub("", _CDN_BLOCK.sub("", html))
    head_end = html.find("</head>")
    if head_end < 0:
        raise ValueError("not an HTML page with a <head>: cannot add MathJax to it")
    return html[:head_end] + inline_html() + "\n" + html[head_end:]
