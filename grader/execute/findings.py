"""Looking at a submission after it ran (before it ran: :mod:`grader.prepare.inspection`).

:func:`execution_issues` reads the executed notebook for cells that timed out, a kernel that died
and the cells that ran before it, and truncated output; :func:`sandbox_issues` words what the
sandboxed kernel's guard reported (evidence for a person: the tests ran in the verifier kernel,
see grader.execute.verify, so nothing the guard finds changes a score).
"""

from __future__ import annotations

import nbformat

from grader.core import cells
from grader.core.verdict import (
    KERNEL_DIED,
    KERNEL_UNRESPONSIVE,
    NOT_EXECUTED,
    TIMED_OUT,
    TRUNCATED_MARKER,
    Issue,
)

# ----------------------------------------------------------------------------- after running

# Ours (output dropped while it arrived) and nbgrader's LimitOutput (lines cut afterwards).
TRUNCATION = (TRUNCATED_MARKER, "... Output truncated ...")


def execution_issues(nb: nbformat.NotebookNode, timeout: float | None = None) -> list[Issue]:
    """Timeouts, a dead or stuck kernel (and which cells ran), truncated output."""
    issues: list[Issue] = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for index, cell in code:
        errors = {o.ename for o in cell.get("outputs", []) if o.output_type == "error"}
        if TIMED_OUT in errors:
            limit = f" after {timeout:g} s" if timeout else ""
            issues.append(Issue("timeout", f"{cells.label(index, cell)} timed out{limit} and was "
                                "interrupted; the cells after it still ran"))
        if errors & {KERNEL_DIED, KERNEL_UNRESPONSIVE}:
            issues.append(_stopped(nb, code, index, KERNEL_DIED in errors))
        if any(o.output_type == "stream" and any(m in o.get("text", "") for m in TRUNCATION)
               for o in cell.get("outputs", [])):
            issues.append(Issue("output", f"the output of {cells.label(index, cell)} was too long "
                                "and was truncated"))
    return issues


def _stopped(nb, code: list, index: int, died: bool) -> Issue:
    ran = [i for i, c in code if i < index and c.get("execution_count") is not None]
    not_run = [i for i, c in code if i > index
               and any(o.get("ename") == NOT_EXECUTED for o in c.get("outputs", []))]
    tests = [cells.grade_id(nb.cells[i]) for i in not_run if cells.is_test(nb.cells[i])]
    how = "died" if died else "stopped responding and was shut down"
    ran_text = (f"the {len(ran)} code cells before it ran (cells {ran[0] + 1} to {ran[-1] + 1})"
                if ran else "no code cell ran before it")
    lost = (f"; the {len(not_run)} after it did not" if not_run else "")
    tests_text = f" (these tests score 0: {', '.join(tests)})" if tests else ""
    return Issue("kernel", f"the kernel {how} in {cells.label(index, nb.cells[index])}: {ran_text}"
                 f"{lost}{tests_text}", flag=True)


# ----------------------------------------------------------------------------- sandbox findings

def _event_text(event: str) -> str | None:
    from .kernel_guard import AUDIT_EVENTS

    if event in AUDIT_EVENTS:
        return AUDIT_EVENTS[event]
    if event.startswith("ctypes."):
        return "used ctypes to reach into the interpreter's memory"
    if event in ("open", "os.listdir"):
        return "opened the grader's channel or the process's memory"
    return None


# Longer than 40 lines: one case per kind of record the guard and the watch write.
def sandbox_issues(nb: nbformat.NotebookNode, findings_path) -> tuple[list[Issue], int | None]:
    """Issues from what the sandboxed kernel's guard reported while the notebook ran (see
    grader.execute.sandbox.Watch): tampering found at run time, a limit reached, a probe unanswered;
    and the index of the first cell that ran in an altered kernel (None when none did)."""
    import json
    from pathlib import Path

    path = Path(findings_path)
    if not path.exists():
        return [Issue("tampered", "the grader's record of the kernel is missing", flag=True)], 0
    found = json.loads(path.read_text())
    by_count = {c.get("execution_count"): i for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and c.get("execution_count") is not None}

    def label(index: int) -> str:
        if 0 <= index < len(nb.cells):
            return cells.label(index, nb.cells[index])
        return "the end of the notebook"

    issues = []
    altered: list[int] = []
    by_cell: dict[int, list[str]] = {}
    for finding, before in found["findings"].items():
        # Already in the grader's words (.sandbox.describe_finding).
        by_cell.setdefault(before, []).append(finding)
    for before, what in sorted(by_cell.items()):
        altered.append(before)
        issues.append(Issue("tampered", f"before {label(before)}, the kernel's state differed "
                            f"from its start: {'; '.join(sorted(set(what)))}", flag=True))
    for event, count in sorted(found["events"].items(), key=lambda item: str(item[1])):
        text = _event_text(event)
        if text:
            altered.append(by_count.get(count, 0))
            where = label(by_count[count]) if count in by_count else "a cell"
            issues.append(Issue("tampered", f"code run in {where} {text}", flag=True))
    for problem in found["problems"]:
        if problem["kind"] == "limit":
            issues.append(Issue("limit", f"{problem['limit']} in {label(problem['cell'])}; "
                                "the kernel was stopped there", flag=True))
        elif problem["kind"] == "probe":
            altered.append(problem["cell"])
            issues.append(Issue("tampered", f"the grader's check before {label(problem['cell'])}"
                                " got no answer: code in the notebook intercepts or alters what "
                                "the kernel runs", flag=True))
    return issues, min(altered) if altered else None
