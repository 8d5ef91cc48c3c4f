"""Where the sandbox binds the Python environment from, for the layouts a course is installed in
(grader.execute.sandbox.plan_binds), and in which order bubblewrap gets its arguments; the self-check
runs the real kernel command, so it fails wherever grading would."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.execute import sandbox
from grader.execute.sandbox import PythonLayout, plan_binds

LAYOUTS = {
    # python -m venv .venv in a clone under /tmp, Python from pyenv in root's home
    "venv under /tmp": (
        PythonLayout("/tmp/clone/.venv", "/root/.pyenv/versions/3.11.7",
                     "/tmp/clone/.venv/bin/python", "/tmp/clone/course_utils"),
        ["/tmp/clone/.venv", "/root/.pyenv/versions/3.11.7", "/tmp/clone/course_utils"]),
    # conda env create -f environment.yml (pip install -e . into it)
    "conda environment": (
        PythonLayout("/opt/conda/envs/rnn-gradients", "/opt/conda/envs/rnn-gradients",
                     "/opt/conda/envs/rnn-gradients/bin/python",
                     "/home/teacher/rnn-gradients/course_utils"),
        ["/opt/conda/envs/rnn-gradients", "/home/teacher/rnn-gradients/course_utils"]),
    # Debian's python3 with the course installed (not editable) into /usr/local
    "system Python": (
        PythonLayout("/usr", "/usr", "/usr/bin/python3",
                     "/usr/local/lib/python3.11/dist-packages/course_utils"),
        []),
    # a venv of the system Python, course_utils from the checkout
    "venv of the system Python": (
        PythonLayout("/srv/course/.venv", "/usr", "/srv/course/.venv/bin/python",
                     "/srv/course/course_utils"),
        ["/srv/course/.venv", "/srv/course/course_utils"]),
    # the course installed into a conda environment (course_utils inside it)
    "conda, installed": (
        PythonLayout("/opt/conda", "/opt/conda", "/opt/conda/bin/python3.11",
                     "/opt/conda/lib/python3.11/site-packages/course_utils"),
        ["/opt/conda"]),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_the_python_installation_and_only_the_course_utils_package_are_bound(name):
    layout, expected = LAYOUTS[name]
    binds = plan_binds(layout)
    assert sorted(binds) == sorted(expected)
    # never the checkout around course_utils (it holds solutions/), never a home directory
    assert not any(b in ("/tmp/clone", "/srv/course", "/home/teacher/rnn-gradients", "/root",
                         "/home/teacher", "/", "/tmp") for b in binds)


def _command(monkeypatch, tmp_path, layout: PythonLayout) -> list[str]:
    monkeypatch.setattr(PythonLayout, "current", classmethod(lambda cls: layout))
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    box = sandbox.Sandbox(tmp_path / "job")
    box.sockets = tmp_path / "ipc"
    return box.command({"a.ipynb": tmp_path / "a.ipynb"}, {}, ["-f", "conn.json"])


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_binds_come_after_the_tmpfs_mounts_that_would_hide_them(monkeypatch, tmp_path, name):
    """bubblewrap applies its arguments in order: a bind under /tmp before `--tmpfs /tmp` is
    hidden by it (a clone under /tmp then failed every submission)."""
    layout, expected = LAYOUTS[name]
    command = _command(monkeypatch, tmp_path, layout)
    mounts = [(i, command[i + 1]) for i, arg in enumerate(command) if arg == "--tmpfs"]
    binds = [(i, command[i + 1]) for i, arg in enumerate(command)
             if arg in ("--bind", "--ro-bind", "--ro-bind-try")]
    for index, target in binds:
        for mount_index, mount in mounts:
            if target == mount or target.startswith(mount.rstrip("/") + "/"):
                assert index > mount_index, (target, mount)
    for root in expected:
        assert ("--ro-bind", root) in {(command[i], command[i + 1]) for i, _ in binds}


def test_the_kernel_searches_the_grader_s_course_utils_first(monkeypatch, tmp_path):
    layout, _ = LAYOUTS["venv under /tmp"]
    command = _command(monkeypatch, tmp_path, layout)
    settings = {command[i + 1]: command[i + 2] for i, arg in enumerate(command)
                if arg == "--setenv"}
    assert settings["RNN_GRADER_COURSE_PATH"] == "/tmp/clone"


def test_the_self_check_fails_where_the_kernel_could_not_import_course_utils(
        monkeypatch, tmp_path):
    """The self-check starts the kernel's own Python in the real sandbox: a course_utils the
    kernel cannot import (here: a directory without it) fails it, with the import error."""
    from tests.grader.test_sandbox import _require_sandbox

    _require_sandbox()
    assert sandbox.check.__wrapped__() is None
    empty = tmp_path / "elsewhere" / "course_utils"
    empty.mkdir(parents=True)
    real = PythonLayout.current()
    broken = PythonLayout(real.prefix, real.base_prefix, real.executable, str(empty))
    monkeypatch.setattr(PythonLayout, "current", classmethod(lambda cls: broken))
    why = sandbox.check.__wrapped__()
    assert why is not None and "cannot start" in why, why
    assert "course_utils" in why or "Error" in why, why


def test_the_self_check_runs_the_kernel_s_imports(monkeypatch):
    """Not `python -c print(42)`: the kernel's launcher with the course's imports."""
    seen = []
    run = sandbox.subprocess.run

    def spy(argv, **kwargs):
        seen.append(argv)
        return run(argv, **kwargs)

    from tests.grader.test_sandbox import _require_sandbox

    _require_sandbox()
    monkeypatch.setattr(sandbox.subprocess, "run", spy)
    assert sandbox.check.__wrapped__() is None
    (argv,) = seen
    assert argv[-2].endswith("kernel_guard.py") and argv[-1] == "--self-check"
    assert Path(argv[argv.index("--") + 1 if "--" in argv else 0]).name
