"""experiments/copy_sweep.py: the committed results reproduce, and the script resumes."""

import json

import numpy as np
import pytest

from course_utils import sweeps
from experiments import copy_sweep
from tests.sweep_scripts import assert_resumes, tiny_sweep_twice


def test_copy_sequences_follow_the_layout_of_arjovsky_et_al():
    inputs, targets = copy_sweep.copy_sequences(50, 6, 3, 8, np.random.default_rng(0))
    assert inputs.shape == targets.shape == (50, 12) and inputs.dtype == np.int64
    symbols = inputs[:, :3]
    assert symbols.min() >= 1 and symbols.max() <= 8
    expected = np.zeros_like(inputs)
    expected[:, :3], expected[:, 3 + 6 - 1] = symbols, 9
    np.testing.assert_array_equal(inputs, expected)
    np.testing.assert_array_equal(targets[:, :9], 0)
    np.testing.assert_array_equal(targets[:, 9:], symbols)


def test_memoryless_loss_is_the_cross_entropy_of_uniform_guesses():
    assert copy_sweep.memoryless_loss(100, 10, 8) == pytest.approx(10 * np.log(8) / 120)


def test_tiny_sweep_is_deterministic_and_resumable(tmp_path, monkeypatch, capsys):
    data, first = tiny_sweep_twice(copy_sweep, tmp_path)
    assert set(data["runs"]) == {f"{m}/T3/seed0" for m in copy_sweep.TINY["models"]}
    for run in data["runs"].values():
        assert len(run["curve"]) == run["config"]["steps"] // run["config"]["log_every"]
        assert 0.0 <= run["recall"] <= 1.0
        assert run["eval_ratio"] == pytest.approx(run["eval_loss"] / run["baseline"])
    capsys.readouterr()
    assert_resumes(copy_sweep, first, monkeypatch)


def test_an_interrupted_sweep_keeps_the_finished_runs(tmp_path, monkeypatch):
    output = tmp_path / "sweep.json"
    real_run = copy_sweep.run
    calls = []

    def fail_on_second(config, progress=False):
        calls.append(config.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run(config, progress)

    monkeypatch.setattr(copy_sweep, "run", fail_on_second)
    with pytest.raises(KeyboardInterrupt):
        copy_sweep.main(["--tiny", "--quiet", "--output", str(output)])
    assert list(json.loads(output.read_text())["runs"]) == calls[:1]
    assert not output.with_suffix(".json.partial").exists()


@pytest.mark.parametrize("argv", [["--delays", "0"], ["--steps", "0"], ["--models", "mlp"]])
def test_bad_arguments_are_refused(argv, tmp_path, capsys):
    with pytest.raises(SystemExit):
        copy_sweep.main([*argv, "--output", str(tmp_path / "x.json")])


def test_the_committed_file_holds_the_full_sweep():
    results = sweeps.load_results("copy_sweep")
    planned = copy_sweep.configs(copy_sweep.FULL["delays"], copy_sweep.FULL["models"],
                                 copy_sweep.FULL["seeds"], steps=copy_sweep.FULL["steps"])
    from dataclasses import asdict

    for config in planned:
        assert results["runs"][config.key]["config"] == asdict(config), config.key


def test_the_committed_results_reproduce():
    """Rerun the first logging window of the committed runs at the shortest delay and compare."""
    import torch

    results = sweeps.load_results("copy_sweep")
    shortest = min(copy_sweep.FULL["delays"])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for model in copy_sweep.FULL["models"]:
            committed = results["runs"][f"{model}/T{shortest}/seed0"]
            config = copy_sweep.RunConfig(**{**committed["config"],
                                             "steps": committed["config"]["log_every"],
                                             "eval_size": 8})
            rerun = copy_sweep.run(config)
            assert rerun["curve"][0] == pytest.approx(committed["curve"][0], rel=1e-4), model
            assert rerun["baseline"] == committed["baseline"]
    finally:
        torch.set_num_threads(threads)
