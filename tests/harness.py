"""The notebook-grading harness shared by every notebook's tests.

Two ways of grading a notebook, used side by side:

* ``autograde`` runs a real ``nbgrader generate_assignment`` + ``nbgrader autograde`` on a temporary
  copy of the course, for whole submissions (the solution, the unmodified release, ...).
* ``run_sweep`` proves that the tests are sharp without a kernel per variant: one kernel executes
  the source notebook, then, for each exercise, every wrong and correct answer from
  ``tests/answers/`` followed by a copy of that exercise's test cells (visible and hidden), then
  the original solution again. Each test-cell copy is scored with nbgrader's own
  ``determine_grade`` after the grader's stderr policy, so a cell scores here what it would score
  under ``nbgrader autograde``. The same kernel then runs every one-change mutant of each
  exercise's solution (``tests/mutants.py``) against the same test cells: the mutation test.

An exercise is a solution cell (by ``grade_id``); its test cells are the autograded code cells that
follow it up to the next solution cell.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade

from grader import course
from grader.policy import WARNING_STDERR_PATTERN
from tests import mutants as mutation

ROOT = course.REPO_ROOT
CELL_TIMEOUT = 300
# A mutant may loop or crawl where the solution does not: each of its test cells gets this long,
# then the kernel is interrupted (the cell fails with KeyboardInterrupt: the mutant is killed).
MUTANT_CELL_TIMEOUT = 60
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


# ----------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Variant:
    exercise: str
    kind: str  # "wrong", "correct" or "mutant"
    name: str
    code: str
    warns: bool = False  # a correct answer that prints a warning and must keep its points

    @property
    def label(self) -> str:
        return f"{self.exercise}[{self.kind}: {self.name}]"


@dataclass
class Answers:
    """Alternative answers for one exercise (the solution cell's whole new source).

    ``messages`` maps the name of a wrong answer to a phrase that the failure message of a visible
    test must contain for it: the message that student sees, pinned by the suite.
    """

    wrong: dict[str, str] = field(default_factory=dict)
    correct: dict[str, str] = field(default_factory=dict)
    correct_with_warning: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)


def load_answers(assignment: str) -> dict[str, Answers]:
    """The ``EXERCISES`` dict of the ``tests/answers`` module whose ``ASSIGNMENT`` matches."""
    from tests import answers as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if getattr(module, "ASSIGNMENT", None) == assignment:
            return module.EXERCISES
    return {}


def variants(assignment: str) -> list[Variant]:
    result = []
    for exercise, answers in load_answers(assignment).items():
        unknown = set(answers.messages) - set(answers.wrong)
        if unknown:
            raise KeyError(f"{assignment}/{exercise}: messages for answers that are not wrong "
                           f"answers: {sorted(unknown)}")
        for name, code in answers.wrong.items():
            result.append(Variant(exercise, "wrong", name, code))
        for name, code in answers.correct.items():
            result.append(Variant(exercise, "correct", name, code))
        for name, code in answers.correct_with_warning.items():
            result.append(Variant(exercise, "correct", name, code, warns=True))
    return result


def mutant_variants(assignment: str) -> list[Variant]:
    """The mutants of every exercise that defines code (``tests/mutants.py``), named by key."""
    source = read(source_path(assignment))
    result = []
    for exercise, (index, tests) in exercises(source).items():
        code = source.cells[index].source
        if not tests or not mutation.defines_code(code):
            continue
        for mutant in mutation.sample(mutation.mutants_of(exercise, code)):
            result.append(Variant(exercise, "mutant", mutant.key, mutant.code))
    return result


# ----------------------------------------------------------------------------- notebooks


def source_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return ROOT / "notebooks" / assignment / f"{assignment}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_hidden_test(cell) -> bool:
    return is_test(cell) and "### BEGIN HIDDEN TESTS" in cell.source


def exercises(nb) -> dict[str, tuple[int, list[int]]]:
    """Map each code solution cell's grade_id to (its index, the indices of its test cells)."""
    result: dict[str, tuple[int, list[int]]] = {}
    current = None
    for index, cell in enumerate(nb.cells):
        if is_solution(cell):
            current = nbgrader_meta(cell)["grade_id"] if cell.cell_type == "code" else None
            if current is not None:
                result[current] = (index, [])
        elif is_test(cell) and current is not None:
            result[current][1].append(index)
    return result


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not SOLUTION_MARKER.match(line))


def filled_release(assignment: str, answers: dict[str, str] | None = None,
                   release: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The release notebook as a student would hand it in: every solution cell filled with the
    source notebook's answer (markers removed), or with ``answers[grade_id]`` where given."""
    answers = answers or {}
    source = {nbgrader_meta(c).get("grade_id"): c for c in read(source_path(assignment)).cells}
    nb = copy.deepcopy(release if release is not None else read(release_path(assignment)))
    for cell in nb.cells:
        if is_solution(cell):
            grade_id = nbgrader_meta(cell)["grade_id"]
            cell.source = answers.get(grade_id, strip_solution_markers(source[grade_id].source))
    return nb


# ----------------------------------------------------------------------------- the command line


def run_grader(*args) -> tuple[int, str]:
    """``python -m grader ARGS`` in this process: exit status and everything it printed."""
    import contextlib
    import io

    from grader.__main__ import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


# ----------------------------------------------------------------------------- scoring


def apply_stderr_policy(cell) -> None:
    """What nbgrader's IgnorePattern does under the course configuration."""
    cell.outputs = [o for o in cell.get("outputs", [])
                    if not (o.output_type == "stream" and o.name == "stderr"
                            and re.search(WARNING_STDERR_PATTERN, o.text))]


def score(cell) -> tuple[float, float]:
    graded = copy.deepcopy(cell)
    apply_stderr_policy(graded)
    points, max_points = determine_grade(graded)
    return float(points or 0.0), float(max_points)


def errors(cell) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]


def stderr_text(cell) -> str:
    return "".join(o.text for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stderr")


def execute(nb: nbformat.NotebookNode, workdir: Path,
            extra_env: dict[str, str] | None = None,
            timeouts: dict[str, int] | None = None) -> nbformat.NotebookNode:
    """Execute ``nb`` in one kernel with the grading environment (plus ``extra_env``), keeping
    errors as outputs. ``timeouts`` maps cell ids to shorter limits: such a cell that runs past
    its limit is interrupted and fails, and execution goes on."""
    import os
    import tempfile

    from traitlets.config import Config

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(course.grading_env(extra_env))
    # ZeroMQ over ipc sockets, not TCP: with many kernels starting at once a free TCP port can be
    # taken before the kernel binds it ("Kernel died before replying to kernel_info").
    sockets = tempfile.mkdtemp(prefix="rnn-test-ipc-", dir="/tmp")
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = f"{sockets}/kernel"
    try:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}}, config=config)
        if timeouts:
            client.timeout_func = lambda cell: timeouts.get(cell.get("id"), CELL_TIMEOUT)
            client.interrupt_on_timeout = True
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(sockets, ignore_errors=True)
    return nb


# ----------------------------------------------------------------------------- the sweep


@dataclass
class Probe:
    variant: Variant
    grade_id: str
    visible: bool
    cell: nbformat.NotebookNode | None = None


@dataclass
class SweepResult:
    solution: nbformat.NotebookNode  # the source notebook as executed
    probes: list[Probe]  # the answers' (tests/answers)
    mutant_probes: list[Probe] = field(default_factory=list)
    # each mutant's own cell, as executed: a mutant whose definition fails is killed by it
    mutant_cells: dict[Variant, nbformat.NotebookNode] = field(default_factory=dict)

    def probes_of(self, variant: Variant) -> list[Probe]:
        return [p for p in self.probes + self.mutant_probes if p.variant == variant]


_sweeps: dict[str, SweepResult] = {}


def cached_sweep(assignment: str, make_workdir) -> SweepResult:
    """One sweep per assignment and process, shared by every test module that reads it (so tests
    of one assignment belong to one xdist group): ``make_workdir()`` gives its directory."""
    if assignment not in _sweeps:
        _sweeps[assignment] = run_sweep(assignment, make_workdir())
    return _sweeps[assignment]


def run_sweep(assignment: str, workdir: Path, with_mutants: bool = True) -> SweepResult:
    source = read(source_path(assignment))
    n_source = len(source.cells)
    sweep = copy.deepcopy(source)
    layout = exercises(source)
    pending: list[tuple[int, Probe]] = []
    defined: list[tuple[int, Variant]] = []
    by_exercise: dict[str, list[Variant]] = {}
    for variant in variants(assignment):
        by_exercise.setdefault(variant.exercise, []).append(variant)
    for variant in mutant_variants(assignment) if with_mutants else []:
        by_exercise.setdefault(variant.exercise, []).append(variant)
    for exercise, exercise_variants in by_exercise.items():
        if exercise not in layout:
            raise KeyError(f"{assignment}: answers given for {exercise!r}, which is not a solution "
                           f"cell; solution cells: {sorted(layout)}")
        solution_index, test_indices = layout[exercise]
        for variant in exercise_variants:
            defined.append((len(sweep.cells), variant))
            sweep.cells.append(nbformat.v4.new_code_cell(variant.code))
            for index in test_indices:
                test_cell = copy.deepcopy(source.cells[index])
                pending.append((len(sweep.cells), Probe(
                    variant, nbgrader_meta(test_cell)["grade_id"],
                    visible=not is_hidden_test(test_cell))))
                sweep.cells.append(test_cell)
        sweep.cells.append(copy.deepcopy(source.cells[solution_index]))
    for number, cell in enumerate(sweep.cells):
        cell["id"] = f"sweep-{number}"  # copied cells would share ids otherwise
    timeouts = {sweep.cells[index]["id"]: MUTANT_CELL_TIMEOUT for index, probe in pending
                if probe.variant.kind == "mutant"}
    execute(sweep, workdir, timeouts=timeouts)
    result = SweepResult(solution=copy.deepcopy(sweep), probes=[])
    result.solution.cells = sweep.cells[:n_source]
    for index, probe in pending:
        probe.cell = sweep.cells[index]
        (result.mutant_probes if probe.variant.kind == "mutant" else result.probes).append(probe)
    result.mutant_cells = {variant: sweep.cells[index] for index, variant in defined
                           if variant.kind == "mutant"}
    return result


# ----------------------------------------------------------------------------- real nbgrader


@dataclass
class AutogradeResult:
    root: Path
    generate_log: str
    autograde_log: str
    grades: dict[str, dict[str, tuple[float | None, float, bool]]]  # student -> grade_id -> ...

    def released(self, assignment: str) -> nbformat.NotebookNode:
        return read(self.root / "notebooks" / assignment / f"{assignment}.ipynb")


def autograde(assignment: str, root: Path, submissions: dict[str, nbformat.NotebookNode]
              | None = None, release_submissions: dict[str, dict[str, str] | None] | None = None
              ) -> AutogradeResult:
    """Release ``assignment`` into a fresh course at ``root`` and autograde submissions.

    ``submissions`` are whole notebooks. ``release_submissions`` start from the freshly generated
    release: ``None`` hands it in untouched, a dict fills every solution cell as a student would
    (``grade_id -> source``; cells not named get the solution's answer).
    """
    (root / "grader").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "solutions" / assignment, root / "solutions" / assignment)
    generated = course.nbgrader("generate_assignment", assignment, "--force", root=root)
    release = read(root / "notebooks" / assignment / f"{assignment}.ipynb")
    everything = dict(submissions or {})
    for student, answers in (release_submissions or {}).items():
        everything[student] = (copy.deepcopy(release) if answers is None
                               else filled_release(assignment, answers, release=release))
    for student, nb in everything.items():
        target = root / "grader" / "submitted" / student / assignment
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / f"{assignment}.ipynb"))
    graded = course.nbgrader("autograde", assignment, root=root)
    grades: dict[str, dict[str, tuple[float | None, float, bool]]] = {}
    with Gradebook(f"sqlite:///{root / 'grader' / 'gradebook.db'}") as gradebook:
        for student in everything:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            grades[student] = {g.name: (g.auto_score, g.max_score, g.needs_manual_grade)
                               for g in notebook.grades}
    return AutogradeResult(root, generated.stdout + generated.stderr,
                           graded.stdout + graded.stderr, grades)
