"""The set-up a newcomer relies on: pyproject, environment.yml, Makefile, CI, README, .gitignore."""

import os
import re
from pathlib import Path

import pytest
import tomllib

from grader.core import repository
from grader.core.policy import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def environment_packages() -> set[str]:
    """Package names in environment.yml (conda and pip sections), without python/pip/the repo."""
    names = set()
    dependencies = (ROOT / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    for line in dependencies.splitlines():
        item = re.match(r"^\s*-\s+(.+?)\s*$", line)
        if not item or item.group(1).endswith(":") or item.group(1).startswith(("-", "--")):
            continue
        names.add(requirement_name(item.group(1).split("=")[0]))
    return names - {"python", "pip"}


def test_pyproject_and_environment_list_the_same_packages():
    project = pyproject()["project"]
    declared = {requirement_name(r) for r in project["dependencies"]}
    for extra in ("dev", "site"):
        declared |= {requirement_name(r) for r in project["optional-dependencies"][extra]}
    assert {"jupyterlab", "numpy", "torch", "matplotlib", "nbgrader", "ipywidgets",
            "tqdm"} <= declared
    assert {"pytest", "ruff"} <= declared
    assert environment_packages() == declared


def test_environment_installs_the_repo_and_the_cpu_torch():
    text = (ROOT / "environment.yml").read_text()
    assert "- -e .[dev,site]" in text and "torch==2.13.0" in text


def test_packages_and_python_version():
    config = pyproject()
    assert config["project"]["requires-python"] == ">=3.10"
    assert set(config["tool"]["setuptools"]["packages"]["find"]["include"]) == {
        "course_utils*", "grader*", "book*"}


def test_makefile_targets_create_the_venv_and_pin_torch():
    text = (ROOT / "Makefile").read_text()
    for target in ("lab", "test", "release"):
        assert re.search(rf"^{target}:.*\binstall\b", text, re.M), f"make {target}"
    assert '"torch==2.13.0"' in text
    assert "-m venv" in text and "pytest" in text and "jupyter lab" in text


def test_make_test_installs_chromium_and_bubblewrap_and_runs_the_browser_test():
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test:(.*)\n((?:\t.*\n)+)", text, re.M)
    assert recipe and "test-system-packages" in recipe.group(1), (
        "make test must install its Debian packages first")
    assert "not browser" not in recipe.group(2), "make test must not deselect the browser test"
    packages = re.search(r"^test-system-packages:\n\t\$\(call apt_install,(.*)\)", text, re.M)
    assert packages and {"chromium", "chromium-driver", "bubblewrap", "postgresql"} <= set(
        packages.group(1).split())
    assert re.search(r"^lab:.*\bsystem-packages\b", text, re.M), "make lab installs bubblewrap"
    commands = [line for line in (text + (ROOT / ".ci" / "run").read_text()).splitlines()
                if not line.lstrip().startswith("#")]
    assert not any("playwright install" in line for line in commands)


@pytest.mark.xdist_group("grouping-check")
def test_xdist_keeps_grouped_tests_together(request):
    """``make test`` relies on ``--dist loadgroup`` to keep a group on one worker (the two browser
    tests share one JupyterLab; each notebook's tests share its graded course). pytest 9.2 made
    xdist drop the groups without a word (pytest-xdist#1386); this notices if it happens again."""
    if "PYTEST_XDIST_WORKER" not in os.environ or not getattr(request.config.option, "loadgroup",
                                                              False):
        pytest.skip("only meaningful under pytest -n N --dist loadgroup")
    assert request.node.nodeid.endswith("@grouping-check"), (
        f"expected the xdist group in the node id, got {request.node.nodeid!r}; suspect a "
        "pytest release that pytest-xdist does not support yet (see the pin in pyproject.toml)")


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    opening = readme[:1500]
    assert "make lab" in opening and "make test" in opening


def test_readme_course_map_lists_every_assignment_in_order():
    readme = (ROOT / "README.md").read_text()
    positions = [readme.find(f"`{a}`") for a in ASSIGNMENTS]
    assert all(p >= 0 for p in positions), "README course map misses an assignment"
    assert positions == sorted(positions)


@pytest.mark.parametrize("ignored", [".venv/", "grader/gradebook.db", "grader/submitted/",
                                     "grader/autograded/", "grader/feedback/", "site/"])
def test_gitignore_keeps_environments_and_student_data_out(ignored):
    assert ignored in (ROOT / ".gitignore").read_text().splitlines()


def test_every_released_assignment_has_a_source():
    released = {p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()}
    assert released == set(repository.available_assignments())
