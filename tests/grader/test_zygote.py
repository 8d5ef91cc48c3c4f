"""Warm verifier kernels (grader.execute.verify.zygote): forked fresh per use, gone when closed,
and a cold start wherever the zygote is missing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from grader.core.repository import grading_env
from grader.execute.verify import session, zygote


@pytest.fixture(scope="module")
def warm():
    started = zygote.Zygote(grading_env({"MPLBACKEND": "Agg"}))
    yield started
    started.close()


def kernel(tmp_path: Path, address: str | None, name: str) -> session.BlockingKernel:
    cwd = tmp_path / name
    cwd.mkdir()
    return session.BlockingKernel(cwd, grading_env({"MPLBACKEND": "Agg"}),
                                  connection_file=cwd / "kernel.json", zygote=address)


def text(outputs) -> str:
    assert not [o for o in outputs if o["output_type"] == "error"], outputs
    return "".join(o.get("text", "") for o in outputs)


def test_each_kernel_is_a_fresh_fork_that_dies_with_its_handle(warm, tmp_path):
    first = kernel(tmp_path, warm.address, "a")
    assert isinstance(first.manager, zygote.ForkedKernel)
    pid = first.manager.pid
    assert text(first.run("import os, sys; leaked = 1; print(os.getpid(), 'torch' in "
                          "sys.modules)", 60)).split() == [str(pid), "True"]
    assert Path(text(first.run("print(os.getcwd())", 60)).strip()) == tmp_path / "a"
    second = kernel(tmp_path, warm.address, "b")
    assert second.manager.pid != pid
    assert "NameError" in [o.get("ename") for o in second.run("leaked", 60)]
    first.close()
    deadline = time.monotonic() + 10
    while first.manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not first.manager.is_alive()
    assert second.manager.is_alive()
    second.close()


def test_a_timed_out_cell_is_interrupted(warm, tmp_path):
    forked = kernel(tmp_path, warm.address, "c")
    outputs = forked.run("import time\nwhile True: time.sleep(0.05)", 2)
    assert outputs[-1]["ename"] == "CellTimeoutError"
    assert text(forked.run("print('still here')", 30)) == "still here\n"
    forked.close()


def test_without_a_zygote_the_kernel_starts_cold(tmp_path):
    cold = kernel(tmp_path, str(tmp_path / "gone" / "zygote.sock"), "d")
    assert not isinstance(cold.manager, zygote.ForkedKernel)
    assert text(cold.run("print(1 + 1)", 60)) == "2\n"
    cold.close()


def test_the_zygote_forks_only_for_a_connection_file_inside_the_directory_it_names(warm,
                                                                                 tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    (tmp_path / "cwd").mkdir()
    for request in ({"cwd": str(tmp_path / "cwd"), "connection_file": str(elsewhere), "env": {}},
                    {"cwd": str(tmp_path / "cwd"), "connection_file": str(tmp_path / "cwd" / "x"),
                     "env": {}},
                    "not a request"):
        connection = zygote._connect(warm.address)  # once it listens
        connection.sendall(json.dumps(request).encode() + b"\n")
        connection.settimeout(20)
        assert connection.recv(100) == b""  # refused: closed without a pid
        connection.close()


def test_only_its_owner_can_reach_the_zygote(warm):
    assert os.stat(Path(warm.address).parent).st_mode & 0o777 == 0o700
