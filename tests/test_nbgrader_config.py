"""The nbgrader configuration in grader/nbgrader_config.py."""

import re
import subprocess
import sys
import warnings

from traitlets.config.loader import PyFileConfigLoader

from grader.core import repository
from grader.core.policy import WARNING_STDERR_PATTERN


def load_config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(repository.GRADER_DIR)).load_config()


def test_course_directory_maps_solutions_onto_notebooks():
    config = load_config()
    directory = config.CourseDirectory
    assert directory.source_directory == "solutions"
    assert directory.release_directory == "notebooks"
    assert directory.root == str(repository.REPO_ROOT)
    for step in ("submitted", "autograded", "feedback"):
        assert getattr(directory, f"{step}_directory") == f"grader/{step}"
    assert directory.db_url == f"sqlite:///{repository.GRADER_DIR / 'gradebook.db'}"


def test_timeout_goes_to_execute_not_executepreprocessor():
    config = load_config()
    assert config.Execute.timeout >= 60
    assert "ExecutePreprocessor" not in config


def test_warning_stderr_is_ignored_when_grading():
    config = load_config()
    assert config.IgnorePattern.enabled is True
    assert config.IgnorePattern.pattern == WARNING_STDERR_PATTERN


def test_the_pattern_matches_real_warnings_and_nothing_else():
    script = ("import warnings, numpy as np\n"
              "np.exp(np.array([1000.0]))\n"
              "warnings.warn('plain', UserWarning)\n")
    stderr = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True).stderr
    assert "RuntimeWarning" in stderr and "UserWarning" in stderr
    for chunk in re.split(r"\n(?=\S)", stderr.strip()):
        assert re.search(WARNING_STDERR_PATTERN, chunk), chunk
    traceback = ('Traceback (most recent call last):\n  File "<stdin>", line 1\n'
                 "AssertionError: expected 1\n")
    for text in (traceback, "printed to stderr by a test\n", "DeprecationWarning mentioned\n"):
        assert not re.search(WARNING_STDERR_PATTERN, text), text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        re.compile(WARNING_STDERR_PATTERN)
