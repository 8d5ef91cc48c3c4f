"""experiments/lru_copy_sweep.py: notebook 09's LRU sweep reproduces, resumes and records its runs."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from course_utils import sweeps
from experiments import lru_copy_sweep
from tests.sweep_scripts import assert_resumes, tiny_sweep_twice


def test_the_sweeps_own_parts_follow_the_lru_paper():
    nu, theta = torch.tensor([-6.9, 0.0]), torch.tensor([-1.0, 0.5])
    np.testing.assert_allclose(lru_copy_sweep.eigenvalues(nu, theta).numpy(),
                               np.exp(-np.exp(nu.numpy())) * np.exp(1j * np.exp(theta.numpy())),
                               rtol=1e-6)
    lam = lru_copy_sweep.ring(50_000, 0.3, 0.9, 1.0, np.random.default_rng(0))
    assert abs(np.mean(np.abs(lam) ** 2) - (0.3 ** 2 + 0.9 ** 2) / 2) < 0.005  # uniform in area
    assert 0 <= np.angle(lam).min() and np.angle(lam).max() <= 1.0
    np.testing.assert_allclose(lru_copy_sweep.gamma(np.array([0.6j, 1.0])), [0.8, 0.0])


def test_tiny_sweep_is_deterministic_resumable_and_records_where_it_ran(tmp_path, monkeypatch):
    data, first = tiny_sweep_twice(lru_copy_sweep, tmp_path)
    (run,) = data["runs"].values()
    assert len(run["curve"]) == run["config"]["steps"] // run["config"]["log_every"]
    assert run["eval_ratio"] == pytest.approx(run["eval_loss"] / run["baseline"])
    assert run["torch"] == torch.__version__ and run["threads"] == 1 and "cores" in run["machine"]
    assert 0 < run["largest_modulus"] < 1
    assert_resumes(lru_copy_sweep, first, monkeypatch)


@pytest.mark.parametrize("argv", [["--delays", "0"], ["--steps", "0"], ["--jobs", "0"]])
def test_bad_arguments_are_refused(argv, tmp_path):
    with pytest.raises(SystemExit):
        lru_copy_sweep.main([*argv, "--output", str(tmp_path / "x.json")])


def test_the_committed_file_holds_whole_delays_of_the_planned_sweep():
    results = sweeps.load_results("lru_copy_sweep")
    runs = results["runs"]
    assert runs, "no LRU runs committed"
    by_delay = {}
    for key, run in runs.items():
        config = lru_copy_sweep.RunConfig(delay=run["config"]["delay"], seed=run["config"]["seed"],
                                          steps=lru_copy_sweep.FULL["steps"])
        assert run["config"] == asdict(config), key
        assert key == config.key and {"torch", "threads", "machine"} <= set(run)
        by_delay.setdefault(config.delay, set()).add(config.seed)
    assert set(by_delay) <= set(lru_copy_sweep.FULL["delays"])
    assert all(seeds == set(lru_copy_sweep.FULL["seeds"]) for seeds in by_delay.values()), by_delay
    assert {10, 20, 40, 80} <= set(by_delay), "notebook 07's delays first"


def test_the_committed_results_reproduce():
    """Rerun the first logging window of the committed run at the shortest delay and compare."""
    results = sweeps.load_results("lru_copy_sweep")
    committed = results["runs"]["lru/T10/seed0"]
    config = lru_copy_sweep.RunConfig(**{**committed["config"],
                                         "steps": committed["config"]["log_every"], "eval_size": 8})
    threads = torch.get_num_threads()
    torch.set_num_threads(committed["threads"])
    try:
        rerun = lru_copy_sweep.run(config)
    finally:
        torch.set_num_threads(threads)
    assert rerun["curve"][0] == pytest.approx(committed["curve"][0], rel=1e-4)
    assert rerun["baseline"] == committed["baseline"]
