"""Test verdicts computed outside the submission's process (see grader.execute.verify.proxies)."""
