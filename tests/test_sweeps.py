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


def test_spread_gives_mean_min_and_max_over_the_seeds_of_each_configuration():
    results = fake_results()
    extra = {key.replace("seed0", "seed1"): {**run, "config": {**run["config"], "seed": 1},
                                             "recall": run["recall"] + 0.3}
             for key, run in results["runs"].items() if "/T10/" in key}
    results["runs"].update(extra)
    assert sweeps.seeds(results) == [0, 1]
    summary = sweeps.spread(results, "recall")
    assert list(summary) == ["rnn", "gru", "lstm"]
    rnn = summary["rnn"]
    np.testing.assert_array_equal(rnn["delays"], [5, 10])
    np.testing.assert_array_equal(rnn["n_seeds"], [1, 2])
    np.testing.assert_allclose(rnn["min"], [0.2, 0.2])
    np.testing.assert_allclose(rnn["max"], [0.2, 0.5])
    np.testing.assert_allclose(rnn["mean"], [0.2, 0.35])
    assert sweeps.runs_at(results, 10, seed=1)["gru"]["recall"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="seeds present"):
        sweeps.runs_at(results, 5, seed=1)
    with pytest.raises(ValueError, match="no 'loss'"):
        sweeps.spread(results, "loss")


def test_each_model_keeps_its_colour_whichever_models_a_figure_shows():
    results = fake_results()
    del results["runs"]["rnn/T10/seed0"]
    fig = sweeps.copy_sweep_explorer(results, delay=10)
    colours = [line.get_color() for line in fig.axes[0].lines[:-1]]
    assert colours == [sweeps.model_color("gru"), sweeps.model_color("lstm")]
    assert len(set(sweeps.model_color(m) for m in sweeps.MODEL_LABELS)) == len(sweeps.MODEL_LABELS)
