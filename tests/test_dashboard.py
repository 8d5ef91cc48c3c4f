"""course_utils.dashboard: the live gradient-flow dashboard of notebook 08."""

import time

import ipywidgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import dashboard, plotting
from course_utils.models import SequenceModel

T = 6


def batch(step, rng, size=8):
    inputs = rng.normal(size=(size, T, 2)).astype(np.float32)
    return torch.from_numpy(inputs), torch.from_numpy(inputs[:, :, :1].sum(axis=1))


def models():
    return {kind: SequenceModel(kind, input_size=2, hidden_size=5, output_size=1, seed=0)
            for kind in ("rnn", "lstm")}


class RecordingMonitor:
    def __init__(self, model):
        self.model, self.steps, self.state_steps, self.alerts = model, [], [], []

    def record(self, step):
        assert all(p.grad is not None for p in self.model.parameters())
        self.steps.append(step)

    def record_states(self, step, grads):
        assert len(grads) == T + 1
        self.state_steps.append(step)
        self.alerts.append((step, "vanishing", "states"))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_training_and_probing_are_recorded_per_model():
    board = dashboard.GradientDashboard(models(), batch, batch(0, np.random.default_rng(9)),
                                        lr=1e-2, baseline=0.5, monitor=RecordingMonitor)
    board.train(3)
    board.train(2)
    snap = board.snapshot()
    assert [m["name"] for m in snap["models"]] == ["rnn", "lstm"]
    for model, trace in zip(snap["models"], board.traces, strict=True):
        assert len(model["losses"]) == 5 and np.all(np.isfinite(model["losses"]))
        np.testing.assert_array_equal(model["probe_steps"], [0, 3, 5])
        assert model["state_norms"].shape == (3, T + 1)
        assert all(v.shape == (5,) for v in model["eigenvalues"])
        assert trace.monitor.steps == [0, 1, 2, 3, 4]  # step numbers continue across blocks
        assert trace.monitor.state_steps == [0, 3, 5]
        assert model["alerts"] == [(s, "vanishing", "states") for s in (0, 3, 5)]


def test_probe_matches_autograd_on_the_unrolled_model():
    board = dashboard.GradientDashboard(models(), batch, batch(0, np.random.default_rng(9)))
    model = board.traces[0].model
    inputs, targets = board.probe_inputs, board.probe_targets
    outputs, states = model.unroll(inputs)
    loss = torch.nn.functional.mse_loss(outputs[:, -1], targets)
    expected = [g.norm().item() for g in torch.autograd.grad(loss, states)]
    np.testing.assert_allclose(board.snapshot()["models"][0]["state_norms"][0], expected,
                               rtol=1e-5)
    eigenvalues = np.sort_complex(torch.linalg.eigvals(model.recurrent.weight_hh_l0.double())
                                  .detach().numpy())
    np.testing.assert_allclose(np.sort_complex(board.traces[0].eigenvalues[0]), eigenvalues)


def test_an_unwritten_monitor_is_noted_not_fatal():
    def not_written(model):
        raise NotImplementedError()

    board = dashboard.GradientDashboard(models(), batch, batch(0, np.random.default_rng(9)),
                                        monitor=not_written)
    board.train(1)
    assert len(board.snapshot()["notes"]) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"models": {}}, "at least one"), ({"lr": 0.0}, "lr"), ({"clip_norm": -1.0}, "clip_norm"),
    ({"models": {"x": torch.nn.RNN(2, 3)}}, "SequenceModel"),
])
def test_bad_arguments(kwargs, message):
    arguments = {"models": models(), "make_batch": batch,
                 "probe_batch": batch(0, np.random.default_rng(0))} | kwargs
    with pytest.raises(ValueError, match=message):
        dashboard.GradientDashboard(**arguments)


def test_train_needs_a_positive_step_count():
    board = dashboard.GradientDashboard(models(), batch, batch(0, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="steps"):
        board.train(0)


def synthetic_snapshot(n_probes=3):
    norms = np.array([[10.0 ** (k - T) for k in range(T + 1)]] * n_probes)
    model = {"name": "rnn", "kind": "rnn", "losses": np.linspace(1, 0.1, 20),
             "probe_steps": np.arange(n_probes) * 10, "state_norms": norms,
             "eigenvalues": [np.array([0.5 + 0.5j, 0.5 - 0.5j, -0.9])] * n_probes,
             "alerts": [(4, "exploding", "weight_hh_l0")], "diverged_at": None}
    return {"baseline": 0.5, "models": [model, dict(model, name="lstm", kind="lstm")],
            "notes": ["a note"]}


def test_plot_dashboard_draws_losses_alerts_heatmaps_and_spectra():
    fig = dashboard.plot_dashboard(synthetic_snapshot())
    titles = [ax.get_title() + ax.get_title(loc="left") for ax in fig.axes]
    assert "training loss" in titles and "monitor alerts" in titles
    assert sum("log10" in t for t in titles) == 2 and sum("eig(W_h" in t for t in titles) == 2
    heat = next(ax for ax in fig.axes if "rnn: log10" in ax.get_title())
    np.testing.assert_allclose(heat.images[0].get_array()[0], np.arange(-T, 1))
    text = next(ax for ax in fig.axes if ax.get_title(loc="left") == "monitor alerts").texts[0]
    assert "exploding" in text.get_text() and "a note" in text.get_text()
    loss_axis = next(ax for ax in fig.axes if ax.get_title() == "training loss")
    assert any(line.get_label() == "baseline" for line in loss_axis.lines)


@pytest.mark.parametrize("use_pyplot", [True, False])
def test_plot_dashboard_keeps_its_grid_under_the_course_style(use_pyplot):
    """The course style turns constrained layout on; the dashboard must not inherit it (it spread
    the rows apart, leaving each axis a third of its height, and slowed every redraw)."""
    with matplotlib.rc_context():
        plotting.use_course_style()
        fig = dashboard.plot_dashboard(synthetic_snapshot(), use_pyplot=use_pyplot)
        fig.canvas.draw()
    assert fig.get_layout_engine() is None
    loss_axis = next(ax for ax in fig.axes if ax.get_title() == "training loss")
    assert loss_axis.get_position().height > 0.18, "the loss panel was squeezed"


def test_plot_training_moment_and_its_bounds():
    snap = synthetic_snapshot()
    fig = dashboard.plot_training_moment(snap, probe=1)
    profile = fig.axes[0]
    assert len(profile.lines) == 2 and "after 10 updates" in profile.get_title()
    np.testing.assert_allclose(profile.lines[0].get_ydata(), snap["models"][0]["state_norms"][1])
    with pytest.raises(ValueError, match="probe"):
        dashboard.plot_training_moment(snap, probe=3)


def test_widget_has_a_start_stop_control_and_draws():
    board = dashboard.GradientDashboard(models(), batch, batch(0, np.random.default_rng(0)))
    panel = board.widget()
    controls, view = panel.children
    toggle = controls.children[0]
    assert isinstance(toggle, ipywidgets.ToggleButton) and toggle.description == "Train"
    assert isinstance(view, ipywidgets.Image) and view.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "0 steps" in controls.children[2].value
    first_frame = view.value
    controls.children[1].value = 5
    toggle.value = True  # trains in a background thread until paused
    deadline = time.monotonic() + 60
    while view.value == first_frame and time.monotonic() < deadline:
        time.sleep(0.05)
    toggle.value = False
    deadline = time.monotonic() + 60
    while toggle.description != "Train" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.value != first_frame and toggle.description == "Train"
    assert board.traces[0].steps_done >= 5 and board.traces[0].steps_done % 5 == 0
    assert plt.get_fignums() == []  # the thread never leaves pyplot figures behind
