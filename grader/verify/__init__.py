"""Test verdicts computed outside the submission's process (see grader.verify.proxies)."""
