"""``check NOTEBOOK --exercise NAME`` and ``progress``: a learner's answer to "is this right?" in
seconds.

Instead of nbgrader's whole pipeline (a temporary course, a gradebook, every cell of the notebook),
this runs in one kernel only what the exercises asked about need, in notebook order:

- the setup cell;
- the earlier cells that define a name those exercises use, found by reading the cells' Python
  (a name counts as defined by an assignment, ``def``, ``class``, ``import``, ``for``/``with``
  target, or, outside test cells, an attribute/item assignment or method call on it; a cell that
  does not parse is kept), transitively. Other exercises' test cells run only when they define
  a helper that is used later; the random numbers they would have drawn are not drawn, which
  changes no verdict, since every test compares against a reference computed on the same input;
- each exercise's answer cell as the learner wrote it, and its test cells as the grader runs them:
  from ``solutions/``, hidden tests included (the learner's copy of a test cell does not count).

Each test cell is scored with nbgrader's rules (``nbgrader.utils.determine_grade`` after the
course's ``IgnorePattern``): an error or a non-warning line on stderr scores 0, a number as the
cell's result is partial credit, anything else full points. An answer cell still holding the
released stub is not run: it scores 0 as "not started".

Nothing here imports nbformat or nbgrader: ``import nbformat`` alone costs 1.1-3.4 s, almost all
of it jsonschema compiling rfc3987-syntax's Lark grammars at import time
(python-jsonschema/jsonschema#1428). Notebooks are read as JSON and the kernel is driven with
jupyter_client directly.
"""

from __future__ import annotations

import ast
import builtins
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import cells
from grader.core.course import Course
from grader.core.repository import grading_env
from grader.core.verdict import GRADED
from grader.execute.verify import session as verify

from .scoring import (
    NOT_STARTED,
    CheckResult,
    ExerciseCheck,
    answer_notes,
    messages,
    points_of,
    score,
)

BUILTINS = set(dir(builtins)) | {"display", "get_ipython"}


def read(path: Path) -> dict:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a readable notebook: {error}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a notebook (no list of cells)")
    for cell in nb["cells"]:
        cell["source"] = text(cell)
    return nb


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# ----------------------------------------------------------------------------- which cells


@dataclass(frozen=True)
class Names:
    defined: frozenset[str]  # bound: assigned, def, class, import, loop or with target
    mutated: frozenset[str]  # x.a = ..., x[i] = ..., x.method(...): may change x
    used: frozenset[str]
    modules: frozenset[str]  # bound by import statements
    parsed: bool


UNKNOWN = Names(frozenset(), frozenset(), frozenset(), frozenset(), parsed=False)


def names(source: str) -> Names:
    """What a cell defines, changes and uses, by name (see the module docstring). ``used`` holds
    only names the cell reads before binding them itself."""
    tree = cells.parse_cell(source)
    if tree is None:
        return UNKNOWN
    defined, mutated, used, modules = set(), set(), set(), set()
    for statement in tree.body:
        bound, read, assigned = set(), set(), _assigned(statement)
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        return UNKNOWN
                    name = alias.asname or alias.name.split(".")[0]
                    bound.add(name)
                    modules.add(name)
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(
                    node.ctx, ast.Load):
                mutated.add(_base_name(node))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                mutated.add(_base_name(node.func))
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)  # except E as error
        # x = x + 1 reads the old x; a parameter or a comprehension variable is the cell's own
        used |= read - defined - (bound - assigned)
        defined |= bound
    return Names(frozenset(defined), frozenset(mutated - {None}), frozenset(used - BUILTINS),
                 frozenset(modules), parsed=True)


def _assigned(statement: ast.stmt) -> set[str]:
    """Names an assignment statement binds (its right-hand side is read before them)."""
    targets = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        targets = [statement.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _base_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


@dataclass
class Step:
    source: str
    grade_id: str | None = None
    points: float = 0.0  # > 0 for a test cell
    exercise: str | None = None  # the exercise whose answer or test this is
    test: bool = False  # a test cell: runs in the verifier kernel (grader.execute.verify)


@dataclass
class Plan:
    assignment: str
    exercises: list[cells.Exercise]
    steps: list[Step]
    max_points: dict[str, float]
    not_started: set[str] = field(default_factory=set)
    setup: str | None = None  # the course's setup cell, run first in the verifier kernel


def _wanted(every: list[cells.Exercise], wanted: list[str] | None,
            assignment: str) -> list[cells.Exercise]:
    """The automatically graded exercises ``wanted`` (all by default); a clear error for a name
    that is not one."""
    layout = [e for e in every if not e.manual]
    if not wanted:
        return layout
    unknown = [w for w in wanted if w not in {e.name for e in layout}]
    if unknown:
        manual = {e.name for e in every if e.manual}
        hint = (f"{', '.join(unknown)} is graded by hand" if set(unknown) <= manual
                else f"no exercise named {', '.join(unknown)}")
        raise ValueError(f"{hint} in {assignment}; its automatically graded exercises are: "
                         f"{', '.join(e.name for e in layout)}")
    return [e for e in layout if e.name in wanted]


# Longer than 40 lines: one walk back from the last answer, choosing each cell by what it
# defines and what the chosen ones need; split, that state would travel between functions.
def make_plan(student: dict, source: dict, release: dict | None, assignment: str,
              wanted: list[str] | None = None) -> Plan:
    """The cells to run for the ``wanted`` exercises (default: every automatically graded one)."""
    layout = _wanted(cells.exercises(source), wanted, assignment)
    by_id = {cells.grade_id(c): c for c in source["cells"] if cells.grade_id(c)}
    stubs = {cells.grade_id(c): c["source"] for c in (release or {}).get("cells", [])
             if cells.is_solution(c)}
    maxima = {e.name: sum(float(cells.nbgrader_meta(by_id[t]).get("points", 0))
                          for t in e.tests) for e in layout}

    code = [c for c in student["cells"] if c.get("cell_type") == "code"]
    positions = {cells.grade_id(c): i for i, c in enumerate(code) if cells.grade_id(c)}
    missing = [e.name for e in layout if e.name not in positions]
    if missing:
        raise ValueError(f"the notebook has no answer cell {', '.join(missing)} (deleted, or "
                         "its cell metadata lost?); copy the cell back from the released notebook")
    not_started = {e.name for e in layout if e.name in stubs
                   and code[positions[e.name]]["source"].strip() == stubs[e.name].strip()}
    started = {e.name: e for e in layout if e.name not in not_started}
    if not started:
        return Plan(assignment, layout, [], maxima, not_started)

    modules = set().union(*(names(c["source"]).modules for c in code))
    scored = {t for e in started.values() for t in e.tests}
    needed = set().union(*(names(by_id[t]["source"]).used for t in scored))
    chosen: dict[int, Step] = {}
    for index in range(max(positions[name] for name in started), -1, -1):
        grade_id = cells.grade_id(code[index])
        if grade_id in scored:
            continue  # run right after its answer, from solutions/
        if grade_id in by_id and not cells.is_solution(by_id[grade_id]):
            source_text = by_id[grade_id]["source"]  # locked and test cells as the grader has them
        else:
            source_text = code[index]["source"]
        found = names(source_text)
        changes = found.defined
        if not cells.is_test(code[index]):  # other tests' method calls only draw random numbers
            changes = changes | (found.mutated - modules)
        if grade_id in started or index == 0 or not found.parsed or changes & needed:
            chosen[index] = Step(source_text, grade_id,
                                 exercise=grade_id if grade_id in started else None,
                                 test=cells.is_test(by_id.get(grade_id, {})))
            needed |= found.used
    steps = []
    for index in sorted(chosen):
        steps.append(chosen[index])
        exercise = started.get(chosen[index].exercise)
        for test in exercise.tests if exercise else ():
            steps.append(Step(by_id[test]["source"], test,
                              float(cells.nbgrader_meta(by_id[test]).get("points", 0)),
                              exercise.name, test=True))
    return Plan(assignment, layout, steps, maxima, not_started, verify.setup_source(source))


# ----------------------------------------------------------------------------- running


class Kernel(verify.BlockingKernel):
    """One python3 kernel in the grading environment (fast mode, static explorers)."""

    def __init__(self, cwd: Path, wait: bool = True):
        super().__init__(cwd, grading_env({"MPLBACKEND": "Agg"}), wait=wait)


def run_plan(plan: Plan, cwd: Path, timeout: float,
             on_exercise: Callable[[ExerciseCheck], None] | None = None,
             notes: dict[str, str] | None = None) -> CheckResult:
    """Execute ``plan`` in a fresh kernel; report each exercise once its last test has run.
    ``notes``: exercise -> what to say instead of its tests' messages (see ``answer_note``)."""
    notes = notes or {}
    result = CheckResult(plan.assignment, GRADED)
    checks = {e.name: ExerciseCheck(e.name, 0.0, plan.max_points[e.name])
              for e in plan.exercises}
    remaining = {e.name: sum(1 for s in plan.steps if s.exercise == e.name and s.points)
                 for e in plan.exercises}
    exercises = {e.name: e for e in plan.exercises}
    scores: dict[str, float] = {}
    for name in sorted(plan.not_started):
        checks[name].messages.append(notes.get(name, NOT_STARTED))
        if on_exercise:
            on_exercise(checks[name])
    kernel = verifier = None
    try:
        if plan.steps:
            # Both kernels start at once; the verifier connects and runs the setup cell while
            # the student's kernel runs the cells before the first test.
            verifier = verify.Verifier(plan.setup, grading_env({"MPLBACKEND": "Agg"}), timeout)
            kernel = Kernel(cwd)
            verifier.connect(kernel.manager.get_connection_info())
        for step in plan.steps:
            if step.test and not kernel.died:
                outputs = _verify(step, kernel, verifier, timeout, result)
            else:  # a test after the kernel died is not run: its output says where it died
                outputs = kernel.run(step.source, timeout)
            if step.points:
                check = checks[step.exercise]
                scores[step.grade_id] = score(outputs, step.points)
                if step.exercise in notes:
                    check.messages = [notes[step.exercise]]
                else:
                    check.messages += messages({"source": step.source, "outputs": outputs,
                                                "metadata": {"nbgrader": {
                                                    "grade_id": step.grade_id}}})
                remaining[step.exercise] -= 1
                if not remaining[step.exercise]:
                    check.points = points_of(exercises[step.exercise], scores)
                    if on_exercise:
                        on_exercise(check)
            elif step.exercise is None:
                errors = [o for o in outputs if o["output_type"] == "error"]
                if errors:
                    first_line = (str(errors[0]["evalue"]).strip().splitlines() or [""])[0]
                    result.issues.append(
                        f"a cell this check needs failed ({errors[0]['ename']}: "
                        f"{first_line[:160]}): the cell starting {step.source.strip()[:50]!r}")
    finally:
        for each in (verifier, kernel):
            if each:
                each.close()
    result.exercises = [checks[e.name] for e in plan.exercises]
    return result


def _verify(step: Step, kernel: Kernel, verifier: verify.Verifier, timeout: float,
            result: CheckResult) -> list[dict]:
    """A test cell's outputs, run in the verifier; a student's kernel that died or ignored the
    interrupt after a timeout is marked dead, so that later cells are not run."""
    outputs = verifier.run_test(step.source, timeout)
    result.issues += verifier.problems
    verifier.problems = []
    if not kernel.manager.is_alive():
        kernel.died = step.grade_id or "?"
        outputs = [verify.error_output(
            "DeadKernelError", "the kernel died while running this cell (os._exit, "
            "a crash, or out of memory)")]
    elif verifier.student_stuck:
        kernel.died = step.grade_id or "?"
        outputs.append(verify.error_output(
            "UnresponsiveKernelError", "the cell timed out and the kernel ignored "
            "the interrupt; later cells were not run"))
    return outputs


def check_exercises(notebook: Path, exercises: list[str] | None = None,
                    assignment: str | None = None, timeout: float | None = None,
                    source: Course | None = None,
                    on_exercise: Callable[[ExerciseCheck], None] | None = None) -> CheckResult:
    """Grade the chosen exercises of ``notebook`` (all automatically graded ones by default)."""
    from .check import guess_assignment

    source = source or Course()
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} does not exist")
    assignment = assignment or guess_assignment(source, notebook)
    source_path = source.source / assignment / f"{assignment}.ipynb"
    if not source_path.is_file():
        raise ValueError(f"no source notebook for {assignment} in {source.source}")
    release_path = source.release / assignment / f"{assignment}.ipynb"
    student = read(notebook)
    release = read(release_path) if release_path.is_file() else None
    plan = make_plan(student, read(source_path), release, assignment, exercises)
    notes = answer_notes(student, release, [e.name for e in plan.exercises])
    with tempfile.TemporaryDirectory(prefix="rnn-quick-") as scratch:
        # The notebook runs beside the course's files, as under the grader.
        if release_path.parent.is_dir():
            for path in release_path.parent.iterdir():
                if path.is_file() and path.suffix != ".ipynb":
                    shutil.copyfile(path, Path(scratch) / path.name)
        return run_plan(plan, Path(scratch), timeout or default_timeout(source), on_exercise,
                        notes)


def default_timeout(course: Course) -> float:
    config = course.config()
    return float(config.Execute.timeout) if "timeout" in config.Execute else 300.0
