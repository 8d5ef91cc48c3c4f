"""course_utils.gates (notebook 06's explorer) and checks.check_tensor."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import checks, gates, probes


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_forget_bias_lands_in_the_forget_slice_only():
    default = gates.lstm_with_forget_bias(3, 4, None, seed=1)
    biased = gates.lstm_with_forget_bias(3, 4, 2.5, seed=1)
    assert torch.equal(default.weight_hh_l0, biased.weight_hh_l0)  # same seed, same weights
    np.testing.assert_array_equal(biased.bias_ih_l0[4:8].detach(), 2.5)
    np.testing.assert_array_equal(biased.bias_hh_l0[4:8].detach(), 0.0)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        for rows in (slice(0, 4), slice(8, 16)):
            assert torch.equal(getattr(default, name)[rows], getattr(biased, name)[rows])


def test_seed_does_not_touch_the_global_stream():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    gates.lstm_with_forget_bias(2, 3, 1.0, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_forget_gates_match_lstm_cell_gates_along_the_trajectory():
    lstm = gates.lstm_with_forget_bias(3, 5, 1.0, seed=2).double()
    inputs = torch.randn(7, 2, 3, dtype=torch.float64)
    got = gates.forget_gates(lstm, inputs)
    cell = torch.nn.LSTMCell(3, 5, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(lstm, f"{name}_l0"))
    h = c = torch.zeros(2, 5, dtype=torch.float64)
    # Oracle: d c_t / d c_(t-1) with h held fixed is diag(f_t) (autograd on the module itself).
    for t, x_t in enumerate(inputs):
        c_leaf = c.clone().requires_grad_(True)
        _, c_new = cell(x_t, (h, c_leaf))
        (diagonal,) = torch.autograd.grad(c_new.sum(), c_leaf)
        np.testing.assert_allclose(got[t], diagonal, rtol=1e-12)
        with torch.no_grad():
            h, c = cell(x_t, (h, c))
    assert got.shape == (7, 2, 5) and not got.requires_grad


@pytest.mark.parametrize("bad", [{"inputs": torch.zeros(4, 3)}, {"inputs": torch.zeros(4, 1, 2)}])
def test_forget_gates_rejects_bad_inputs(bad):
    with pytest.raises(ValueError):
        gates.forget_gates(gates.lstm_with_forget_bias(3, 2, 0.0), **bad)


def test_forget_gates_rejects_other_modules():
    with pytest.raises(ValueError):
        gates.forget_gates(torch.nn.LSTM(3, 2, batch_first=True), torch.zeros(4, 1, 3))


def test_explorer_draws_the_probe_and_the_student_horizon():
    seen = []

    def horizon(ratios, threshold):
        seen.append((np.asarray(ratios).copy(), threshold))
        return 7

    fig = gates.forget_gate_explorer(forget_bias=2.0, seq_len=30, threshold=1e-2,
                                     hidden_size=6, batch=3, horizon_fn=horizon)
    ax_gates, ax_grad = fig.axes
    distance, ratios = ax_grad.lines[0].get_data()
    np.testing.assert_array_equal(distance, np.arange(31))
    lstm = gates.lstm_with_forget_bias(8, 6, 2.0, seed=0)
    inputs = torch.randn(30, 3, 8, generator=torch.Generator().manual_seed(0))
    norms = probes.state_gradient_norms(lstm, inputs)[::-1]
    np.testing.assert_allclose(ratios, norms / norms[0], rtol=1e-12)
    np.testing.assert_allclose(seen[0][0], ratios)
    assert seen[0][1] == 1e-2
    sigma = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(ax_grad.lines[1].get_ydata(), sigma ** np.arange(31))
    assert any("7" in text.get_text() for text in ax_grad.get_legend().get_texts())
    assert sum(p.get_height() for p in ax_gates.patches) == 30 * 3 * 6


@pytest.mark.parametrize("bad", [{"seq_len": 0}, {"threshold": 0.0}, {"threshold": 1.0},
                                 {"batch": 0}, {"forget_bias": np.inf}])
def test_explorer_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        gates.forget_gate_explorer(**{"seq_len": 10, "hidden_size": 4, **bad})


def test_check_tensor_passes_and_detaches():
    x = torch.ones(2, 3, requires_grad=True) * 2
    got = checks.check_tensor(x, name="x", shape=(2, 3))
    assert not got.requires_grad and torch.equal(got, x.detach())


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (np.ones((2, 3)), {}, "torch tensor"),
    (torch.ones(3, 2), {"shape": (2, 3)}, "wrong shape"),
    (torch.ones(2, 3, dtype=torch.int64), {}, "floating-point"),
])
def test_check_tensor_fails_with_the_three_part_message(value, kwargs, message):
    with pytest.raises(AssertionError) as caught:
        checks.check_tensor(value, name="h_new", **kwargs)
    text = str(caught.value)
    assert message in text and all(w in text for w in ("expected:", "got:", "suspect:"))
