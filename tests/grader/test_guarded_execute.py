"""grader.execute.guarded_execute: the output cap and a stuck kernel."""

from __future__ import annotations

import os

import nbformat
from nbformat.v4 import new_code_cell

from grader.execute.guarded_execute import MAX_CELL_OUTPUT_CHARS, GuardedExecute

# ----------------------------------------------------------------------------- output cap


def message(kind: str, **content) -> dict:
    return {"msg_type": kind, "parent_header": {"msg_id": "m"}, "content": content,
            "header": {"msg_type": kind}, "metadata": {}}


def capped_executor(limit: int = 1_000) -> GuardedExecute:
    executor = GuardedExecute(max_cell_output_chars=limit)
    executor._output_chars, executor._dropped_chars = {}, {}
    executor.clear_before_next_output = False
    return executor


def test_output_is_capped_while_it_arrives():
    executor, outs = capped_executor(1_000), []
    for _ in range(10_000):
        executor.output(outs, message("stream", name="stdout", text="x" * 99 + "\n"), None, 0)
    kept = sum(len(o.text) for o in outs)
    assert kept == 1_000 and len(outs) <= 11
    assert executor._dropped_chars[0] == 10_000 * 100 - 1_000
    assert MAX_CELL_OUTPUT_CHARS >= 100_000


def test_output_that_decides_the_grade_is_never_dropped():
    executor, outs = capped_executor(100), []
    executor.output(outs, message("stream", name="stdout", text="y" * 500), None, 0)
    warning = "/tmp/x.py:3: RuntimeWarning: overflow encountered in exp\n"
    executor.output(outs, message("stream", name="stderr", text=warning), None, 0)
    executor.output(outs, message("stream", name="stderr", text="real error\n" * 1000), None, 0)
    executor.output(outs, message("stream", name="stderr", text="second error\n"), None, 0)
    executor.output(outs, message("error", ename="AssertionError", evalue="wrong",
                                  traceback=["AssertionError: wrong"]), None, 0)
    executor.output(outs, message("execute_result", data={"text/plain": "0.5"},
                                  execution_count=1, metadata={}), None, 0)
    kinds = [(o.output_type, o.get("name")) for o in outs]
    assert kinds == [("stream", "stdout"), ("stream", "stderr"), ("error", None),
                     ("execute_result", None)]
    assert outs[1].text.startswith("real error") and len(outs[1].text) <= 2_000

# ----------------------------------------------------------------------------- a stuck kernel


def test_a_kernel_that_ignores_the_interrupt_is_shut_down_and_later_cells_score_zero():
    """nbgrader would give up on the whole notebook; GuardedExecute keeps what ran."""
    from grader.core.repository import grading_env
    from grader.execute.findings import execution_issues

    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("import time\nran = True"),
        # A bare except in a loop swallows the KeyboardInterrupt of the timeout.
        new_code_cell("while True:\n    try:\n        time.sleep(0.05)\n    except:\n"
                      "        pass"),
        new_code_cell("assert ran"),
    ])
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "test_after", "points": 1,
                                        "locked": True, "solution": False}
    environment = dict(os.environ)
    try:
        os.environ.update(grading_env())
        executor = GuardedExecute(timeout=2, kernel_name="python3")
        executor.preprocess(nb, {"metadata": {"path": "."}})
    finally:
        os.environ.clear()
        os.environ.update(environment)
    assert nb.cells[0].execution_count is not None
    assert {o.ename for o in nb.cells[1].outputs if o.output_type == "error"} >= {
        "UnresponsiveKernelError"}
    assert [o.ename for o in nb.cells[2].outputs] == ["NotExecuted"]
    issues = execution_issues(nb)
    stopped = [i for i in issues if i.kind == "kernel"]
    assert len(stopped) == 1 and stopped[0].flag
    assert "stopped responding" in stopped[0].message and "test_after" in stopped[0].message
