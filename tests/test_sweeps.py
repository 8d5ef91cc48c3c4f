"""course_utils.sweeps: reading the committed results and notebook 07's explorer."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import sweeps


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fake_results():
    runs = {}
    for delay in (5, 10):
        for n, model in enumerate(("lstm", "rnn", "gru")):
            baseline = 2 * np.log(8) / (delay + 4)
            runs[f"{model}/T{delay}/seed0"] = {
                "config": {"model": model, "delay": delay, "seed": 0, "n_symbols": 2,
                           "n_categories": 8},
                "baseline": baseline,
                "curve_steps": [0, 10, 20, 30], "curve": [2.0, 1.5, 1.0, 0.5 + n],
                "recall": 0.1 * (n + 1), "eval_ratio": 1.0,
            }
    return {"format": 1, "runs": runs}


def test_load_results_reads_the_package_data():
    results = sweeps.load_results()
    assert results["format"] == 1 and results["runs"]
    assert all({"config", "baseline", "curve", "recall"} <= set(r) for r in results["runs"].values())


@pytest.mark.parametrize("name", ["../pyproject", "no_such_results"])
def test_load_results_refuses_other_files(name):
    with pytest.raises((ValueError, FileNotFoundError)):
        sweeps.load_results(name)


def test_delays_and_runs_at_follow_the_model_order():
    results = fake_results()
    assert sweeps.delays(results) == [5, 10]
    assert list(sweeps.runs_at(results, 10)) == ["rnn", "gru", "lstm"]
    with pytest.raises(ValueError, match="delays present"):
        sweeps.runs_at(results, 7)
    with pytest.raises(ValueError):
        sweeps.delays({"runs": None})


def test_explorer_draws_curves_over_the_baseline_and_the_recall():
    results = fake_results()
    fig = sweeps.copy_sweep_explorer(results, delay=10, relative=True, smooth=2)
    ax_loss, ax_recall = fig.axes
    baseline = 2 * np.log(8) / 14
    steps, rnn_curve = ax_loss.lines[0].get_data()
    np.testing.assert_allclose(steps, [0, 20])
    np.testing.assert_allclose(rnn_curve, [1.75 / baseline, 1.25 / baseline])  # rnn: n = 1
    assert ax_loss.lines[-1].get_ydata()[0] == 1.0  # the baseline line
    np.testing.assert_allclose([p.get_height() for p in ax_recall.patches], [0.2, 0.3, 0.1])
    fig = sweeps.copy_sweep_explorer(results, delay=5, relative=False)
    assert fig.axes[0].lines[-1].get_ydata()[0] == pytest.approx(2 * np.log(8) / 9)


@pytest.mark.parametrize("kwargs", [{"smooth": 0}, {"delay": 3}])
def test_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        sweeps.copy_sweep_explorer(fake_results(), **kwargs)
