"""One-change mutants of the exercises' solutions (issue 20: tests that prove their own strength).

Every graded exercise is a solution cell that defines a function or a class. Each mutant is that
cell's code with exactly one change a student could plausibly make:

* arithmetic operators swapped (``+``/``-``, ``*``/``/``, ``**`` to ``*``, ``//`` to ``/``,
  ``@`` to ``*``), in expressions and augmented assignments;
* comparisons moved across their boundary (``<``/``<=``, ``>``/``>=``) and turned round
  (``<``/``>``), ``==``/``!=``, ``is``/``is not``, ``in``/``not in``;
* numeric constants and default values changed (an int n to n + 1 and n - 1, a float x to 2x and
  x / 2, zero to one), ``True``/``False`` swapped;
* negations removed (``not x`` to ``x``, ``-x`` to ``x``) and added to the test of an ``if``,
  ``while`` or conditional expression; ``and``/``or`` swapped;
* an ``elif`` turned into a separate ``if`` (both branches may then fire);
* ``max``/``min`` (and ``argmax``/``argmin``) swapped, and an ``abs`` or ``sqrt`` call dropped
  (its argument kept).

Docstrings, other strings and f-strings are never mutated. A mutant's key names the function it
changes and the statement before and after the change (a compound statement by its header line),
so it survives edits elsewhere in the notebook and changes when the line itself does: an entry in
``tests/mutation_equivalents.json`` is then reviewed again. ``#2``, ``#3`` tell apart identical
changes of one statement.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

# At most this many mutants per exercise are run; beyond it a deterministic sample (by key hash)
# keeps the suite's time bounded whatever a notebook grows into.
MAX_MUTANTS_PER_EXERCISE = 80

BINARY_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Div,), ast.Div: (ast.Mult,),
    ast.Pow: (ast.Mult,), ast.FloorDiv: (ast.Div,), ast.MatMult: (ast.Mult,),
    ast.Mod: (ast.FloorDiv,), ast.BitAnd: (ast.BitOr,), ast.BitOr: (ast.BitAnd,),
}
COMPARE_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
}
BOOL_SWAPS: dict[type, type] = {ast.And: ast.Or, ast.Or: ast.And}
NAME_SWAPS = {"max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax",
              "amax": "amin", "amin": "amax", "maximum": "minimum", "minimum": "maximum"}
DROPPED_CALLS = {"abs", "sqrt"}
COMPOUND_FIELDS = ("body", "orelse", "finalbody", "handlers")


@dataclass(frozen=True)
class Mutant:
    exercise: str  # the solution cell's grade_id
    key: str  # "function: before => after", stable across unrelated edits
    code: str  # the whole cell, mutated


def _constant_variants(value) -> list:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [1.0] if value == 0 else [value * 2, value / 2]
    return []  # strings, bytes, None, Ellipsis: not mutated


def _header(statement: ast.stmt) -> str:
    """A statement as one line: a compound statement by its header, bodies elided."""
    shell = copy.copy(statement)
    for name in COMPOUND_FIELDS:
        if isinstance(getattr(shell, name, None), list) and getattr(shell, name):
            setattr(shell, name, [ast.Expr(ast.Constant(...))] if name != "handlers" else [])
    if isinstance(shell, ast.If) and statement.orelse:
        shell.orelse = []
    if isinstance(shell, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        shell.decorator_list = []
    return ast.unparse(ast.fix_missing_locations(shell)).splitlines()[0].strip()


def _sites(tree: ast.Module) -> Iterator[tuple[list[ast.AST], ast.AST, tuple]]:
    """Yield (ancestors, node, change) for every change the tree allows, in source order."""

    def walk(node: ast.AST, ancestors: list[ast.AST]):
        if isinstance(node, ast.JoinedStr):
            return
        if _is_docstring(node, ancestors):
            return
        yield from _changes(node, ancestors)
        for child in ast.iter_child_nodes(node):
            yield from walk(child, ancestors + [node])

    yield from walk(tree, [])


def _is_docstring(node: ast.AST, ancestors: list[ast.AST]) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str) and ancestors):
        return False
    parent = ancestors[-1]
    return bool(getattr(parent, "body", None)) and parent.body[0] is node


def _changes(node: ast.AST, ancestors: list[ast.AST]):
    """The changes ``node`` allows, as (ancestors, node, change) with change a plain tuple."""
    if isinstance(node, (ast.BinOp, ast.AugAssign)):
        for new in BINARY_SWAPS.get(type(node.op), ()):
            yield ancestors, node, ("op", new)
    elif isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            for new in COMPARE_SWAPS.get(type(op), ()):
                yield ancestors, node, ("cmp", position, new)
    elif isinstance(node, ast.BoolOp):
        yield ancestors, node, ("bool", BOOL_SWAPS[type(node.op)])
    elif isinstance(node, ast.Constant):
        for value in _constant_variants(node.value):
            yield ancestors, node, ("const", value)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield ancestors, node, ("drop-unary",)
    elif isinstance(node, ast.Call):
        name = _called_name(node)
        if name in NAME_SWAPS:
            yield ancestors, node, ("rename", NAME_SWAPS[name])
        if name in DROPPED_CALLS and len(node.args) == 1 and not node.keywords:
            yield ancestors, node, ("drop-call",)
    if isinstance(node, (ast.If, ast.While, ast.IfExp)):
        yield ancestors, node, ("negate-test",)
    if (isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)
            and ancestors):
        yield ancestors, node, ("elif-to-if",)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _apply(tree: ast.Module, path: list[int], change: tuple) -> None:
    """Apply ``change`` to the node reached by ``path`` (child indices) in ``tree``."""
    node, parent = tree, None
    for index in path:
        parent = node
        node = list(ast.iter_child_nodes(node))[index]
    kind = change[0]
    if kind == "op":
        node.op = change[1]()
    elif kind == "cmp":
        node.ops[change[1]] = change[2]()
    elif kind == "bool":
        node.op = change[1]()
    elif kind == "const":
        node.value = change[1]
    elif kind == "drop-unary":
        _replace_child(parent, node, node.operand)
    elif kind == "drop-call":
        _replace_child(parent, node, node.args[0])
    elif kind == "rename":
        if isinstance(node.func, ast.Name):
            node.func.id = change[1]
        else:
            node.func.attr = change[1]
    elif kind == "negate-test":
        node.test = ast.UnaryOp(ast.Not(), node.test)
    elif kind == "elif-to-if":
        inner = node.orelse[0]
        node.orelse = []
        for field in COMPOUND_FIELDS:
            body = getattr(parent, field, None)
            if isinstance(body, list) and node in body:
                body.insert(body.index(node) + 1, inner)
                return
        raise AssertionError("an elif outside a statement list")


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                if item is old:
                    value[index] = new
                    return
    raise AssertionError("node not found in its parent")


def _path(tree: ast.Module, ancestors: list[ast.AST], node: ast.AST) -> list[int]:
    chain = ancestors[1:] + [node]
    path, current = [], tree
    for target in chain:
        children = list(ast.iter_child_nodes(current))
        path.append(next(i for i, child in enumerate(children) if child is target))
        current = target
    return path


def _where(tree: ast.Module, path: list[int]) -> tuple[str, ast.stmt]:
    """The qualified name of the function or class around the change, and its statement."""
    names, statement, node = [], None, tree
    for index in path:
        node = list(ast.iter_child_nodes(node))[index]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        if isinstance(node, ast.stmt):
            statement = node
    return ".".join(names) or "<module>", statement


def defines_code(source: str) -> bool:
    """Whether a solution cell is a graded exercise of code: it defines a function or a class."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for node in tree.body)


def mutants_of(exercise: str, source: str) -> list[Mutant]:
    """Every distinct one-change mutant of a solution cell's ``source`` (markers may remain)."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    found: dict[str, Mutant] = {}
    seen_code = {original}
    counts: dict[str, int] = {}
    for ancestors, node, change in list(_sites(tree)):
        path = _path(tree, ancestors, node)
        mutated = copy.deepcopy(tree)
        _apply(mutated, path, change)
        code = ast.unparse(ast.fix_missing_locations(mutated))
        if code in seen_code:
            continue
        try:
            compile(code, "<mutant>", "exec")
        except SyntaxError:
            continue
        seen_code.add(code)
        where, before = _where(tree, path)
        if change[0] == "elif-to-if":
            test = ast.unparse(node.orelse[0].test)
            key = f"{where}: elif {test}: => if {test}:"
        else:
            key = f"{where}: {_header(before)} => {_mutated_header(mutated, tree, before)}"
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > 1:
            key = f"{key} #{counts[key]}"
        found[key] = Mutant(exercise, key, code + "\n")
    return list(found.values())


def _mutated_header(mutated: ast.Module, tree: ast.Module, before: ast.stmt) -> str:
    """The header of the statement in ``mutated`` that stands where ``before`` stood."""
    path = _statement_path(tree, before)
    node = mutated
    for index in path:
        node = list(ast.iter_child_nodes(node))[index]
    return _header(node)


def _statement_path(tree: ast.Module, statement: ast.stmt) -> list[int]:
    def search(node, path):
        if node is statement:
            return path
        for index, child in enumerate(ast.iter_child_nodes(node)):
            found = search(child, path + [index])
            if found is not None:
                return found
        return None

    return search(tree, [])


def sample(mutants: list[Mutant], limit: int = MAX_MUTANTS_PER_EXERCISE) -> list[Mutant]:
    """At most ``limit`` mutants, chosen by a hash of their keys: the same ones on every run."""
    if len(mutants) <= limit:
        return mutants
    ranked = sorted(mutants, key=lambda m: hashlib.sha256(m.key.encode()).hexdigest())
    chosen = {m.key for m in ranked[:limit]}
    return [m for m in mutants if m.key in chosen]


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.mutants [ASSIGNMENT ...]``: run the sweeps, print every exercise's kills,
    its survivors and the seconds the mutants took (all notebooks in solutions/ by default)."""
    import sys
    import tempfile
    import time
    from datetime import datetime
    from pathlib import Path

    from tests import harness, test_mutation

    chosen = (argv if argv is not None else sys.argv[1:]) or test_mutation.discovered_assignments()
    listed = test_mutation.equivalents()
    for assignment in chosen:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as workdir:
            result = harness.run_sweep(assignment, Path(workdir))
        spent = 0.0
        cells = list(result.mutant_cells.values()) + [p.cell for p in result.mutant_probes]
        for cell in cells:
            timing = cell.get("metadata", {}).get("execution", {})
            if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
                spent += (datetime.fromisoformat(timing["shell.execute_reply"].rstrip("Z"))
                          - datetime.fromisoformat(timing["iopub.execute_input"].rstrip("Z"))
                          ).total_seconds()
        print(f"== {assignment}: sweep {time.perf_counter() - started:.0f} s, "
              f"of which mutants {spent:.0f} s", flush=True)
        for exercise in test_mutation.graded_code_exercises(assignment):
            generated = [v for v in result.mutant_cells if v.exercise == exercise]
            survivors = [v.name for v in generated
                         if not test_mutation.verdict(result, v)[0]]
            equivalent = listed.get(f"{assignment}/{exercise}", {})
            print(f"   {exercise}: {len(generated) - len(survivors)}/{len(generated)} killed, "
                  f"{sum(s in equivalent for s in survivors)} listed equivalent")
            for key in survivors:
                print(f"      {'equivalent' if key in equivalent else 'SURVIVES'}: {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
