"""Rules that hold for every notebook and for course_utils (../shared/COURSE_SPEC.md)."""

import ast
import io
import re
import tokenize

import pytest

from grader.core import repository
from tests import harness

ROOT = repository.REPO_ROOT
SPEC = ROOT.parent / "shared" / "COURSE_SPEC.md"
ASSIGNMENTS = repository.available_assignments()


def exercise_names() -> set[str]:
    if not SPEC.exists():
        pytest.skip(f"the course spec is not beside the repository ({SPEC})")
    return set(re.findall(r"^- `([A-Za-z_]+)\(", SPEC.read_text(), re.M))


def test_course_utils_never_defines_an_exercise():
    names = exercise_names()
    assert {"tanh_derivative", "rnn_forward", "make_copy_batch"} <= names
    offenders = []
    for path in (ROOT / "course_utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                offenders.append(f"{path.relative_to(ROOT)}: {node.name}")
            if isinstance(node, ast.Assign):
                offenders += [f"{path.relative_to(ROOT)}: {t.id} = ..." for t in node.targets
                              if isinstance(t, ast.Name) and t.id in names]
    assert not offenders, f"course_utils holds what exercises ask for: {offenders}"


def test_every_spec_exercise_is_a_solution_cell():
    names = exercise_names()
    defined: dict[str, set[str]] = {}  # a later notebook may ask for an earlier answer again
    for assignment in ASSIGNMENTS:
        for cell in harness.read(harness.source_path(assignment)).cells:
            if harness.is_solution(cell):
                for name in re.findall(r"^def ([A-Za-z_]+)\(", cell.source, re.M):
                    defined.setdefault(name, set()).add(assignment)
    spec_text = SPEC.read_text()
    for assignment in ASSIGNMENTS:
        section = spec_text.split(f"### {assignment}")[1].split("\n### ")[0]
        expected = set(re.findall(r"^- `([A-Za-z_]+)\(", section, re.M)) & names
        missing = {n for n in expected if assignment not in defined.get(n, set())}
        assert not missing, f"{assignment}: no solution cell defines {sorted(missing)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_structure(assignment):
    cells = harness.read(harness.source_path(assignment)).cells
    first_code = next(c for c in cells if c.cell_type == "code")
    meta = harness.nbgrader_meta(first_code)
    assert meta.get("locked") and meta.get("grade_id") == "setup", "one locked setup cell first"
    assert "setup_notebook(" in first_code.source
    assert sum("setup_notebook(" in c.source for c in cells if c.cell_type == "code") == 1
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    for heading in ("After this notebook you can", "Prerequisites", "## Summary",
                    "What to remember", "## References"):
        assert heading in markdown, f"{assignment}: missing '{heading}'"
    free_response = [c for c in cells if c.cell_type == "markdown" and harness.is_solution(c)]
    assert free_response, f"{assignment}: no manually graded free-response question"
    assert any("knowledge_check" in c.source for c in cells if harness.is_solution(c))
    assert any("widgets.explore(" in c.source for c in cells if c.cell_type == "code"), \
        f"{assignment}: no interactive explorer"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_plot_is_read_in_prose(assignment):
    cells = harness.read(harness.source_path(assignment)).cells
    for index, cell in enumerate(cells[:-1]):
        if cell.cell_type == "code" and re.search(r"plt\.show\(\)|widgets\.explore\(", cell.source):
            assert cells[index + 1].cell_type == "markdown", \
                f"{assignment}: the figure of cell {index} is not followed by prose"


CONTROL_CHARACTER = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_cell_holds_a_control_character(assignment):
    """Only newlines: a lost backslash turns LaTeX's \\approx into a BEL and \\times into a TAB."""
    found = []
    for path in (harness.source_path(assignment), harness.release_path(assignment)):
        for index, cell in enumerate(harness.read(path).cells):
            for match in CONTROL_CHARACTER.finditer(cell.source):
                context = cell.source[max(0, match.start() - 20):match.end() + 20]
                found.append(f"{path.relative_to(ROOT)} cell {index}: {match.group()!r} in "
                             f"{context!r}")
    assert not found, "\n".join(found)


def uses_name(code: str, name: str) -> bool:
    """Whether ``code`` reads the variable ``name`` (not an attribute, keyword or string)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]
    for before, token, after in zip([None, *tokens[:-1]], tokens, [*tokens[1:], None],
                                    strict=True):
        if token.type == tokenize.NAME and token.string == name \
                and not (before is not None and before.string == ".") \
                and not (after is not None and after.string == "="):
            return True
    return False


# Notebooks whose hidden tests draw from generators of their own (05-08 still share `rng`).
HIDDEN_TESTS_WITH_OWN_RNG = ["01_tanh_derivatives", "02_jacobian_products",
                             "03_eigenvalue_analysis", "04_exploding_and_clipping"]


@pytest.mark.parametrize("assignment", HIDDEN_TESTS_WITH_OWN_RNG)
def test_hidden_tests_leave_the_notebook_rng_alone(assignment):
    """The release has no hidden tests: were they to draw from the notebook's ``rng``, every later
    number a student sees would differ from the solution's, and a claim the notebook asserts could
    hold in one and fail in the other."""
    offenders = []
    for cell in harness.read(harness.source_path(assignment)).cells:
        if harness.is_hidden_test(cell):
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
            if uses_name(hidden.split("### END HIDDEN TESTS")[0], "rng"):
                offenders.append(harness.nbgrader_meta(cell)["grade_id"])
    assert not offenders, f"{assignment}: hidden tests that draw from rng: {offenders}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_notebook_names_the_texts_the_course_is_built_from(assignment):
    """Students never see those texts: the course says "a common tutorial claims ..."."""
    found = []
    for path in (harness.source_path(assignment), harness.release_path(assignment)):
        for index, cell in enumerate(harness.read(path).cells):
            for match in re.finditer(r"seed[ -]texts?|texts this course is built from",
                                     cell.source, re.I):
                found.append(f"{path.relative_to(ROOT)} cell {index}: "
                             f"{cell.source[max(0, match.start() - 30):match.end() + 30]!r}")
    assert not found, "\n".join(found)
