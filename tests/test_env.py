import os
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pytest
import torch

from course_utils import env


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return monkeypatch


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), (" Yes ", True),
                                                 ("0", False), ("off", False), ("", False)])
def test_course_fast_values(clean_env, value, expected):
    clean_env.setenv("COURSE_FAST", value)
    assert env.fast_mode() is expected


def test_fast_mode_is_off_by_default_and_on_under_nbgrader(clean_env):
    assert env.fast_mode() is False
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    assert env.fast_mode() is True
    clean_env.setenv("COURSE_FAST", "0")  # an explicit setting wins
    assert env.fast_mode() is False


def test_unrecognised_course_fast_is_an_error(clean_env):
    clean_env.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        env.fast_mode()


def test_sized_picks_by_mode(clean_env):
    clean_env.setenv("COURSE_FAST", "1")
    assert env.sized(full=1000, fast=10) == 10
    clean_env.setenv("COURSE_FAST", "0")
    assert env.sized(full=1000, fast=10) == 1000


def test_seed_everything_makes_numpy_and_torch_reproducible():
    first = env.seed_everything(7)
    a, ta = first.normal(size=3), torch.randn(3)
    second = env.seed_everything(7)
    b, tb = second.normal(size=3), torch.randn(3)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(ta, tb)
    assert not np.array_equal(env.seed_everything(8).normal(size=3), a)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        env.seed_everything(bad)


def test_setup_notebook_configures_threads_style_and_reports(clean_env):
    previous = torch.get_num_threads()
    try:
        mpl.rcParams["figure.figsize"] = (1.0, 1.0)
        setup = env.setup_notebook(seed=3, threads=1)
        assert torch.get_num_threads() == 1
        assert tuple(mpl.rcParams["figure.figsize"]) != (1.0, 1.0)
        assert setup.seed == 3 and setup.fast is False and setup.device == "cpu"
        assert "seed=3" in str(setup) and "mode=full" in str(setup)
        np.testing.assert_array_equal(setup.rng.normal(size=2),
                                      np.random.default_rng(3).normal(size=2))
        with pytest.raises(ValueError, match="threads"):
            env.setup_notebook(threads=0)
    finally:
        torch.set_num_threads(previous)


def test_importing_env_sets_a_passive_openmp_wait_policy():
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", "import os, course_utils.env; "
                          "print(os.environ['OMP_WAIT_POLICY'])"],
                         env=clean, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"


def test_course_threads_overrides_the_thread_count(clean_env):
    previous = torch.get_num_threads()
    try:
        clean_env.setenv("COURSE_THREADS", "1")
        assert env.setup_notebook(threads=2).threads == 1
        clean_env.setenv("COURSE_THREADS", "two")
        with pytest.raises(ValueError, match="COURSE_THREADS"):
            env.setup_notebook()
        clean_env.setenv("COURSE_THREADS", "0")
        with pytest.raises(ValueError, match="threads"):
            env.setup_notebook()
    finally:
        torch.set_num_threads(previous)
