"""experiments/nonsaturating_copy_sweep.py: notebook 07's last experiment reproduces and resumes."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from course_utils import sweeps
from experiments import copy_sweep
from experiments import nonsaturating_copy_sweep as sweep_script
from tests.sweep_scripts import assert_resumes, tiny_sweep_twice


def test_tiny_sweep_is_deterministic_resumable_and_measures_the_reach(tmp_path, monkeypatch):
    data, first = tiny_sweep_twice(sweep_script, tmp_path)
    assert set(data["runs"]) == {f"{m}/T3/seed0" for m in sweep_script.MODELS}
    for run in data["runs"].values():
        assert len(run["curve"]) == run["config"]["steps"] // run["config"]["log_every"]
        assert run["eval_ratio"] == pytest.approx(run["eval_loss"] / run["baseline"])
        assert run["torch"] == torch.__version__ and "cores" in run["machine"]
        assert 0 < run["reach_start"] and 0 < run["reach_end"]
    # With W orthogonal and no nonlinearity, dL/dh_K = (W^T)^(T) dL/dh_(T+K): the same norm.
    linear = data["runs"]["orth_linear/T3/seed0"]
    assert linear["reach_start"] == pytest.approx(1, abs=1e-5)
    assert linear["reach_end"] == pytest.approx(1, abs=1e-5)
    assert data["runs"]["rnn_orth/T3/seed0"]["reach_start"] < 0.9  # tanh' < 1 takes its share
    assert_resumes(sweep_script, first, monkeypatch)


def test_copy_reach_is_the_ratio_of_state_gradient_norms():
    model = sweep_script.MODELS["rnn_orth"](10, 8, 0)
    inputs, targets = copy_sweep.copy_sequences(4, 6, 2, 8, np.random.default_rng(0))
    outputs, states = model.unroll(inputs)
    loss = torch.nn.functional.cross_entropy(outputs[:, -2:].reshape(-1, 10),
                                             torch.as_tensor(targets)[:, -2:].reshape(-1))
    grads = torch.autograd.grad(loss, states)
    expected = (grads[2].norm() / grads[len(states) - 3].norm()).item()
    assert sweep_script.copy_reach(model, inputs, targets, 2) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("argv", [["--delays", "0"], ["--steps", "0"], ["--models", "rnn"],
                                  ["--threads", "0"]])
def test_bad_arguments_are_refused(argv, tmp_path):
    with pytest.raises(SystemExit):
        sweep_script.main([*argv, "--output", str(tmp_path / "x.json")])


def test_the_committed_file_holds_the_planned_runs_and_where_they_ran():
    results = sweeps.load_results("nonsaturating_copy_sweep")
    full = sweep_script.FULL
    planned = copy_sweep.configs(full["delays"], full["models"], full["seeds"],
                                 steps=full["steps"])
    assert set(results["runs"]) == {config.key for config in planned}
    for config in planned:
        run = results["runs"][config.key]
        assert run["config"] == asdict(config), config.key
        assert {"torch", "threads", "machine", "reach_start", "reach_end"} <= set(run)


def test_the_committed_results_reproduce():
    """Rerun each model's first logging window at seed 0 and compare with the committed run."""
    results = sweeps.load_results("nonsaturating_copy_sweep")
    threads = torch.get_num_threads()
    try:
        for model in sweep_script.MODELS:
            committed = results["runs"][f"{model}/T80/seed0"]
            torch.set_num_threads(committed["threads"])
            config = copy_sweep.RunConfig(**{**committed["config"],
                                             "steps": committed["config"]["log_every"],
                                             "eval_size": 8})
            rerun = sweep_script.run(config)
            assert rerun["reach_start"] == pytest.approx(committed["reach_start"], rel=1e-6), model
            assert rerun["curve"][0] == pytest.approx(committed["curve"][0], rel=1e-4), model
            assert rerun["baseline"] == committed["baseline"]
    finally:
        torch.set_num_threads(threads)
