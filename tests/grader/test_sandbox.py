"""Hostile submissions against the grading sandbox (grader.execute.sandbox and
grader.execute.kernel_guard).

One temporary course of notebook 01 receives a corpus of submissions, one attack each, next to
honest ones, and a single real ``python -m grader autograde --jobs 2`` grades them all (small
limits, so that the limits are reached for real and quickly). The tests then check each verdict
and score, that the honest submissions graded in the same run are unaffected, that nothing
outside the sandbox changed (the course gradebook, ``solutions/``, ``notebooks/``, the grader's
files, other submissions, byte for byte), that no process and no temporary file outlives the run,
that no network connection reached the machine, and that no line of a hidden test appears in any
feedback page.

Under ``CI=true`` a missing or unusable bubblewrap fails the module instead of skipping it.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader.core import cells
from grader.core.course import Course
from grader.execute import sandbox
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES

pytestmark = pytest.mark.xdist_group("sandbox")

A = "01_tanh_derivatives"
MARKER = "rnn-sandbox-test-marker"  # in the command line of every process an attack starts


def _require_sandbox() -> None:
    why = sandbox.check()
    if why is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the sandbox tests, but: {why}")
    pytest.skip(why)


WRONG = {name: next(iter(answers.wrong.values())) for name, answers in EXERCISES.items()}


def wrong_unless(found: str) -> str:
    """Code that defines a wrong tanh_derivative, or the one the attack found in ``found``."""
    return (f"{found}\n"
            "if 'tanh_derivative' not in globals():\n"
            "    def tanh_derivative(x):\n"
            "        return 1 - x**2\n")


ATTACKS = {
    # ---- reading instructor material
    "reader": wrong_unless(
        "import glob, json, os\n"
        "_paths = {{COURSE_ROOT!r}}\n"
        "for _pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        _cmd = open(f'/proc/{_pid}/cmdline', 'rb').read().split(b'\\0')\n"
        "    except OSError:\n"
        "        continue\n"
        "    _paths.update(a.decode() for a in _cmd if a.startswith(b'/'))\n"
        "_found = []\n"
        "for _path in sorted(_paths):\n"
        "    while _path not in ('/', ''):\n"
        "        for _name in ('solutions', 'grader/gradebook.db', 'gradebook.db', "
        "'template-01_tanh_derivatives.db'):\n"
        "            if os.path.exists(os.path.join(_path, _name)):\n"
        "                _found.append(os.path.join(_path, _name))\n"
        "        _path = os.path.dirname(_path)\n"
        "for _nb in [p for f in _found for p in glob.glob(f + '/*/*.ipynb')]:\n"
        "    for _c in json.load(open(_nb))['cells']:\n"
        "        if 'def tanh_derivative' in ''.join(_c['source']):\n"
        "            exec(''.join(_c['source']))\n"
        "print('FOUND', {COURSE_ROOT!r} in _paths, _found)\n"),
    # ---- passing without solving
    "transformer": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
                   + WRONG["tanh_derivative"],
    "ast_transformer": (
        "import ast\n"
        "class _NoAsserts(ast.NodeTransformer):\n"
        "    def visit_Call(self, node):\n"
        "        return ast.Constant(None)\n"
        "get_ipython().ast_transformers.append(_NoAsserts())\n") + WRONG["tanh_derivative"],
    "alias": "_c = checks\n_c.check_close = lambda *a, **k: None\n"
             "_c.check_array = lambda got, **k: got\n" + WRONG["tanh_derivative"],
    "sys_modules": "import sys\nsys.modules['course_utils.checks'].check_close = "
                   "lambda *a, **k: None\n" + WRONG["tanh_derivative"],
    "computed_setattr": "setattr(checks, 'check_' + 'close', lambda *a, **k: None)\n"
                        + WRONG["tanh_derivative"],
    "user_ns": "import types\n_fake = types.SimpleNamespace(**vars(checks))\n"
               "_fake.check_close = lambda *a, **k: None\n"
               "get_ipython().user_ns['checks'] = _fake\n" + WRONG["tanh_derivative"],
    "frame_globals": "import sys\n_g = sys._getframe().f_globals\n"
                     "_g['np'] = type(sys)('np')\n" + WRONG["tanh_derivative"],
    "code_swap": "checks.check_close.__code__ = (lambda *a, **k: None).__code__\n"
                 + WRONG["tanh_derivative"],
    "run_magic": "open('patch.py', 'w').write('from course_utils import checks\\n"
                 "checks.check_close = lambda *a, **k: None\\n')\n"
                 "get_ipython().run_line_magic('run', '-i patch.py')\n"
                 + WRONG["tanh_derivative"],
    "shell_command": "get_ipython().system('echo hello from the shell')\n"
                     "get_ipython().events.register('pre_run_cell', lambda info: None)\n"
                     + WRONG["tanh_derivative"],
    "ctypes": "import ctypes\nctypes.pythonapi.PyObject_SetAttr(ctypes.py_object(checks), "
              "ctypes.py_object('check_close'), ctypes.py_object(lambda *a, **k: None))\n"
              + WRONG["tanh_derivative"],
    "trace": "import sys\n"
             "def _quiet(frame, event, arg):\n"
             "    return None\n"
             "sys.settrace(_quiet)\nsys.settrace(None)\n" + WRONG["tanh_derivative"],
    "showtraceback": "get_ipython().showtraceback = lambda *a, **k: None\n"
                     + WRONG["tanh_derivative"],
    # ---- damage to others and to the instructor
    "vandal": (
        "import glob, os, signal, sqlite3\n"
        "_hits = []\n"
        "for _db in glob.glob({COURSE_ROOT!r} + '/grader/*.db') + glob.glob('/tmp/*/*.db'):\n"
        "    _hits.append(_db)\n"
        "    sqlite3.connect(_db).execute('DELETE FROM grade')\n"
        "for _nb in glob.glob({COURSE_ROOT!r} + '/grader/submitted/*/*/*.ipynb'):\n"
        "    _hits.append(_nb)\n"
        "    open(_nb, 'w').write('{{}}')\n"
        "for _path in ({COURSE_ROOT!r} + '/grader/nbgrader_config.py',\n"
        "              {COURSE_ROOT!r} + '/notebooks/01_tanh_derivatives/evil.py'):\n"
        "    try:\n"
        "        open(_path, 'a').write('raise SystemExit')\n"
        "        _hits.append(_path)\n"
        "    except OSError:\n"
        "        pass\n"
        "_runtime = glob.glob('/root/.local/share/jupyter/runtime/*.json') + "
        "glob.glob('/tmp/**/kernel*.json', recursive=True)\n"
        "print('HITS', _hits, _runtime, flush=True)\n"
        "import time\n"
        "time.sleep(1)\n"
        "for _pid in range(2, 3000):\n"
        "    if _pid != os.getpid():\n"
        "        try:\n"
        "            os.kill(_pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n") + WRONG["tanh_derivative"],
    "detached": "import subprocess, sys\n"
                f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(900)', "
                f"'{MARKER}'], start_new_session=True)\n" + WRONG["tanh_derivative"],
    "network": "import socket\n_s = socket.socket()\n_s.settimeout(3)\n"
               "try:\n    _s.connect(('127.0.0.1', {PORT}))\n    _s.sendall(b'graded')\n"
               "    print('CONNECTED')\nexcept OSError as error:\n    print('NO NETWORK', error)\n"
               + WRONG["tanh_derivative"],
    "memory": "import numpy as np\n_big = np.ones(3 * 2**30 // 8)\n" + WRONG["tanh_derivative"],
    "fork_bomb": "import subprocess, sys\n_children = []\n"
                 "for _ in range(200):\n"
                 f"    _children.append(subprocess.Popen([sys.executable, '-c', "
                 f"'import time; time.sleep(600)', '{MARKER}']))\n"
                 + WRONG["tanh_derivative"],
    # ---- handles to the grader's side: the run and socket directories, the worker's log
    "handles": (
        "import json, os\n"
        "from ipykernel.kernelapp import IPKernelApp\n"
        "_conn = IPKernelApp.instance().connection_file\n"
        "_sockets = os.path.dirname(json.load(open(_conn))['ip'])\n"
        "_tried = []\n"
        "for _dir in (os.path.dirname(_conn), _sockets):\n"
        "    try:\n"
        "        open(os.path.join(_dir, 'planted.txt'), 'w').write('x')\n"
        "        _tried.append('WROTE')\n"
        "    except OSError:\n"
        "        _tried.append('DENIED')\n"
        "    try:\n"
        "        os.chmod(_dir, 0o777)\n"
        "        _tried.append('CHMOD')\n"
        "    except OSError:\n"
        "        _tried.append('NOCHMOD')\n"
        "_files = sorted({os.readlink(f'/proc/self/fd/{fd}') for fd in os.listdir('/proc/self/fd')\n"
        "                 if os.path.islink(f'/proc/self/fd/{fd}')})\n"
        "print('HANDLES', _tried, [f for f in _files if f.endswith('.log')])\n"
        "os.write(1, b'\\n[INFO grader] forged by the kernel\\n')\n"
        "_chunk = b'y' * 2**20\n"
        "for _ in range(64):\n"
        "    os.write(2, _chunk)\n") + WRONG["tanh_derivative"],
    # ---- the guard's own reporting, replaced: forged findings carrying the hidden tests
    "forger": (
        "import sys\n"
        "_probe = sys.modules['_rnn_grader_probe']\n"
        "_send = dict(zip(_probe.report.__code__.co_freevars,\n"
        "                 [c.cell_contents for c in _probe.report.__closure__]))['send']\n"
        "def _forged(nonce, names=None):\n"
        "    _hex = ''.join(In).encode().hex()[-6000:]\n"
        "    _send({'probe': nonce, 'findings': [\n"
        "        'x0000' + _hex + ' was changed',\n"
        "        {'code': 'hook_changed', 'object': 'x0000' + _hex},\n"
        "        {'code': 'attribute_replaced', 'object': 'numpy.x0000' + _hex},\n"
        "        {'code': 'name_rebound', 'object': 'x0000' + _hex},\n"
        "        {'code': 'x0000' + _hex, 'object': ''},\n"
        "        {'code': 'shell_changed', 'object': '<img src=x onerror=alert(1)>'}]})\n"
        "_probe.report = _forged\n") + WRONG["tanh_derivative"],
    # ---- hidden tests leaking into feedback
    "leaker": "import inspect, linecache, sys\n"
              "def tanh_derivative(x):\n"
              "    _caller = sys._getframe(1)\n"
              "    _lines = ''.join(linecache.getlines(_caller.f_code.co_filename))\n"
              "    print('CALLED FROM', _lines, In)\n"
              "    raise ValueError(_lines)\n",
}


def shadow_submission(release) -> nbformat.NotebookNode:
    """A course_utils.py written before the setup cell runs, to stand in for the real one."""
    nb = harness.filled_release(A, dict(WRONG), release=release)
    fake = "def check_close(*a, **k):\n    pass\n"
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import os\nos.makedirs('course_utils', exist_ok=True)\n"
        f"open('course_utils/__init__.py', 'w').write('from . import checks\\n')\n"
        f"open('course_utils/checks.py', 'w').write({fake!r})\n"))
    return nb


def unknown_metadata_submission(release) -> nbformat.NotebookNode:
    nb = harness.filled_release(A, release=release)
    extra = nbformat.v4.new_code_cell("x = 1")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "my_own_test", "locked": False,
                                  "points": 100, "schema_version": 3, "solution": False,
                                  "task": False}
    nb.cells.append(extra)
    return nb


def digest(paths: list[Path]) -> dict[str, str]:
    found = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def marked_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes()
                if MARKER.encode() in command and b"pytest" not in command:
                    found.append(command.decode(errors="replace"))
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _require_sandbox()
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(harness.ROOT / "solutions" / A, root / "solutions" / A)
    (root / "grader").mkdir()
    assert main(["release", "--root", str(root)]) == 0
    release = harness.read(root / "notebooks" / A / f"{A}.ipynb")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connections.append(listener.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    notebooks = {"honest": harness.filled_release(A, release=release),
                 "honest2": harness.filled_release(A, release=release),
                 "wrong": harness.filled_release(A, dict(WRONG), release=release),
                 "shadow": shadow_submission(release),
                 "unknown_cell": unknown_metadata_submission(release)}
    for student, code in ATTACKS.items():
        code = code.replace("{COURSE_ROOT!r}", repr(str(root))).replace("{PORT}", str(port))
        code = code.replace("{{}}", "{}")
        notebooks[student] = harness.filled_release(A, {"tanh_derivative": code},
                                                    release=release)
    for student, nb in notebooks.items():
        path = root / "grader" / "submitted" / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    # Handed in beside the notebook: must never reach the kernel.
    (root / "grader" / "submitted" / "shadow" / A / "course_utils.py").write_text(
        "raise SystemExit('shadowed')\n")

    protected = [root / "solutions", root / "notebooks", root / "grader" / "submitted",
                 harness.ROOT / "grader", harness.ROOT / "solutions"]
    before = digest(protected)
    scratch = tmp_path_factory.mktemp("tmp")
    environment = {**os.environ, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "grader", "autograde", "--root", str(root), "--jobs", "2",
               "--no-progress", "--timeout", "60", "--memory", "1", "--processes", "64"]
    run = subprocess.run(command, cwd=harness.ROOT, env=environment, capture_output=True,
                         text=True, timeout=1500)
    feedback = io.StringIO()
    with contextlib.redirect_stdout(feedback):
        main(["feedback", "--root", str(root)])
        main(["report", "--root", str(root)])
    stop.set()
    thread.join(timeout=2)
    listener.close()
    return {"root": root, "course": Course(root), "run": run, "before": before,
            "after": digest(protected), "scratch": scratch, "connections": connections,
            "processes": marked_processes(), "students": sorted(notebooks)}


def verdict(graded, student):
    from grader.record.gradebook import records

    return records(graded["course"])[(student, A)]


def points(graded, student) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(graded["course"].db_url) as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        return {g.name: g.auto_score or 0.0 for g in notebook.grades}


def messages(graded, student) -> str:
    return "\n".join(i.message for i in verdict(graded, student).issues)


def full_marks(graded) -> dict[str, float]:
    return points(graded, "honest")


# ----------------------------------------------------------------------------- the run


def test_the_run_graded_every_submission(graded):
    assert graded["run"].returncode in (0, 1), graded["run"].stderr
    from grader.record.gradebook import records

    stored = {student for student, _ in records(graded["course"])}
    assert stored == set(graded["students"]), graded["run"].stdout


def test_honest_submissions_in_the_same_run_get_full_marks(graded):
    for student in ("honest", "honest2"):
        assert verdict(graded, student).status == "graded", messages(graded, student)
        scores = points(graded, student)
        automatic = {k: v for k, v in scores.items() if k != "free_response_saturation"}
        assert automatic and all(v > 0 for v in automatic.values()), scores


def test_a_plain_wrong_submission_is_graded_not_flagged(graded):
    assert verdict(graded, "wrong").status == "graded", messages(graded, "wrong")


TAMPERING = ("transformer", "ast_transformer", "alias", "sys_modules", "computed_setattr",
             "user_ns", "frame_globals", "code_swap", "run_magic", "shell_command", "ctypes",
             "trace", "showtraceback")


@pytest.mark.parametrize("student", TAMPERING)
def test_tampering_is_flagged_and_earns_nothing_for_the_wrong_answer(graded, student):
    record = verdict(graded, student)
    assert record.status == "flagged", messages(graded, student)
    assert any(i.kind == "tampered" for i in record.issues), messages(graded, student)
    earned = points(graded, student)
    assert earned["test_tanh_derivative_visible"] == 0, (student, earned)
    assert earned["test_tanh_derivative_hidden"] == 0, (student, earned)


def test_solutions_and_gradebooks_are_out_of_reach(graded):
    assert points(graded, "reader")["test_tanh_derivative_hidden"] == 0
    autograded = harness.read(graded["course"].autograded_dir("reader", A) / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    found = re.search(r"FOUND (.*)", printed)
    assert found and found.group(1) == "True []", found


def test_a_course_utils_beside_the_notebook_or_written_by_it_never_wins(graded):
    record = verdict(graded, "shadow")
    assert record.status in ("graded", "flagged")
    earned = points(graded, "shadow")
    assert earned["test_tanh_derivative_visible"] == 0 and earned["test_sigmoid_derivative_hidden"] == 0


def test_nothing_outside_the_sandbox_changed(graded):
    assert graded["before"] == graded["after"]
    text = graded["run"].stdout + "".join(
        o.get("text", "") for c in harness.read(
            graded["course"].autograded_dir("vandal", A) / f"{A}.ipynb").cells
        for o in c.get("outputs", []))
    assert "HITS [] []" in text, text[-2000:]


def test_killing_every_process_in_sight_only_stops_its_own_kernel(graded):
    record = verdict(graded, "vandal")
    assert record.status == "flagged" and "kernel" in messages(graded, "vandal")


def test_no_process_and_no_temporary_file_outlives_the_run(graded):
    assert graded["processes"] == []
    assert list(graded["scratch"].iterdir()) == []
    leftovers = [p for base in (sandbox.CGROUP_ROOT / "memory" / "rnn-grader",
                                sandbox.CGROUP_ROOT / "pids" / "rnn-grader")
                 if base.is_dir() for p in base.iterdir()
                 if p.is_dir() and str(graded["scratch"].name) in p.name]
    assert leftovers == []


def test_no_network_connection_is_possible(graded):
    assert graded["connections"] == []
    autograded = harness.read(graded["course"].autograded_dir("network", A) / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    assert "NO NETWORK" in printed and "CONNECTED" not in printed


def test_the_memory_limit_stops_the_kernel_and_names_the_cell(graded):
    record = verdict(graded, "memory")
    assert record.status == "flagged"
    assert re.search(r"memory limit of 1 GiB exceeded in cell \d+", messages(graded, "memory"))


def test_the_process_limit_stops_the_kernel_and_names_the_cell(graded):
    record = verdict(graded, "fork_bomb")
    assert record.status == "flagged"
    assert re.search(r"limit of 64 processes and threads reached in cell \d+",
                     messages(graded, "fork_bomb"))


def test_a_cell_with_unknown_grading_metadata_is_graded_as_an_ordinary_cell(graded):
    record = verdict(graded, "unknown_cell")
    assert record.status == "flagged"
    assert "my_own_test" in messages(graded, "unknown_cell")
    assert "my_own_test" not in points(graded, "unknown_cell")


def hidden_lines() -> list[str]:
    source = harness.read(harness.source_path(A))
    visible = " ".join(" ".join(cells.strip_hidden_tests(c.source).split()) for c in source.cells)
    lines = {" ".join(line.split()) for c in source.cells for line in
             cells.hidden_lines(c.source)}
    return sorted(line for line in lines if len(line) >= 20 and line not in visible)


def test_no_hidden_test_line_reaches_any_feedback_page(graded):
    secrets = hidden_lines()
    assert len(secrets) > 10
    pages = sorted(graded["course"].feedback.glob(f"*/{A}/{A}.html"))
    assert {p.parent.parent.name for p in pages} >= {"leaker", "honest", "wrong"}
    for page in pages:
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{page} shows hidden test lines: {leaked[:2]}"


def test_the_leaker_reads_no_hidden_line_inside_its_kernel(graded):
    """The tests run in the verifier kernel (grader.execute.verify): the caller's frame and source the
    leaker reads in its own kernel hold no hidden line, so the ValueError it raises with them
    (shown in the test cell's output) carries none either."""
    autograded = nbformat.reads(
        (graded["course"].autograded_dir("leaker", A) / f"{A}.ipynb").read_text(), as_version=4)
    raised = [" ".join(str(o.get("evalue", "")).split()) for c in autograded.cells
              if cells.is_test(c) for o in c.get("outputs", []) if o.get("ename") == "ValueError"]
    assert raised  # the leaker was called by the tests and raised what it read
    assert not [line for line in hidden_lines() for text in raised if line in text]


def test_the_kernel_holds_no_writable_handle_to_the_grader_s_side(graded):
    """Its output is a pipe read with a cap (64 MiB written, the kept log stays small and every
    line of it is marked as the kernel's); the run directory is read-only; the sockets'
    directory (when the grader is root) is closed once the sockets exist."""
    autograded = harness.read(graded["course"].autograded_dir("handles", A) / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    found = re.search(r"HANDLES (\[.*?\]) (\[.*?\])", printed)
    assert found, printed[-2000:]
    tried = found.group(1)
    if os.geteuid() == 0:
        assert tried == "['DENIED', 'NOCHMOD', 'DENIED', 'NOCHMOD']", tried
    else:
        assert tried.startswith("['DENIED', 'NOCHMOD'"), tried
    assert found.group(2) == "[]"  # not the worker's log file
    log = graded["course"].log_file("handles", A)
    assert log.stat().st_size < 2**20, log.stat().st_size
    text = log.read_text(errors="replace")
    assert "forged by the kernel" in text  # kept, marked as the kernel's
    assert not re.search(r"^\[INFO grader\] forged", text, re.MULTILINE)


def test_forged_findings_put_no_text_of_the_kernel_anywhere(graded):
    """The guard's reporting replaced by one that sends hidden test lines, hex-encoded, as
    findings (the old pattern-matched text, structured findings with made-up names and codes):
    the submission is flagged in the grader's own words, and none of it reaches an issue, the
    gradebook, a report or a feedback page."""
    from grader.record.gradebook import records

    record = verdict(graded, "forger")
    assert record.status == "flagged", messages(graded, "forger")
    assert "a change the grader cannot describe" in messages(graded, "forger")
    everything = [i.message for r in records(graded["course"]).values() for i in r.issues]
    everything += [r.reason or "" for r in records(graded["course"]).values()]
    everything += [p.read_text(errors="replace") for p in graded["course"].reports.glob("*.csv")]
    for text in everything:
        assert "x0000" not in text and "onerror=alert" not in text, text[:500]
        assert not re.search(r"[0-9a-f]{64}", text), re.search(r"[0-9a-f]{64}", text)
    # A feedback page shows the forger's own code ('x0000' + _hex), never what it sent.
    encoded = [line.encode().hex() for line in hidden_lines()]
    for page in graded["course"].feedback.glob(f"*/{A}/{A}.html"):
        text = page.read_text()
        assert not re.search(r"x0000[0-9a-f]", text), page
        assert not any(e in text for e in encoded), page
