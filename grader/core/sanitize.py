"""Nothing a submission wrote becomes active content in anyone's browser.

A submission's notebook reaches two browsers: the instructor's, logged in to JupyterLab, where
nbgrader's formgrader renders the autograded notebook (``grader/autograded/``) as HTML inside
the Jupyter server's own origin (a script there could call the server's REST API with the
page's XSRF token); and the student's, on the feedback page. Both render cells and outputs with
nbconvert, which inserts HTML outputs, raw cells and the HTML inside markdown as they are.

So before a notebook is stored in ``grader/autograded/`` (:class:`SanitizeSubmission`, the last
step of autograde, grader.execute.worker) and before feedback is rendered (grader.report.feedback), :func:`sanitize_notebook`
passes every output and every markdown and raw cell that did not come from the release through
Ammonia's allow-list sanitizer (``nh3``):

- no ``<script>``, ``<style>``, event-handler or ``style`` attributes, ``javascript:`` or other
  non-web URLs, ``<iframe>``, ``<object>``, ``<embed>``, forms; images only as ``data:`` images
  (an SVG image shown through ``<img>`` runs no script), links only to http(s), mail or an
  anchor;
- outputs keep text, PNG/JPEG/GIF images, LaTeX and sanitized HTML (tables stay); an SVG output
  becomes an ``<img>`` of itself; JavaScript, widget views and every other MIME type are dropped;
- a markdown cell is rendered to HTML as nbconvert would (math left for MathJax) and sanitized,
  on one line, so that rendering it again as markdown passes it through unchanged;
- cell ids, tags, execution counts and output metadata, which templates put into attributes,
  are reduced to what cannot leave an attribute; notebook metadata keeps only the kernel's.
"""

from __future__ import annotations

import copy
import re
import uuid

import nh3
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES["*"] = {"class", "title", "id"}
IMAGE_URL = re.compile(r"data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")
LINK_URL = re.compile(r"(https?:|mailto:|#)", re.I)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
TEXT_TYPES = ("text/plain", "text/latex")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*\Z")
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
TAG = re.compile(r"[\w-]{1,64}\Z")
PLAIN = re.compile(r"[\w .()+-]{0,64}\Z")  # a kernel's or language's name: no quote, no markup
REMOVED = "[an output the grader does not show: it could run code in a browser]"


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        return value if IMAGE_URL.match(value.strip()) else None
    if attribute == "href":
        return value if LINK_URL.match(value.strip()) else None
    if attribute in ("cite", "longdesc"):
        return None
    if attribute == "id":
        return f"user-content-{value}" if TAG.match(value) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with everything that could run or load code removed (see the module docstring),
    on one line (its newlines as character references, which read the same in HTML)."""
    cleaned = nh3.clean(str(html), tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute,
                        url_schemes={"http", "https", "mailto", "data"}, strip_comments=True,
                        link_rel="noopener noreferrer nofollow")
    return cleaned.replace("\r", "&#13;").replace("\n", "&#10;")


def markdown_html(source: str) -> str:
    """Markdown rendered as nbconvert renders it (math left as text for MathJax), sanitized,
    in a ``<div>``: one line of HTML, which a markdown renderer passes through as it is."""
    from nbconvert.filters.markdown import markdown2html_mistune

    return f'<div class="rnn-sanitized">{clean_html(markdown2html_mistune(str(source)))}</div>'


def clean_output(output) -> NotebookNode | None:
    """A safe copy of one output, or None when nothing of it may be shown."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return NotebookNode(output_type="stream", name=name, text=_text(output.get("text")))
    if kind == "error":
        return NotebookNode(output_type="error", ename=_text(output.get("ename")),
                            evalue=_text(output.get("evalue")),
                            traceback=[_text(line) for line in output.get("traceback") or []])
    if kind not in ("display_data", "execute_result"):
        return None
    data, metadata = {}, {}
    raw = output.get("data") or {}
    for mime, value in raw.items():
        if mime in TEXT_TYPES:
            data[mime] = _text(value)
        elif mime in IMAGE_TYPES and isinstance(value, str) and BASE64.match(value):
            data[mime] = value
            size = (output.get("metadata") or {}).get(mime)
            if isinstance(size, dict):
                kept = {k: v for k, v in size.items() if k in ("width", "height")
                        and isinstance(v, int) and not isinstance(v, bool)}
                if kept:
                    metadata[mime] = kept
    if "text/html" in raw:
        data["text/html"] = clean_html(_text(raw["text/html"]))
    elif "image/svg+xml" in raw:
        import base64

        svg = base64.b64encode(_text(raw["image/svg+xml"]).encode()).decode()
        data["text/html"] = clean_html(f'<img src="data:image/svg+xml;base64,{svg}">')
    elif "text/markdown" in raw:
        data["text/html"] = markdown_html(_text(raw["text/markdown"]))
    if not data:
        data["text/plain"] = REMOVED
    result = NotebookNode(output_type=kind, data=NotebookNode(data),
                          metadata=NotebookNode(metadata))
    if kind == "execute_result":
        count = output.get("execution_count")
        result.execution_count = count if isinstance(count, int) else None
    return result


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def sanitize_notebook(nb, trusted_markdown: set[str] = frozenset()) -> NotebookNode:
    """A copy of ``nb`` safe to render in a browser (see the module docstring); markdown cells
    whose source is in ``trusted_markdown`` (the release's own) are kept as they are."""
    nb = copy.deepcopy(nb)
    trusted = {source.strip() for source in trusted_markdown}
    meta = nb.get("metadata", {})
    nb.metadata = NotebookNode({key: meta[key] for key in ("kernelspec", "language_info")
                                if isinstance(meta.get(key), dict)})
    for key in ("kernelspec", "language_info"):
        if key in nb.metadata:
            nb.metadata[key] = NotebookNode({k: v for k, v in nb.metadata[key].items()
                                             if isinstance(v, str) and PLAIN.match(v)})
    if set(nb.metadata.get("kernelspec", {})) < {"name", "display_name"}:
        nb.metadata.pop("kernelspec", None)  # incomplete: the notebook would be invalid
    for cell in nb.get("cells", []):
        if not isinstance(cell.get("id"), str) or not CELL_ID.match(cell["id"]):
            cell.id = uuid.uuid4().hex[:16]
        cell.pop("attachments", None)
        tags = cell.get("metadata", {}).get("tags")
        if tags is not None:
            cell.metadata.tags = [t for t in tags if isinstance(t, str) and TAG.match(t)] \
                if isinstance(tags, list) else []
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            if source.strip() not in trusted:
                cell.source = markdown_html(source)
        elif cell.get("cell_type") == "raw":
            cell.source = clean_html(source)
        elif cell.get("cell_type") == "code":
            count = cell.get("execution_count")
            cell.execution_count = count if isinstance(count, int) else None
            cell.outputs = [kept for kept in map(clean_output, cell.get("outputs") or [])
                            if kept is not None]
    return nb


class SanitizeSubmission(NbGraderPreprocessor):
    """The last step of autograde: the notebook stored in ``grader/autograded/`` (which the
    formgrader renders) is sanitized; grades were already saved from the executed one."""

    trusted_markdown = List(Unicode(), help="Markdown sources of the release, kept as they are."
                            ).tag(config=True)

    def preprocess(self, nb, resources):
        return sanitize_notebook(nb, set(self.trusted_markdown)), resources
