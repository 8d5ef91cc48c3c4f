"""Explorers of notebooks 02 and 03 (course_utils.widgets) and course_utils.spectra."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import spectra, widgets


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def reference_decay(seq_len, weight_scale, hidden_size, seed, nonlinearity):
    """The documented random RNN, run by torch.nn.RNN; ||dL/dh_t|| by one backward per step."""
    g = torch.Generator().manual_seed(seed)
    w_hh = weight_scale * torch.randn(hidden_size, hidden_size, generator=g,
                                      dtype=torch.float64) / hidden_size**0.5
    w_xh = torch.randn(hidden_size, 4, generator=g, dtype=torch.float64) / 2.0
    x = torch.randn(seq_len, 4, generator=g, dtype=torch.float64)
    rnn = torch.nn.RNN(4, hidden_size, nonlinearity=nonlinearity, bias=False).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(w_hh)
        rnn.weight_ih_l0.copy_(w_xh)
    norms = []
    for t in range(seq_len + 1):
        with torch.no_grad():
            _, h_t = rnn(x[:t], torch.zeros(1, hidden_size, dtype=torch.float64)) if t else \
                (None, torch.zeros(1, hidden_size, dtype=torch.float64))
        leaf = h_t.clone().requires_grad_(True)
        h_end = rnn(x[t:], leaf)[1] if t < seq_len else leaf
        (grad,) = torch.autograd.grad(h_end.sum(), leaf)
        norms.append(grad.norm().item())
    return np.array(norms)


@pytest.mark.parametrize(("activation", "scale"), [("tanh", 0.5), ("tanh", 3.0), ("relu", 0.8)])
def test_gradient_decay_explorer_plots_norms_against_distance(activation, scale):
    fig = widgets.gradient_decay_explorer(seq_len=30, weight_scale=scale, activation=activation,
                                          hidden_size=16, seed=3)
    (ax,) = fig.axes
    distance, norms = ax.lines[0].get_data()
    expected = reference_decay(30, scale, 16, 3, activation)
    keep = expected > 0
    # points in the order t = 0..T, at distance T - t; the last is the loss's own step h_T,
    # where dL/dh_T is the vector of ones
    np.testing.assert_array_equal(distance, (30 - np.arange(31))[keep])
    np.testing.assert_allclose(norms, expected[keep], rtol=1e-9)
    assert distance[-1] == 0 and norms[-1] == pytest.approx(4.0)
    assert ax.get_yscale() == "log"
    slope = np.polyfit((30 - np.arange(31))[keep], np.log(expected[keep]), 1)[0]
    assert f"{np.exp(slope):.3g}x per step" in ax.get_title()


def test_gradient_decay_explorer_small_weights_decay_large_weights_grow():
    small = widgets.gradient_decay_explorer(seq_len=40, weight_scale=0.5).axes[0].lines[0]
    large = widgets.gradient_decay_explorer(seq_len=40, weight_scale=3.0).axes[0].lines[0]
    # data in the order t = 0..T: entry 0 is 40 steps from the loss, entry -1 at the loss
    assert small.get_data()[1][0] < 1e-6 * small.get_data()[1][-1]
    assert large.get_data()[1][0] > large.get_data()[1][-1]


def test_gradient_decay_explorer_sigmoid_runs():
    fig = widgets.gradient_decay_explorer(seq_len=10, activation="sigmoid", hidden_size=4)
    assert "sigmoid" in fig.axes[0].get_title()


@pytest.mark.parametrize("kwargs", [{"activation": "gelu"}, {"seq_len": 1}, {"seq_len": 2.5},
                                    {"weight_scale": 0.0}, {"weight_scale": np.nan},
                                    {"hidden_size": 0}])
def test_gradient_decay_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.gradient_decay_explorer(**kwargs)


@pytest.mark.parametrize("family", spectra.FAMILIES)
def test_spectrum_explorer_shows_the_eigenvalues_and_power_norms(family):
    fig = widgets.spectrum_explorer(scale=0.9, family=family, size=6, steps=12, seed=2)
    ax_eig, ax_pow = fig.axes
    matrix = 0.9 * spectra.example_matrix(family, 6, seed=2)
    expected = np.linalg.eigvals(matrix)
    points = ax_eig.collections[0].get_offsets()
    np.testing.assert_allclose(np.sort_complex(points[:, 0] + 1j * points[:, 1]),
                               np.sort_complex(expected), atol=1e-12)
    circle_x, circle_y = ax_eig.lines[0].get_data()
    np.testing.assert_allclose(np.hypot(circle_x, circle_y), 1.0)
    k, norms = ax_pow.lines[0].get_data()
    np.testing.assert_array_equal(k, np.arange(13))
    np.testing.assert_allclose(
        norms, [np.linalg.svd(np.linalg.matrix_power(matrix, i), compute_uv=False)[0]
                for i in range(13)], rtol=1e-9)
    rho = np.abs(expected).max()
    assert f"rho = {rho:.3g}" in ax_eig.get_title()
    assert f"sigma_max = {np.linalg.svd(matrix, compute_uv=False)[0]:.3g}" in ax_eig.get_title()


def test_jordan_powers_grow_before_they_decay():
    fig = widgets.spectrum_explorer(scale=0.8, family="jordan", size=5, steps=60)
    norms = fig.axes[1].lines[0].get_data()[1]
    assert norms.max() > 5 and norms[-1] < 1  # transient growth although rho = 0.8 < 1


@pytest.mark.parametrize("kwargs", [{"scale": 0.0}, {"scale": np.inf}, {"steps": 0},
                                    {"family": "hermitian"}, {"size": 0}])
def test_spectrum_explorer_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        widgets.spectrum_explorer(**kwargs)


def test_example_matrices_have_the_documented_spectra():
    n = 40
    gaussian = spectra.example_matrix("gaussian", n, seed=1)
    np.testing.assert_array_equal(gaussian, spectra.example_matrix("gaussian", n, seed=1))
    assert not np.array_equal(gaussian, spectra.example_matrix("gaussian", n, seed=2))
    assert 0.7 < np.abs(np.linalg.eigvals(gaussian)).max() < 1.3
    symmetric = spectra.example_matrix("symmetric", n)
    np.testing.assert_array_equal(symmetric, symmetric.T)
    jordan = spectra.example_matrix("jordan", n)
    np.testing.assert_allclose(np.diag(jordan), 1.0)
    assert np.linalg.norm(jordan, 2) > 1.9
    for size in (5, 6):
        rotation = spectra.example_matrix("rotation", size)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(size), atol=1e-12)
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(rotation)), 1.0)


def test_plot_eigenvalues_draws_points_and_circle():
    fig, ax = plt.subplots()
    spectra.plot_eigenvalues(ax, np.array([0.5 + 0.5j, -0.2]), label="W")
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0.5, 0.5], [-0.2, 0.0]])
    assert ax.get_xlabel() == "Re" and ax.get_ylabel() == "Im"
    with pytest.raises(ValueError):
        spectra.plot_eigenvalues(ax, np.zeros((2, 2)))
