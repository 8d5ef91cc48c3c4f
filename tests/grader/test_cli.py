"""The command line: every command's help, the console script, usage errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import harness

COMMANDS = ("release", "collect", "autograde", "report", "feedback", "check", "progress")


# ----------------------------------------------------------------------------- command line


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "grader", command, "--help"],
                            capture_output=True, text=True, cwd=harness.ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m grader {command}")
    assert "--root" in result.stdout


def test_console_script_and_top_level_help():
    script = Path(sys.executable).parent / "rnn-grader"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


def test_usage_errors_exit_2_with_a_message():
    result = subprocess.run([sys.executable, "-m", "grader", "autograde", "--jobs", "two"],
                            capture_output=True, text=True, cwd=harness.ROOT)
    assert result.returncode == 2 and "invalid int value" in result.stderr
