"""The mutation test (issue 20): the tests of every exercise prove their own strength.

Every graded exercise of every notebook in ``solutions/`` (found on disk, so a new notebook is
covered the day it lands) is mutated one change at a time (``tests/mutants.py``), and each mutant
runs against that exercise's visible and hidden test cells in the notebook's one sweep kernel
(``tests/harness.py``). A mutant is killed when the tests take a point from it (scored by nbgrader's
``determine_grade``), or when its own cell fails. Each exercise must kill at least 95% of its
mutants that are not equivalent, and every survivor must be listed in
``tests/mutation_equivalents.json`` with a one-line reason a reviewer can check: a survivor that is
not listed fails the test, and so does a listed one that is now killed or no longer generated.
"""

from __future__ import annotations

import json

import pytest

from grader import course
from tests import harness, mutants

EQUIVALENTS_FILE = course.REPO_ROOT / "tests" / "mutation_equivalents.json"
KILL_RATE = 0.95


def discovered_assignments() -> list[str]:
    """Every notebook in solutions/ (solutions/<name>/<name>.ipynb), in name order."""
    return sorted(path.parent.name for path in course.SOLUTIONS_DIR.glob("*/*.ipynb")
                  if path.stem == path.parent.name)


def graded_code_exercises(assignment: str) -> list[str]:
    source = harness.read(harness.source_path(assignment))
    return [exercise for exercise, (index, tests) in harness.exercises(source).items()
            if tests and mutants.defines_code(source.cells[index].source)]


def equivalents() -> dict[str, dict[str, str]]:
    """``"assignment/exercise" -> {mutant key: reason}``."""
    return json.loads(EQUIVALENTS_FILE.read_text())


def exercise_params():
    return [pytest.param(a, e, marks=pytest.mark.xdist_group(a), id=f"{a}/{e}")
            for a in discovered_assignments() for e in graded_code_exercises(a)]


@pytest.fixture
def sweep(tmp_path_factory):
    def get(assignment: str) -> harness.SweepResult:
        return harness.cached_sweep(
            assignment, lambda: tmp_path_factory.mktemp(f"sweep-{assignment}"))
    return get


def verdict(result: harness.SweepResult, variant: harness.Variant) -> tuple[bool, str]:
    """(killed, how): by the mutant's own cell failing, or by points lost in its test cells."""
    own = harness.errors(result.mutant_cells[variant])
    if own:
        return True, f"its cell fails: {own[0][:120]}"
    probes = result.probes_of(variant)
    lost = [f"{p.grade_id} {harness.score(p.cell)[0]:g}/{harness.score(p.cell)[1]:g}"
            for p in probes if harness.score(p.cell)[0] < harness.score(p.cell)[1]]
    return bool(lost), ", ".join(lost)


@pytest.mark.parametrize(("assignment", "exercise"), exercise_params())
def test_exercise_kills_its_mutants(assignment, exercise, sweep):
    result = sweep(assignment)
    generated = [v for v in result.mutant_cells if v.exercise == exercise]
    assert generated, f"{assignment}/{exercise}: no mutants were generated or run"
    for variant in generated:
        assert result.probes_of(variant), f"{variant.label}: no test cell ran against it"
    listed = equivalents().get(f"{assignment}/{exercise}", {})
    survivors = [v.name for v in generated if not verdict(result, v)[0]]
    unlisted = [key for key in survivors if key not in listed]
    stale = [key for key in listed if key not in survivors]
    killed = len(generated) - len(survivors)
    not_equivalent = len(generated) - (len(survivors) - len(unlisted))
    rate = killed / not_equivalent if not_equivalent else 1.0
    summary = (f"{assignment}/{exercise}: {killed} of {len(generated)} mutants killed, "
               f"{len(survivors) - len(unlisted)} listed as equivalent, {len(unlisted)} survive "
               f"unlisted ({rate:.0%} of the non-equivalent ones killed)")
    problems = [f"  survives: {key}" for key in unlisted]
    names = {v.name for v in generated}
    problems += [f"  listed as equivalent but {'killed' if key in names else 'no longer made'} "
                 f"(remove it from {EQUIVALENTS_FILE.name}): {key}" for key in stale]
    assert rate >= KILL_RATE and not problems, (
        summary + "\n" + "\n".join(problems) + "\nKill each survivor with a hidden test (against an "
        "independent oracle), or list it in tests/mutation_equivalents.json with the reason no "
        "test can tell it from the solution.")


def test_equivalents_file_is_well_formed():
    known = {f"{a}/{e}" for a in discovered_assignments() for e in graded_code_exercises(a)}
    for exercise, entries in equivalents().items():
        assert exercise in known, f"{EQUIVALENTS_FILE.name}: {exercise!r} is not a graded exercise"
        for key, reason in entries.items():
            assert isinstance(reason, str) and reason.strip() and "\n" not in reason, \
                f"{exercise}: {key!r} needs a one-line reason a reviewer can check"


# ----------------------------------------------------------------------------- the generator


SAMPLE = '''def f(x, eps=1e-5, flag=True):
    """Docstring: 2 < 3 stays."""
    if x < 0 and eps > 1:
        return -x
    elif x == 2:
        return abs(x) * max(x, 1)
    return not flag
'''


def keys_of(source: str) -> list[str]:
    return [m.key for m in mutants.mutants_of("f", source)]


def test_generator_makes_the_promised_changes():
    keys = keys_of(SAMPLE)
    for expected in ("f: def f(x, eps=1e-05, flag=True): => def f(x, eps=2e-05, flag=True):",
                     "f: def f(x, eps=1e-05, flag=True): => def f(x, eps=1e-05, flag=False):",
                     "f: if x < 0 and eps > 1: => if x <= 0 and eps > 1:",
                     "f: if x < 0 and eps > 1: => if x > 0 and eps > 1:",
                     "f: if x < 0 and eps > 1: => if x < 0 or eps > 1:",
                     "f: if x < 0 and eps > 1: => if not (x < 0 and eps > 1):",
                     "f: if x < 0 and eps > 1: => if x < 1 and eps > 1:",
                     "f: return -x => return x",
                     "f: elif x == 2: => if x == 2:",
                     "f: if x == 2: => if x != 2:",
                     "f: return abs(x) * max(x, 1) => return x * max(x, 1)",
                     "f: return abs(x) * max(x, 1) => return abs(x) * min(x, 1)",
                     "f: return abs(x) * max(x, 1) => return abs(x) / max(x, 1)",
                     "f: return not flag => return flag"):
        assert expected in keys, f"missing mutant {expected!r}; made: {keys}"
    assert not any("Docstring" in key for key in keys), "a docstring was mutated"
    for mutant in mutants.mutants_of("f", SAMPLE):
        compile(mutant.code, mutant.key, "exec")
        assert '"""Docstring: 2 < 3 stays."""' in mutant.code
    assert len(set(keys)) == len(keys), "two mutants share a key"


def test_keys_survive_unrelated_edits():
    edited = SAMPLE.replace('"""Docstring: 2 < 3 stays."""', '"""Other words."""').replace(
        "    return not flag\n", "    # a comment\n    y = 3 + 4\n    return not flag\n")
    assert set(keys_of(SAMPLE)) <= set(keys_of(edited))


def test_sample_is_deterministic_and_bounded():
    many = mutants.mutants_of("f", SAMPLE)
    chosen = {m.key for m in mutants.sample(many, limit=5)}
    assert len(chosen) == 5
    assert chosen == {m.key for m in mutants.sample(list(reversed(many)), limit=5)}
    assert mutants.sample(many, limit=len(many)) == many
