"""Verdicts computed outside the submission's process (grader.execute.verify; issue 19 item 1).

A course of notebooks 01 (array functions, a multiple-choice check), 06 (a torch cell that
autograd differentiates) and 08 (a class) receives, for each exercise type, a plain wrong answer
and the same wrong answer behind each attack that once earned points from inside the kernel:

- ``swap``: the student's function, while a test calls it, swaps the checking functions for
  no-ops and restores them after the cell (the swap is invisible at the guard's next look);
- ``reporter``: the kernel guard's reporting function is replaced by one that sends "no
  findings" through the guard's own channel, and the checks are patched for good;
- ``liar``: returned objects that lie to comparisons (a ``str`` subclass equal to everything, an
  ndarray or tensor subclass that claims to be close to anything, a list equal to everything);
- ``frame``: the answer reads the expected value from the calling test's frame
  (``sys._getframe``).

One real ``autograde --jobs 2`` grades them all; each attacker must score exactly what the wrong
answer scores alone, cell by cell. ``dumper`` (honest answers, wrapped) dumps everything it can
reach at every call (``In``, ``Out``, ``globals()``, every frame, ``linecache``) and finds no
hidden-test line and no test variable. The same submissions are then checked with ``check``,
whole-notebook and ``--exercise``, which must give the same scores.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader.core import cells
from grader.core.course import Course
from grader.learner.check import check
from grader.learner.exercise import check_exercises
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES as NB01
from tests.answers.nb06_lstm_gru import EXERCISES as NB06
from tests.answers.nb08_gradient_dashboard import EXERCISES as NB08
from tests.grader.test_sandbox import _require_sandbox

pytestmark = pytest.mark.xdist_group("verdicts-outside")

NB01_ID, NB06_ID, NB08_ID = "01_tanh_derivatives", "06_lstm_gru", "08_gradient_dashboard"


def _wrong(exercises, name):
    return next(iter(exercises[name].wrong.values()))


# Attacks on a function: code run after the wrong answer defined NAME.
SWAP = """
import course_utils.checks as _ck
_real_{name} = {name}
_saved = {{n: getattr(_ck, n) for n in ("check_close", "check_array", "check_true",
                                       "check_not_mutated", "check_tensor", "fail")}}

def _no_check(got=None, *args, **kwargs):
    return got

def _restore(*args):
    for _n, _f in _saved.items():
        setattr(_ck, _n, _f)
    for _event in ("post_run_cell", "post_execute"):
        try:
            get_ipython().events.unregister(_event, _restore)
        except ValueError:
            pass

def {name}(*args, **kwargs):
    for _n in _saved:
        setattr(_ck, _n, _no_check)
    get_ipython().events.register("post_execute", _restore)
    return _real_{name}(*args, **kwargs)
"""

REPORTER = """
import sys
import course_utils.checks as _ck
_probe = sys.modules.get("_rnn_grader_probe")
if _probe is not None:
    _send = next(c.cell_contents for c in _probe.report.__closure__
                 if getattr(c.cell_contents, "__name__", "") == "send")
    _probe.report = lambda nonce, names=None: _send({{"probe": str(nonce), "findings": []}})
for _n in ("check_close", "check_array", "check_true", "check_not_mutated", "check_tensor",
           "check_choice", "fail"):
    setattr(_ck, _n, lambda got=None, *a, **k: got)
"""

FRAME = """
import sys
_real_{name} = {name}

def _from_caller(*names):
    frame = sys._getframe(2)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for wanted in names:
                if wanted in scope:
                    return scope[wanted]
        frame = frame.f_back
    return None

def {name}(*args, **kwargs):
    found = _from_caller({wanted})
    return _real_{name}(*args, **kwargs) if found is None else {use}
"""

LIAR_ARRAY = """
import numpy as _np
_real_{name} = {name}

class _Agreeable(_np.ndarray):
    def __eq__(self, other):
        return True
    def __array_function__(self, func, types, args, kwargs):
        if func in (_np.allclose, _np.array_equal, _np.isclose):
            return True if func is not _np.isclose else _np.ones(_np.shape(args[1]), bool)
        return super().__array_function__(func, types, args, kwargs)

def {name}(*args, **kwargs):
    return _np.asarray(_real_{name}(*args, **kwargs)).view(_Agreeable)
"""

LIAR_TENSOR = """
import torch as _torch
_real_{name} = {name}

class _Agreeable(_torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (_torch.allclose, _torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {{}})

def {name}(*args, **kwargs):
    return tuple(t.as_subclass(_Agreeable) for t in _real_{name}(*args, **kwargs))
"""

LIAR_CLASS = """
_Real = GradientMonitor

class _AgreeableList(list):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False

class GradientMonitor(_Real):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.alerts = _AgreeableList()
"""

LIAR_CHOICE = """
class _Agreeable(str):
    def __eq__(self, other):
        return True
    def __hash__(self):
        return 0
    def strip(self, *args):
        return self
    def lower(self):
        return self

knowledge_check = _Agreeable(knowledge_check)
"""

FRAME_CLASS = """
import sys
_Real = GradientMonitor

def _from_caller(name):
    frame = sys._getframe(2)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            if name in scope:
                return scope[name]
        frame = frame.f_back
    return None

class GradientMonitor(_Real):
    def record(self, step):
        super().record(step)
        expected = _from_caller("_expected")
        if isinstance(expected, dict):
            self.param_norms = {k: [v] for k, v in expected.items()}
        alerts = _from_caller("_expected_alerts")
        if alerts is not None:
            self.alerts = list(alerts)
"""

FRAME_CHOICE = """
import sys

class _Peek(str):
    def strip(self, *args):
        consts = [c for c in sys._getframe(1).f_code.co_consts
                  if isinstance(c, str) and len(c) == 1 and c in "abcd"]
        return _Peek(consts[-1]) if consts else _Peek(str.strip(self))
    def lower(self):
        return self

knowledge_check = _Peek(knowledge_check)
"""


def _submissions() -> dict[str, dict[str, dict[str, str]]]:
    """assignment -> student -> {exercise: answer code}."""
    tanh = _wrong(NB01, "tanh_derivative")
    choice = 'knowledge_check = "a"\n'
    lstm = _wrong(NB06, "lstm_cell")
    monitor = _wrong(NB08, "gradient_monitor")
    frame_tanh = FRAME.format(name="tanh_derivative", wanted='"_expected"',
                              use="found.numpy() if hasattr(found, 'numpy') else found")
    frame_lstm = FRAME.format(name="lstm_cell", wanted='"_h_ref"',
                              use="(found.detach(), _from_caller('_c_ref').detach())")
    return {
        NB01_ID: {
            "wrong": {"tanh_derivative": tanh, "knowledge_check": choice},
            "swap": {"tanh_derivative": tanh + SWAP.format(name="tanh_derivative"),
                     "knowledge_check": choice + REPORTER.format()},
            "reporter": {"tanh_derivative": tanh + REPORTER.format(),
                         "knowledge_check": choice},
            "liar": {"tanh_derivative": tanh + LIAR_ARRAY.format(name="tanh_derivative"),
                     "knowledge_check": choice + LIAR_CHOICE},
            "frame": {"tanh_derivative": tanh + frame_tanh,
                      "knowledge_check": choice + FRAME_CHOICE},
            "dumper": {"tanh_derivative": DUMPER},
        },
        NB06_ID: {
            "wrong": {"lstm_cell": lstm},
            "swap": {"lstm_cell": lstm + SWAP.format(name="lstm_cell")},
            "reporter": {"lstm_cell": lstm + REPORTER.format()},
            "liar": {"lstm_cell": lstm + LIAR_TENSOR.format(name="lstm_cell")},
            "frame": {"lstm_cell": lstm + frame_lstm},
        },
        NB08_ID: {
            "wrong": {"gradient_monitor": monitor},
            "swap": {"gradient_monitor": monitor + SWAP.format(name="GradientMonitor")},
            "reporter": {"gradient_monitor": monitor + REPORTER.format()},
            "liar": {"gradient_monitor": monitor + LIAR_CLASS},
            "frame": {"gradient_monitor": monitor + FRAME_CLASS},
        },
    }


# Wraps every function of notebook 01 that a test calls: at every call, searches everything it
# can reach for hidden-test lines and test variables; a cell appended at the end prints the tally.
DUMPER = '''
import gc, hashlib, linecache, sys
import numpy as np

def tanh_derivative(x):
    t = np.tanh(x)
    return 1.0 - t * t

_DUMP = {"calls": 0, "hits": set(), "strings": 0}
_TEST_NAMES = {"_expected", "_before", "_got", "_grid", "_scalar", "_rng", "_z", "_h_ref",
               "_expected_alerts"}

def _strings(value, depth=0):
    if depth > 3:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple, set)):
        for item in list(value)[:2000]:
            yield from _strings(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in list(value.items())[:2000]:
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)
    elif hasattr(value, "co_consts"):
        for item in value.co_consts:
            yield from _strings(item, depth + 1)

def _look():
    _DUMP["calls"] += 1
    ip = get_ipython()
    places = [ip.user_ns.get("In", []), ip.user_ns.get("Out", {}), dict(linecache.cache)]
    scopes = [ip.user_ns, globals()]
    frame = sys._getframe(1)
    while frame is not None:
        scopes += [frame.f_locals, frame.f_globals]
        places.append(frame.f_code)
        frame = frame.f_back
    for scope in scopes:
        for name, value in list(scope.items()):
            if name in _TEST_NAMES:
                _DUMP["hits"].add("variable " + name)
            places.append(value if isinstance(value, (str, list, tuple, dict)) else
                          getattr(value, "__code__", None))
    for place in places:
        for text in _strings(place):
            _DUMP["strings"] += 1
            for line in text.splitlines():
                line = " ".join(line.split())
                if len(line) >= 25 and hashlib.sha256(line.encode()).hexdigest() in _MARKERS:
                    _DUMP["hits"].add(line[:60])

_MARKERS = {markers!r}

for _name in ("tanh_derivative", "sigmoid_derivative", "relu_derivative",
              "central_difference", "fraction_saturated"):
    if _name in globals():
        def _wrap(function):
            def dumping(*args, **kwargs):
                _look()
                return function(*args, **kwargs)
            return dumping
        globals()[_name] = _wrap(globals()[_name])
'''

REPORT_DUMP = 'print("DUMP", _DUMP["calls"], _DUMP["strings"], sorted(_DUMP["hits"]))\n'


def hidden_lines(assignment: str) -> list[str]:
    source = harness.read(harness.source_path(assignment))
    visible = " ".join(" ".join(cells.strip_hidden_tests(c.source).split()) for c in source.cells)
    lines = {" ".join(line.split()).strip() for c in source.cells
             for line in cells.hidden_lines(c.source)}
    return sorted(line for line in lines if len(line) >= 25 and line not in visible
                  and "BEGIN HIDDEN" not in line and "END HIDDEN" not in line)


def _notebook(assignment: str, answers: dict[str, str], release) -> nbformat.NotebookNode:
    filled = {}
    source = {cells.grade_id(c): c for c in harness.read(harness.source_path(assignment)).cells}
    for exercise, code in answers.items():
        if code is DUMPER:
            # The hidden lines as hashes: the dumper's own cell must not hold them.
            code = DUMPER.replace("{markers!r}", repr({
                hashlib.sha256(line.encode()).hexdigest() for line in hidden_lines(assignment)}))
            # The dumper wraps every function the notebook defined so far: it goes last of the
            # answer cells it watches, in the cell of fraction_saturated.
            filled["fraction_saturated"] = harness.strip_solution_markers(
                source["fraction_saturated"].source) + code
            continue
        filled[exercise] = code
    nb = harness.filled_release(assignment, filled, release=release)
    if any(code is DUMPER for code in answers.values()):
        nb.cells.append(nbformat.v4.new_code_cell(REPORT_DUMP))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _require_sandbox()
    root = tmp_path_factory.mktemp("course")
    (root / "grader").mkdir()
    submissions = _submissions()
    for assignment in submissions:
        shutil.copytree(harness.ROOT / "solutions" / assignment, root / "solutions" / assignment)
    assert main(["release", "--root", str(root)]) == 0
    written = {}
    for assignment, students in submissions.items():
        release = harness.read(root / "notebooks" / assignment / f"{assignment}.ipynb")
        for student, answers in students.items():
            path = root / "grader" / "submitted" / student / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(_notebook(assignment, answers, release), str(path))
            written[(student, assignment)] = path
    command = [sys.executable, "-m", "grader", "autograde", "--root", str(root), "--jobs", "2",
               "--no-progress", "--timeout", "120"]
    run = subprocess.run(command, cwd=harness.ROOT, capture_output=True, text=True,
                         timeout=2400, env={**os.environ})
    return {"root": root, "course": Course(root), "run": run, "written": written,
            "submissions": submissions}


def points(course: Course, student: str, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.auto_score or 0.0 for g in notebook.grades
                if not g.name.startswith("free_response")}


ATTACKERS = [(assignment, student) for assignment, students in _submissions().items()
             for student in students if student not in ("wrong", "dumper")]


def test_the_run_graded_every_submission(graded):
    from grader.record.gradebook import records

    assert graded["run"].returncode in (0, 1), graded["run"].stderr[-3000:]
    stored = set(records(graded["course"]))
    assert stored == set(graded["written"]), graded["run"].stdout[-3000:]


@pytest.mark.parametrize(("assignment", "student"), ATTACKERS)
def test_an_attack_scores_exactly_what_its_wrong_answer_scores(graded, assignment, student):
    wrong = points(graded["course"], "wrong", assignment)
    assert wrong and min(wrong.values()) == 0  # the wrong answer loses points
    assert points(graded["course"], student, assignment) == wrong


def _dump_line(nb) -> str:
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    found = re.search(r"DUMP (\d+) (\d+) (.*)", text)
    assert found, text[-2000:]
    return found


def test_a_submission_that_dumps_everything_finds_no_hidden_test(graded):
    nb = harness.read(graded["course"].autograded_dir("dumper", NB01_ID) / f"{NB01_ID}.ipynb")
    found = _dump_line(nb)
    calls, strings, hits = int(found.group(1)), int(found.group(2)), found.group(3)
    assert calls >= 10 and strings > 100, found.group(0)  # it was called by the tests, and looked
    assert hits == "[]", hits
    earned = points(graded["course"], "dumper", NB01_ID)
    assert all(v > 0 for v in earned.values()), earned


def test_the_dumper_would_have_found_the_hidden_tests_in_the_tests_kernel():
    """The dump test is sharp: run as the old grading did (tests in the student's kernel), the
    same dumper finds hidden lines and test variables. Only the setup cell, the dumper and
    tanh_derivative's tests run (the rest of the notebook is not needed)."""
    source = harness.read(harness.source_path(NB01_ID))
    by_id = {cells.grade_id(c): c.source for c in source.cells if cells.grade_id(c)}
    dumper = DUMPER.replace("{markers!r}", repr({
        hashlib.sha256(line.encode()).hexdigest() for line in hidden_lines(NB01_ID)}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in (
        by_id["setup"], dumper, by_id["test_tanh_derivative_visible"],
        by_id["test_tanh_derivative_hidden"], REPORT_DUMP)])
    executed = harness.execute(nb, Path(harness.ROOT / "notebooks" / NB01_ID))
    hits = _dump_line(executed).group(3)
    assert "variable _expected" in hits and "hidden tests keep off" in hits, hits


@pytest.mark.parametrize("assignment", [NB01_ID, NB08_ID])
def test_check_gives_the_same_scores_as_autograde(graded, assignment):
    course = Course(harness.ROOT)
    for student in ("wrong", "liar", "frame", "swap"):
        path = graded["written"][(student, assignment)]
        expected = points(graded["course"], student, assignment)
        quick = check_exercises(path, assignment=assignment, source=course)
        by_exercise = {e.name: e.points for e in quick.exercises}
        whole = check(path, assignment=assignment)
        assert {e.name: e.points for e in whole.exercises if e.points is not None} == \
            {k: v for k, v in by_exercise.items() if v is not None}, student
        exercises = {e.name: e for e in cells.exercises(harness.read(
            harness.source_path(assignment)))}
        for name, points_earned in by_exercise.items():
            assert points_earned == sum(expected[t] for t in exercises[name].tests), \
                (student, name)

