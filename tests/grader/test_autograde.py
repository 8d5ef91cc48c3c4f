"""grader.execute.autograde's scheduling without a kernel: what is graded again, cores per
kernel, settling errors."""

from __future__ import annotations

import pytest

A = "01_tanh_derivatives"


# ----------------------------------------------------------------------------- scheduling


def test_only_new_changed_or_errored_submissions_are_graded_again(tmp_path):
    from grader.core.course import submission_checksum
    from grader.execute.autograde import Submission, _needs_grading
    from grader.record.gradebook import Record

    (tmp_path / f"{A}.ipynb").write_text("{}")
    submission = Submission("amy", A, tmp_path)
    same = submission_checksum(tmp_path)

    def stored(status, checksum):
        return Record("amy", A, status, None, (), checksum, "2025-01-01", 1.0)

    assert _needs_grading(submission, None)
    assert not _needs_grading(submission, stored("graded", same))
    assert not _needs_grading(submission, stored("failed", same))
    assert _needs_grading(submission, stored("error", same))
    assert _needs_grading(submission, stored("graded", "an older version"))


@pytest.mark.parametrize(("jobs", "cores", "threads"),
                         [(1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 16, 8), (3, 16, 5), (0, 2, 2)])
def test_each_kernel_gets_its_share_of_the_cores(jobs, cores, threads):
    from grader.execute.autograde import threads_per_kernel

    assert threads_per_kernel(jobs, cores) == threads


def test_a_worker_passes_its_thread_share_to_the_kernel_unless_the_instructor_set_one(
        monkeypatch):
    from dataclasses import replace

    from grader.execute.worker import Job, worker_environment

    job = Job("amy", A, "sub", "rel", "tpl", "work", config=None, threads=1)
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    assert worker_environment(job)["COURSE_THREADS"] == "1"
    assert "COURSE_THREADS" not in worker_environment(replace(job, threads=None))
    monkeypatch.setenv("COURSE_THREADS", "3")
    assert worker_environment(job)["COURSE_THREADS"] == "3"

# ----------------------------------------------------------------------------- settling errors


def test_a_grader_error_met_twice_on_the_same_files_is_settled_as_failed():
    from grader.core.verdict import Result
    from grader.execute.autograde import settle
    from grader.record.gradebook import Record

    def error(reason="nbgrader could not grade it: KeyError 'x'", checksum="abc"):
        return Result("s", A, "error", reason=reason, checksum=checksum)

    def stored(status="error", reason="nbgrader could not grade it: KeyError 'x'",
               checksum="abc"):
        return Record("s", A, status, reason, (), checksum, "2026-11-29", 1.0)

    assert settle(error(), None).status == "error"
    assert settle(error(), stored(reason="another error")).status == "error"
    assert settle(error(), stored(checksum="new files")).status == "error"
    settled = settle(error(), stored())
    assert settled.status == "failed" and "twice" in settled.reason
