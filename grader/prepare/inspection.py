"""Looking at a submission before it runs.

Before: :func:`repair` compares the submission's locked cells (setup and test cells) with what was
released, puts back deleted ones and the nbgrader metadata a student may have edited, and reports
each change in one line (nbgrader itself restores the *source* of edited locked cells, but logs a
"checksum changed" line for every hidden-test cell of every submission, tampered with or not).
:func:`scan` reads the student's code for monkeypatching: replacing functions of numpy, torch,
``course_utils`` or ``builtins``, rebinding names the tests use, silencing warnings globally,
dynamic code. It only reports; a person decides.

What is found after the notebook ran is in :mod:`grader.execute.findings`.
"""

from __future__ import annotations

import ast
import builtins
import copy
import uuid
from dataclasses import dataclass, field

import nbformat

from grader.core import cells
from grader.core.verdict import (
    Issue,
)


@dataclass(frozen=True)
class ReferenceCell:
    """A cell as the gradebook registered it at release time."""

    name: str
    cell_type: str
    locked: bool
    source: str  # with hidden tests
    grade: bool = False
    solution: bool = False
    points: float | None = None

    @property
    def released_source(self) -> str:
        return cells.strip_hidden_tests(self.source)


@dataclass
class Reference:
    """What a submitted notebook is compared with: the registered cells, in release order, and
    the released notebook itself."""

    notebook: str
    cells: dict[str, ReferenceCell]
    release: nbformat.NotebookNode
    order: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.order:
            self.order = [cells.grade_id(c) for c in self.release.cells
                          if cells.grade_id(c) in self.cells]
            self.order += [name for name in self.cells if name not in self.order]

    @property
    def released_code(self) -> set[str]:
        return {c.source.strip() for c in self.release.cells if c.cell_type == "code"}


def reference_from_gradebook(gradebook, assignment: str, notebook: str,
                             release: nbformat.NotebookNode) -> Reference:
    """Build a :class:`Reference` from an open nbgrader ``Gradebook``."""
    registered = gradebook.find_notebook(notebook, assignment)
    points = {g.name: float(g.max_score) for g in registered.grade_cells}
    solutions = {s.name for s in registered.solution_cells}
    found = {}
    for source in registered.source_cells:
        found[source.name] = ReferenceCell(
            source.name, source.cell_type, bool(source.locked), source.source or "",
            grade=source.name in points, solution=source.name in solutions,
            points=points.get(source.name))
    return Reference(notebook, found, release)


# ----------------------------------------------------------------------------- before running


def _what(ref: ReferenceCell) -> str:
    if ref.grade and not ref.solution:
        return "test cell"
    if ref.solution:
        return "answer cell"
    return "locked cell"


def repair(nb: nbformat.NotebookNode, reference: Reference
           ) -> tuple[nbformat.NotebookNode, list[Issue]]:
    """A copy of ``nb`` whose registered cells carry their released metadata again, with deleted
    locked cells put back in place; and one issue per change.

    Locked cells keep the student's (possibly edited) source here: nbgrader replaces it with the
    registered source, hidden tests included, when it grades.
    """
    nb = copy.deepcopy(nb)
    issues: list[Issue] = []
    seen: set[str] = set()
    for cell in nb.cells:
        name = cells.grade_id(cell)
        if name is None:
            continue
        if name in seen:
            # A copied locked cell would be graded twice: the copy loses its role.
            del cell.metadata["nbgrader"]
            issues.append(Issue("tampered", f"a second cell claims to be '{name}'; the copy is "
                                "graded as an ordinary cell", flag=True))
            continue
        seen.add(name)
        ref = reference.cells.get(name)
        if ref is None:
            # nbgrader would stop at a cell the gradebook does not know: it loses its role.
            del cell.metadata["nbgrader"]
            issues.append(Issue("tampered", f"a cell claims to be '{name}', which the "
                                "assignment does not have; it is graded as an ordinary cell",
                                flag=True))
            continue
        changes = _restore_metadata(cell, ref)
        if ref.locked and cell.source.strip() != ref.released_source.strip():
            changes.insert(0, "was edited")
        if changes:
            issues.append(Issue("tampered", f"{_what(ref)} '{name}' {' and '.join(changes)}; "
                                "the original was restored and graded", flag=True))
    for name in reference.order:
        ref = reference.cells[name]
        if name in seen:
            continue
        if ref.solution:
            # The student's own answer: its absence is a missing answer, not tampering. A
            # graded one goes back (as the empty stub) so that nbgrader can grade it.
            if ref.grade:
                _insert(nb, ref, reference.order)
            issues.append(Issue("deleted", f"answer cell '{name}' was deleted"))
        elif ref.locked or ref.grade:
            _insert(nb, ref, reference.order)
            issues.append(Issue("tampered", f"{_what(ref)} '{name}' was deleted; it was put "
                                "back and graded", flag=True))
        seen.add(name)
    return nb, issues


def _restore_metadata(cell, ref: ReferenceCell) -> list[str]:
    changes = []
    if cell.cell_type != ref.cell_type:
        changes.append(f"was turned into a {cell.cell_type} cell")
        if ref.cell_type == "code":
            cell.cell_type, cell.outputs, cell.execution_count = "code", [], None
        else:
            cell.cell_type = ref.cell_type
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    meta = cell.metadata.setdefault("nbgrader", {})
    expected = _metadata(ref)
    for key in ("grade", "solution", "locked"):
        if bool(meta.get(key)) != expected[key]:
            changes.append(f"had its '{key}' flag changed to {bool(meta.get(key))}")
    if ref.grade and not _same_number(meta.get("points"), ref.points):
        changes.append(f"had its points changed from {ref.points:g} to {meta.get('points')}")
    meta.update(expected)
    if ref.locked:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    return changes


def _same_number(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _metadata(ref: ReferenceCell) -> dict:
    meta = {"cell_type": ref.cell_type, "grade": ref.grade, "grade_id": ref.name,
            "locked": ref.locked, "solution": ref.solution, "schema_version": 3, "task": False}
    if ref.grade:
        meta["points"] = ref.points
    return meta


def _insert(nb, ref: ReferenceCell, order: list[str]) -> None:
    """Insert the released version of ``ref`` after the closest registered cell before it that
    the submission still has (or before the closest one after it)."""
    position = {cells.grade_id(c): i for i, c in enumerate(nb.cells) if cells.grade_id(c)}
    at = order.index(ref.name)
    index = 0
    before = [position[n] for n in order[:at] if n in position]
    after = [position[n] for n in order[at + 1:] if n in position]
    if before:
        index = max(before) + 1
    elif after:
        index = min(after)
    if ref.cell_type == "code":
        new = nbformat.v4.new_code_cell(ref.released_source)
    else:
        new = nbformat.v4.new_markdown_cell(ref.released_source)
    new.id = f"restored-{uuid.uuid4().hex[:8]}"
    new.metadata["nbgrader"] = _metadata(ref)
    new.metadata["editable"] = False
    new.metadata["deletable"] = False
    nb.cells.insert(index, new)


def is_blank(nb: nbformat.NotebookNode, reference: Reference) -> bool:
    """True when no answer cell differs from its released stub."""
    stubs = {cells.grade_id(c): c.source.strip() for c in reference.release.cells
             if cells.is_solution(c)}
    answers = [c for c in nb.cells if cells.grade_id(c) in stubs]
    return all(c.source.strip() == stubs[cells.grade_id(c)] for c in answers)


# ----------------------------------------------------------------------------- monkeypatching

# Modules whose functions tests rely on: replacing anything in them is reported.
WATCHED_MODULES = ("numpy", "torch", "builtins", "math", "cmath", "course_utils", "unittest",
                   "operator", "warnings", "sys", "functools", "scipy")
# Calls that change global state the tests depend on, or run code the scan cannot read.
SUSPICIOUS_CALLS = {
    "setattr": "sets an attribute by name",
    "delattr": "deletes an attribute by name",
    "exec": "runs code from a string",
    "eval": "evaluates code from a string",
    "compile": "compiles code from a string",
    "__import__": "imports a module by name",
    "importlib.import_module": "imports a module by name",
    "importlib.reload": "reloads a module",
    "numpy.seterr": "changes numpy's floating-point error handling for the whole kernel",
    "warnings.filterwarnings": "changes the warning filters for the whole kernel",
    "warnings.simplefilter": "changes the warning filters for the whole kernel",
    "warnings.resetwarnings": "changes the warning filters for the whole kernel",
    "sys.settrace": "installs a tracing hook",
    "sys.setprofile": "installs a profiling hook",
    "globals": "reaches the notebook's global namespace",
    "vars": "reaches a namespace dictionary",
}
_BUILTIN_NAMES = frozenset(dir(builtins))


def _aliases(trees: list[ast.Module]) -> dict[str, str]:
    """Names bound by imports anywhere in ``trees`` -> the dotted name they stand for."""
    found = {"__builtins__": "builtins"}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        found[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _dotted(node, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _call_name(node: ast.Call, aliases: dict[str, str]) -> str | None:
    if isinstance(node.func, ast.Name) and node.func.id not in aliases:
        return node.func.id if node.func.id in _BUILTIN_NAMES else None
    return _dotted(node.func, aliases)


def _watched(dotted: str | None) -> bool:
    return bool(dotted) and dotted.split(".")[0] in WATCHED_MODULES


def _store_targets(node) -> list:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    if isinstance(node, ast.Delete):
        return list(node.targets)
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars]
    if isinstance(node, ast.NamedExpr):
        return [node.target]
    return []


def _flatten(target) -> list:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in _flatten(element)]
    if isinstance(target, ast.Starred):
        return _flatten(target.value)
    return [target]


def _module_level(tree: ast.Module):
    """Statements that run at the notebook's top level (not inside a def or class body)."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        pending.extend(ast.iter_child_nodes(node))


def protected_names(reference: Reference) -> dict[str, str]:
    """Names the locked cells use that the student must not rebind: imported modules and
    builtins (name -> what it is)."""
    trees = [cells.parse_cell(ref.source) for ref in reference.cells.values() if ref.locked]
    trees = [t for t in trees if t is not None]
    aliases = _aliases(trees)
    found = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in aliases:
                    found[node.id] = f"the module {aliases[node.id]}"
                elif node.id in _BUILTIN_NAMES:
                    found[node.id] = f"the builtin {node.id}"
    return found


def scan(nb: nbformat.NotebookNode, reference: Reference) -> list[Issue]:
    """Report code in the student's cells that could make tests pass without a right answer."""
    locked = {name for name, ref in reference.cells.items() if ref.locked}
    untouched = reference.released_code
    student: list[tuple[str, ast.Module]] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cells.grade_id(cell) in locked:
            continue
        if cell.source.strip() in untouched:
            continue
        tree = cells.parse_cell(cell.source)
        if tree is not None:
            student.append((cells.label(index, cell), tree))
    locked_trees = [cells.parse_cell(r.source) for r in reference.cells.values() if r.locked]
    original = _aliases([t for t in locked_trees if t is not None])
    aliases = {**original, **_aliases([tree for _, tree in student])}
    protected = protected_names(reference)
    issues = []
    for label, tree in student:
        for line, what in _findings(tree, aliases, original, protected):
            issues.append(Issue("review", f"{label}, line {line}: {what}", flag=True))
    return issues


def _findings(tree: ast.Module, aliases: dict[str, str], original: dict[str, str],
              protected: dict[str, str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        for target in (t for raw in _store_targets(node) for t in _flatten(raw)):
            if isinstance(target, ast.Attribute):
                dotted = _dotted(target, aliases)
                if _watched(dotted):
                    verb = "deletes" if isinstance(node, ast.Delete) else "replaces"
                    found.append((node.lineno if hasattr(node, "lineno") else target.lineno,
                                  f"{verb} {dotted}"))
            elif isinstance(target, ast.Subscript):
                container = target.value
                dotted = _dotted(container, aliases)
                if dotted in ("sys.modules", "builtins.__dict__") or (
                        isinstance(container, ast.Attribute) and container.attr == "__dict__"
                        and _watched(_dotted(container.value, aliases))):
                    found.append((target.lineno, f"writes into {dotted or '__dict__'}"))
        if isinstance(node, ast.Call):
            name = _call_name(node, aliases)
            if name in SUSPICIOUS_CALLS:
                detail = SUSPICIOUS_CALLS[name]
                if name in ("setattr", "delattr") and node.args:
                    subject = _dotted(node.args[0], aliases)
                    if not _watched(subject):
                        continue
                    detail = f"{detail} on {subject}"
                found.append((node.lineno, f"calls {name}() ({detail})"))
            elif name and name.startswith("unittest.mock"):
                found.append((node.lineno, f"calls {name}() (patches objects)"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""])
            if any(m.split(".")[0] == "builtins" for m in modules):
                found.append((node.lineno, "imports builtins"))
        if isinstance(node, ast.Global):
            for name in node.names:
                if name in protected:
                    found.append((node.lineno, f"declares {name} ({protected[name]}) global"))
    for node in _module_level(tree):
        for name, line in _rebinds(node):
            if name not in protected:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)) and _aliases(
                    [ast.Module(body=[node], type_ignores=[])]).get(name) == original.get(name):
                continue  # importing the same module again under the same name
            found.append((line, f"rebinds {name} ({protected[name]}), which the tests use"))
    return sorted(set(found))


def _rebinds(node) -> list[tuple[str, int]]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [(node.name, node.lineno)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [((a.asname or a.name).split(".")[0], node.lineno) for a in node.names]
    return [(t.id, t.lineno) for raw in _store_targets(node) for t in _flatten(raw)
            if isinstance(t, ast.Name)]


def module_names(reference: Reference) -> dict[str, str]:
    """Names the locked cells bind to modules by importing them (``np`` -> ``numpy``, ``checks``
    -> ``course_utils.checks``): the kernel's guard checks they still refer to those modules."""
    trees = [cells.parse_cell(ref.source) for ref in reference.cells.values() if ref.locked]
    return _aliases([t for t in trees if t is not None])
