import subprocess
import sys

from grader.core import repository


def test_ruff_is_clean_on_packages_tests_and_notebooks():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                             "."], cwd=repository.REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ipynb" not in result.stdout  # clean, and not just silent about notebooks
