"""Explorers of notebooks 04 and 05 and the modules behind them: course_utils.cliff and
course_utils.init_schemes, checked against autograd, closed forms and torch.nn.init."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import widgets
from course_utils.cliff import CLIFF_START, cliff_descent, cliff_loss
from course_utils.init_schemes import SCHEMES, recurrent_weight, state_jacobian_norms

matplotlib.use("Agg")


# ----------------------------------------------------------------------------- cliff


def test_cliff_loss_matches_an_explicit_loop_and_broadcasts():
    w, b = np.array([[2.0], [6.0]]), np.array([-3.0, -1.0, 0.5])
    got = cliff_loss(w, b, steps=7)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            x = 0.5
            for _ in range(7):
                x = w[i, 0] / (1 + np.exp(-x)) + b[j]
            assert got[i, j] == pytest.approx((x - 0.7) ** 2, rel=1e-12)


def test_cliff_has_a_wall_where_the_gradient_is_huge():
    b = torch.linspace(-4.5, -3.0, 3001, dtype=torch.float64, requires_grad=True)
    w = torch.full_like(b, 7.0)
    (grad,) = torch.autograd.grad(cliff_loss(w, b).sum(), b)
    typical = grad.abs().median()
    assert grad.abs().max() > 100 * typical  # the wall
    losses = cliff_loss(w, b).detach()
    assert losses.max() - losses.min() > 5  # and the loss jumps across it


@pytest.mark.parametrize("max_norm", [None, 5.0])
def test_cliff_descent_is_gradient_descent_with_clip_grad_norm(max_norm):
    path = cliff_descent(CLIFF_START, lr=0.02, n_steps=30, max_norm=max_norm)
    assert path.points.shape[1] == 2 and len(path.losses) == len(path.points)
    point = torch.tensor(CLIFF_START, dtype=torch.float64)
    for k in range(len(path.grad_norms)):
        p = point.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(cliff_loss(p[0], p[1]), p)
        assert path.grad_norms[k] == pytest.approx(grad.norm().item(), rel=1e-9)
        if max_norm is not None:
            grad = grad * min(1.0, max_norm / (grad.norm().item() + 1e-6))
        point = point - 0.02 * grad
        np.testing.assert_allclose(path.points[k + 1], point.numpy(), rtol=1e-9, atol=1e-12)


def test_clipping_keeps_the_descent_near_the_wall_while_plain_descent_is_thrown_away():
    plain = cliff_descent(CLIFF_START, lr=0.02, n_steps=60)
    clipped = cliff_descent(CLIFF_START, lr=0.02, n_steps=60, max_norm=5.0)
    plain_jump = np.max(np.linalg.norm(np.diff(plain.points, axis=0), axis=1))
    clipped_jump = np.max(np.linalg.norm(np.diff(clipped.points, axis=0), axis=1))
    assert plain_jump > 50 and clipped_jump <= 0.02 * 5.0 + 1e-9
    assert clipped.losses[-1] < plain.losses[-1]


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"max_norm": -1.0}, {"n_steps": -1},
                                    {"start": (1.0, 2.0, 3.0)}])
def test_cliff_descent_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        cliff_descent(**kwargs)


# ----------------------------------------------------------------------------- init schemes


def test_schemes_follow_torch_nn_init_and_pytorch_default():
    n = 300
    assert np.var(recurrent_weight("gaussian 1/n", n)) == pytest.approx(1 / n, rel=0.03)
    assert np.abs(recurrent_weight("xavier uniform", n)).max() == pytest.approx(
        np.sqrt(6 / (2 * n)), rel=0.01)
    assert np.var(recurrent_weight("he normal", n)) == pytest.approx(2 / n, rel=0.03)
    q = recurrent_weight("orthogonal", n, scale=0.5)
    np.testing.assert_allclose(q @ q.T, 0.25 * np.eye(n), atol=1e-10)
    np.testing.assert_array_equal(recurrent_weight("identity", 4, scale=2.0), 2 * np.eye(4))
    rnn = torch.nn.RNN(1, n)  # PyTorch's own default initialisation of weight_hh
    bound = 1 / np.sqrt(n)
    assert np.abs(recurrent_weight("pytorch default", n)).max() == pytest.approx(
        rnn.weight_hh_l0.abs().max().item(), rel=0.01)
    assert np.abs(recurrent_weight("pytorch default", n)).max() <= bound
    np.testing.assert_array_equal(recurrent_weight("orthogonal", 5, seed=3),
                                  recurrent_weight("orthogonal", 5, seed=3))
    assert set(SCHEMES) >= {"orthogonal", "identity", "he normal", "xavier uniform"}
    with pytest.raises(ValueError, match="scheme"):
        recurrent_weight("lecun", 4)
    with pytest.raises(ValueError, match="n must be"):
        recurrent_weight("orthogonal", 0)


def test_state_jacobian_norms_match_the_closed_form_of_a_tanh_rnn():
    rng = np.random.default_rng(0)
    n, T = 12, 15
    W = rng.normal(scale=1.2 / np.sqrt(n), size=(n, n))
    drive = rng.normal(scale=0.5, size=(T, n))
    got = state_jacobian_norms(lambda h, x: torch.tanh(h @ torch.from_numpy(W).T + x),
                               torch.zeros(n, dtype=torch.float64), drive)
    h, product, expected = np.zeros(n), np.eye(n), [1.0]
    for x in drive:
        h = np.tanh(W @ h + x)
        product = (1 - h**2)[:, None] * W @ product
        expected.append(np.linalg.norm(product, ord=2))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_state_jacobian_norms_match_autograd_for_an_lstm_state():
    torch.manual_seed(0)
    n, T = 5, 6
    cell = torch.nn.LSTMCell(3, n).double()
    xs = torch.randn(T, 3, dtype=torch.float64)

    def step(s, x):
        h, c = cell(x.expand(s.shape[0], -1), (s[:, :n], s[:, n:]))
        return torch.cat([h, c], dim=1)

    got = state_jacobian_norms(step, torch.zeros(2 * n, dtype=torch.float64), xs)

    def unrolled(s0):
        s = s0[None]
        for x in xs[:4]:
            s = step(s, x)
        return s[0]

    full = torch.autograd.functional.jacobian(unrolled, torch.zeros(2 * n, dtype=torch.float64))
    assert got[4] == pytest.approx(torch.linalg.matrix_norm(full, ord=2).item(), rel=1e-10)


def test_state_jacobian_norms_rejects_bad_shapes():
    with pytest.raises(ValueError, match="h0"):
        state_jacobian_norms(lambda h, x: h, torch.zeros(2, 2), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="inputs"):
        state_jacobian_norms(lambda h, x: h, torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="same shape"):
        state_jacobian_norms(lambda h, x: h[:, :1], torch.zeros(2), torch.zeros(3, 1))


# ----------------------------------------------------------------------------- explorers


def test_clipping_explorer_draws_both_paths_and_the_surface():
    fig = widgets.clipping_explorer(threshold=5.0, lr=0.02, n_steps=40)
    ax_surface, ax_loss = fig.axes[:2]  # the colour bar comes last
    labels = [line.get_label() for line in ax_surface.get_lines()]
    assert labels == ["no clipping", "clipped at 5"]
    clipped = cliff_descent(CLIFF_START, 0.02, 40, max_norm=5.0)
    np.testing.assert_allclose(ax_surface.get_lines()[1].get_xydata(), clipped.points)
    assert len(ax_loss.get_lines()) == 2
    plt.close(fig)


@pytest.mark.parametrize("kwargs", [{"threshold": 0.0}, {"lr": -1.0}, {"n_steps": 0}])
def test_clipping_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.clipping_explorer(**kwargs)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_init_explorer_draws_every_scheme(scheme):
    fig = widgets.init_explorer(scheme=scheme, n=16, T=10)
    ax_eig, ax_flow = fig.axes
    assert len(ax_eig.collections) == 1 and len(ax_eig.collections[0].get_offsets()) == 16
    flow = ax_flow.get_lines()[0].get_ydata()
    assert flow.shape == (11,) and flow[0] == 1.0
    plt.close(fig)


def test_init_explorer_identity_with_relu_and_no_input_keeps_the_norm():
    fig = widgets.init_explorer(scheme="identity", activation="relu", input_scale=0.0, n=8, T=5)
    # h stays at 0 where relu' = 0 (PyTorch's convention): the Jacobian vanishes at once.
    assert np.all(fig.axes[1].get_lines()[0].get_ydata()[1:] <= 1e-300)  # drawn at the floor
    plt.close(fig)
    fig = widgets.init_explorer(scheme="orthogonal", activation="tanh", input_scale=0.0, n=8,
                                T=5)
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), np.ones(6), rtol=1e-12)
    plt.close(fig)


@pytest.mark.parametrize("kwargs", [{"activation": "sigmoid"}, {"input_scale": -1.0},
                                    {"T": 0}, {"scheme": "lecun"}])
def test_init_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.init_explorer(**kwargs)
