"""What the grader says about a submission: its status and the issues found while grading it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# A submission's status. "graded" and "flagged" have grades ("flagged" also needs a person to look
# at it); "failed" could not be graded because of the submission itself (not a notebook, no
# notebook); "error" could not be graded because the grader failed, and is retried by the next
# `autograde` run.
GRADED, FLAGGED, FAILED, ERROR = "graded", "flagged", "failed", "error"
HAS_GRADES = (GRADED, FLAGGED)

# Error names written into executed cells (grader.execute.guarded_execute) and read back
# (grader.execute.findings).
KERNEL_DIED = "DeadKernelError"
KERNEL_UNRESPONSIVE = "UnresponsiveKernelError"
NOT_EXECUTED = "NotExecuted"
TIMED_OUT = "CellTimeoutError"  # nbgrader's own name for a cell that hit Execute.timeout
TRUNCATED_MARKER = "[grader] output truncated:"
LIMIT_EXCEEDED = "LimitExceededError"  # the kernel ran into a sandbox limit (execute.sandbox)


@dataclass(frozen=True)
class Issue:
    """One thing worth telling the instructor, in one line.

    ``flag`` marks what needs a person (tampering, monkeypatching, a dead kernel): any flagged
    issue makes the submission's status "flagged".
    """

    kind: str
    message: str
    flag: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Issue:
        return cls(data["kind"], data["message"], bool(data.get("flag")))

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def status_of(issues: list[Issue]) -> str:
    return FLAGGED if any(issue.flag for issue in issues) else GRADED
