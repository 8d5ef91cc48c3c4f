"""Every course notebook, graded both ways (see tests/harness.py).

Tests of one assignment share a worker (xdist group), so its notebook is executed once for the
sweep and graded once by real nbgrader, however many tests read the results.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from grader import course
from tests import harness

ASSIGNMENTS = course.available_assignments()


def assignment_params():
    return [pytest.param(a, marks=pytest.mark.xdist_group(a), id=a) for a in ASSIGNMENTS]


def variant_params():
    return [pytest.param(a, v, marks=pytest.mark.xdist_group(a), id=f"{a}:{v.label}")
            for a in ASSIGNMENTS for v in harness.variants(a)]


_autogrades: dict[str, harness.AutogradeResult] = {}


@pytest.fixture
def sweep(tmp_path_factory):
    def get(assignment: str) -> harness.SweepResult:
        return harness.cached_sweep(
            assignment, lambda: tmp_path_factory.mktemp(f"sweep-{assignment}"))
    return get


def first_answers(assignment: str, kind: str) -> dict[str, str]:
    """One answer per exercise: the first wrong one, or the first correct one (warning-emitting
    correct answers first, so the real grader proves the stderr policy)."""
    chosen = {}
    for exercise, answers in harness.load_answers(assignment).items():
        if kind == "wrong":
            pool = answers.wrong
        else:
            pool = {**answers.correct_with_warning, **answers.correct}
        if pool:
            chosen[exercise] = next(iter(pool.values()))
    return chosen


@pytest.fixture
def graded(tmp_path_factory):
    def get(assignment: str) -> harness.AutogradeResult:
        if assignment not in _autogrades:
            _autogrades[assignment] = harness.autograde(
                assignment, tmp_path_factory.mktemp(f"course-{assignment}"),
                submissions={"solution": harness.read(harness.source_path(assignment))},
                release_submissions={"release": None,
                                     "alternatives": first_answers(assignment, "correct"),
                                     "wrong": first_answers(assignment, "wrong")},
            )
        return _autogrades[assignment]
    return get


# ----------------------------------------------------------------------------- notebook files


@pytest.mark.parametrize("assignment", assignment_params())
def test_notebooks_are_valid_and_solutions_have_no_outputs(assignment):
    for path in (harness.source_path(assignment), harness.release_path(assignment)):
        nb = harness.read(path)
        nbformat.validate(nb)
        assert nb.nbformat == 4, path
    for cell in harness.read(harness.source_path(assignment)).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{assignment}: solutions/ must be stored without outputs (cell {cell.get('id')})"


@pytest.mark.parametrize("assignment", assignment_params())
def test_release_hides_solutions_and_hidden_tests(assignment):
    text = harness.release_path(assignment).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"released {assignment} still contains '{marker}'"
    for cell in harness.read(harness.release_path(assignment)).cells:
        if harness.is_solution(cell):
            stub = "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
            assert stub in cell.source, f"{assignment}: solution cell without a stub: {cell.source}"


@pytest.mark.parametrize("assignment", assignment_params())
def test_release_keeps_signatures_and_docstrings(assignment):
    """nbgrader replaces a solution cell without markers whole, def line included: markers go
    inside the function body, so students receive the signature and the docstring."""
    released = {harness.nbgrader_meta(c)["grade_id"]: c.source
                for c in harness.read(harness.release_path(assignment)).cells
                if harness.is_solution(c)}
    for cell in harness.read(harness.source_path(assignment)).cells:
        if not harness.is_solution(cell):
            continue
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, \
            f"{assignment}: solution cell {harness.nbgrader_meta(cell)['grade_id']} lacks markers"
        head = cell.source.split("### BEGIN SOLUTION")[0]
        for line in head.splitlines():
            if line.strip():
                assert line in released[harness.nbgrader_meta(cell)["grade_id"]], \
                    f"{assignment}: the release lost the line {line!r}"


@pytest.mark.parametrize("assignment", assignment_params())
def test_release_matches_what_nbgrader_generates(assignment, graded):
    """notebooks/ is generated: regenerate with `make release` after editing solutions/."""
    fresh = json.loads(json.dumps(graded(assignment).released(assignment)))
    committed = json.loads(json.dumps(harness.read(harness.release_path(assignment))))
    assert committed == fresh, (f"notebooks/{assignment} drifted from solutions/{assignment}: "
                                "run `make release` and commit the result")


@pytest.mark.parametrize("assignment", assignment_params())
def test_nbgrader_reads_every_config_option(assignment, graded):
    result = graded(assignment)
    for log in (result.generate_log, result.autograde_log):
        assert "not recognized" not in log, log


# ----------------------------------------------------------------------------- the solution


@pytest.mark.parametrize("assignment", assignment_params())
def test_solution_executes_cleanly(assignment, sweep):
    solution = sweep(assignment).solution
    problems = []
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code":
            continue
        problems += [f"cell {index}: {e}" for e in harness.errors(cell)]
        if harness.stderr_text(cell):
            problems.append(f"cell {index} wrote to stderr: {harness.stderr_text(cell)[:500]}")
        if harness.is_test(cell):
            points, max_points = harness.score(cell)
            if points != max_points:
                problems.append(f"cell {index} ({harness.nbgrader_meta(cell)['grade_id']}) "
                                f"scored {points}/{max_points}")
    assert not problems, "\n".join(problems)


def autograded_cells(grades: dict[str, tuple]) -> dict[str, tuple]:
    return {name: g for name, g in grades.items() if not g[2]}


@pytest.mark.parametrize("assignment", assignment_params())
@pytest.mark.parametrize("student", ["solution", "alternatives"])
def test_autograde_gives_correct_work_full_marks(assignment, student, graded):
    """The source notebook itself, and the release filled in as a student would, with correct
    answers other than the solution's (one that prints a warning first, where there is one)."""
    grades = autograded_cells(graded(assignment).grades[student])
    assert grades, "no autograded cells"
    short = {name: g for name, g in grades.items() if g[0] != g[1]}
    assert not short, f"{student} lost points under nbgrader autograde: {short}"


@pytest.mark.parametrize("assignment", assignment_params())
def test_autograde_gives_the_unchanged_release_zero(assignment, graded):
    grades = graded(assignment).grades["release"]
    earned = {name: g for name, g in grades.items() if g[0]}
    assert not earned, f"the unmodified release earned points: {earned}"


@pytest.mark.parametrize("assignment", assignment_params())
def test_autograde_takes_points_from_each_wrong_answer(assignment, graded):
    grades = graded(assignment).grades["wrong"]
    source = harness.read(harness.source_path(assignment))
    for exercise, (_, tests) in harness.exercises(source).items():
        if exercise not in first_answers(assignment, "wrong"):
            continue
        names = [harness.nbgrader_meta(source.cells[i])["grade_id"] for i in tests]
        earned = sum(grades[n][0] or 0 for n in names)
        possible = sum(grades[n][1] for n in names)
        assert earned < possible, f"{exercise}: a wrong answer kept {earned}/{possible} points"


# ----------------------------------------------------------------------------- the sweep


@pytest.mark.parametrize(("assignment", "variant"), variant_params())
def test_answer_is_graded_as_it_should_be(assignment, variant, sweep):
    probes = sweep(assignment).probes_of(variant)
    assert probes, f"{variant.label}: the exercise has no test cells"
    earned = sum(harness.score(p.cell)[0] for p in probes)
    possible = sum(harness.score(p.cell)[1] for p in probes)
    report = "\n".join(f"  {p.grade_id}: {harness.score(p.cell)[0]}/{harness.score(p.cell)[1]} "
                       f"{harness.errors(p.cell)}" for p in probes)
    if variant.kind == "wrong":
        assert earned < possible, f"{variant.label} kept every point:\n{report}"
    else:
        assert earned == possible, f"{variant.label} lost points:\n{report}"
    if variant.warns:
        assert any("Warning" in harness.stderr_text(p.cell) for p in probes), \
            f"{variant.label} is listed as printing a warning, but none was printed"


@pytest.mark.parametrize("assignment", assignment_params())
def test_every_exercise_has_wrong_and_correct_answers(assignment):
    answers = harness.load_answers(assignment)
    for exercise in harness.exercises(harness.read(harness.source_path(assignment))):
        assert exercise in answers, f"{assignment}: no answers in tests/answers for {exercise}"
        given = answers[exercise]
        assert len(given.wrong) >= 3, f"{exercise}: at least three wrong answers are needed"
        assert len(given.correct) + len(given.correct_with_warning) >= 2, \
            f"{exercise}: at least two differently written correct answers are needed"


@pytest.mark.parametrize("assignment", assignment_params())
def test_failing_visible_tests_explain_themselves(assignment, sweep):
    """A visible test that fails by assertion says what it expected, what it got and what to
    suspect; every exercise has at least one wrong answer that a visible test catches so."""
    explained, unexplained = set(), []
    for probe in sweep(assignment).probes:
        if not probe.visible or probe.variant.kind != "wrong":
            continue
        for output in probe.cell.outputs:
            if output.output_type == "error" and output.ename == "AssertionError":
                text = output.evalue.lower()
                if all(word in text for word in ("expected:", "got:", "suspect:")):
                    explained.add(probe.variant.exercise)
                else:
                    unexplained.append(f"{probe.variant.label}: {output.evalue}")
    assert not unexplained, "\n".join(unexplained)
    with_visible_tests = {probe.variant.exercise for probe in sweep(assignment).probes
                          if probe.visible}
    missing = with_visible_tests - explained
    assert not missing, f"no wrong answer is caught by a visible test with a message: {missing}"


def message_params():
    return [pytest.param(a, exercise, name, words, marks=pytest.mark.xdist_group(a),
                         id=f"{a}:{exercise}[{name}]")
            for a in ASSIGNMENTS for exercise, answers in harness.load_answers(a).items()
            for name, words in answers.messages.items()]


@pytest.mark.parametrize(("assignment", "exercise", "name", "words"), message_params())
def test_wrong_answer_is_told_what_is_wrong(assignment, exercise, name, words, sweep):
    """Where a wrong answer once got a misleading message, its visible test now says the right
    thing (tests/answers: ``Answers.messages``)."""
    variant = next(v for v in harness.variants(assignment)
                   if v.exercise == exercise and v.kind == "wrong" and v.name == name)
    shown = [f"{o.ename}: {o.evalue}" for p in sweep(assignment).probes_of(variant) if p.visible
             for o in p.cell.outputs if o.output_type == "error"]
    assert any(words in text for text in shown), \
        f"{variant.label}: its visible test should say {words!r}; it said {shown}"
