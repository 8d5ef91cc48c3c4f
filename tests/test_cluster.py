"""``autograde --cluster`` on a real Dask cluster on 127.0.0.1: a ``dask scheduler`` and two
``dask worker`` processes (one thread each), one of them killed, with its whole process group,
while it grades. The grades must equal those of the local pool on the same submissions, each
submission graded once, and no grading process left running anywhere.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader.core.course import Course
from grader.record.gradebook import records
from tests import harness
from tests.answers.nb01_tanh_derivatives import EXERCISES
from tests.postgres import free_port, wait_for

pytestmark = pytest.mark.xdist_group("cluster")

A = "01_tanh_derivatives"
DASK = Path(sys.executable).parent / "dask"

KERNEL_KILLER = "def relu_derivative(x):\n    import os\n    os._exit(1)\n"
MONKEYPATCH = ("import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n\n"
               "def tanh_derivative(x):\n    return 1 - x**2\n")


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def submissions(release) -> dict:
    wrong = {name: next(iter(answers.wrong.values())) for name, answers in EXERCISES.items()}
    return {"alice": harness.filled_release(A, {}, release=release),
            "bob": harness.filled_release(A, wrong, release=release),
            "erin": harness.filled_release(A, {"relu_derivative": KERNEL_KILLER},
                                           release=release),
            "mallory": harness.filled_release(A, {"tanh_derivative": MONKEYPATCH},
                                              release=release)}


def graded(course: Course) -> dict:
    """student -> (status, issue kinds, auto score per grade cell)."""
    with course.gradebook() as gb:
        scores = {s.student.id: {g.name: g.auto_score for n in s.notebooks for g in n.grades}
                  for s in gb.find_assignment(A).submissions}
    return {key[0]: (r.status, sorted(i.kind for i in r.issues), scores.get(key[0]))
            for key, r in records(course).items()}


def processes_under(folder: Path) -> list[str]:
    """Processes whose working directory lies under ``folder`` (the kernels grade there)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(folder)):
                found.append(f"{pid}: {Path(f'/proc/{pid}/cmdline').read_text()[:120]}")
    return found


@contextlib.contextmanager
def dask_cluster(scratch: Path):
    """A scheduler and two single-threaded workers on 127.0.0.1, each worker in a process
    group (and temporary folder) of its own; yields (address, worker name -> Popen)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    started: dict[str, subprocess.Popen] = {}

    def start(name, command, tmp):
        tmp.mkdir(parents=True, exist_ok=True)
        log = open(scratch / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        started[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=harness.ROOT,
            env={**os.environ, "TMPDIR": str(tmp)}, start_new_session=True)
        log.close()

    try:
        start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                            "--no-dashboard"], scratch / "scheduler")
        for name in ("w1", "w2"):
            start(name, [str(DASK), "worker", address, "--nthreads", "1", "--name", name,
                         "--no-dashboard"], scratch / name)
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, started
    finally:
        for process in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def kill_while_grading(address: str, worker: subprocess.Popen, name: str, tmp: Path,
                       done: threading.Event, killed: list) -> None:
    """SIGKILL ``worker``'s process group once one of its kernels is grading (a process works
    in its temporary folder), as a machine that dies mid-job."""
    if wait_for(lambda: done.is_set() or bool(processes_under(tmp)), timeout=300, interval=0.1):
        if not done.is_set():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            killed.append(name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    local = base / "local"
    shutil.copytree(harness.ROOT / "solutions" / A, local / "solutions" / A)
    assert run("release", "--root", local)[0] == 0
    release = harness.read(local / "notebooks" / A / f"{A}.ipynb")
    for student, notebook in submissions(release).items():
        harness_dir = local / "grader" / "submitted" / student / A
        harness_dir.mkdir(parents=True)
        nbformat.write(notebook, str(harness_dir / f"{A}.ipynb"))
    remote = base / "remote"
    shutil.copytree(local, remote)

    outputs = {"local": run("autograde", "--root", local, "--jobs", "2", "--no-progress")}
    scratch = base / "dask"
    scratch.mkdir()
    with dask_cluster(scratch) as (address, processes):
        done, killed = threading.Event(), []
        killer = threading.Thread(target=kill_while_grading, args=(
            address, processes["w1"], "w1", scratch / "w1", done, killed))
        killer.start()
        try:
            outputs["cluster"] = run("autograde", "--root", remote, "--cluster", address,
                                     "--no-progress")
        finally:
            done.set()
            killer.join()
        outputs["rerun"] = run("autograde", "--root", remote, "--cluster", address,
                               "--no-progress")
    leftovers = wait_for(lambda: not processes_under(scratch), timeout=20)
    yield {"local": Course(local), "remote": Course(remote), "out": outputs, "killed": killed,
           "leftovers": [] if leftovers else processes_under(scratch)}


def test_a_worker_was_killed_while_grading(runs):
    assert runs["killed"] == ["w1"], "the kill must land while w1 grades"


def test_the_cluster_grades_as_the_local_pool_does(runs):
    local, remote = graded(runs["local"]), graded(runs["remote"])
    assert set(remote) == {"alice", "bob", "erin", "mallory"}
    assert remote == local
    assert local["erin"][0] == "flagged" and "review" in local["mallory"][1]


def test_each_submission_is_graded_once(runs):
    code, text = runs["out"]["cluster"]
    assert "graded 4 submissions" in text, text
    rows = [line.split()[0] for line in text.splitlines()[2:] if line.strip()
            and line.split()[0] in {"alice", "bob", "erin", "mallory"}]
    assert sorted(rows) == ["alice", "bob", "erin", "mallory"], text
    rerun = runs["out"]["rerun"][1]
    assert "graded 0 submissions" in rerun and "skipped 4 already graded" in rerun, rerun


def test_nothing_is_left_running(runs):
    assert runs["leftovers"] == []


def test_files_from_a_worker_stay_inside_the_jobs_folder(tmp_path):
    from grader.execute.dask_cluster import files_of, write_files

    write_files({"a/b.txt": b"x", "c.ipynb": b"{}"}, tmp_path / "job")
    assert files_of(tmp_path / "job") == {"a/b.txt": b"x", "c.ipynb": b"{}"}
    with pytest.raises(ValueError, match="outside the job's directory"):
        write_files({"../escaped.txt": b"x"}, tmp_path / "job")
    assert not (tmp_path / "escaped.txt").exists()
