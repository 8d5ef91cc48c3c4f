"""course_utils.lru: the LRU network of notebook 09 against a step-by-step oracle, and its explorer."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import lru


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def eigenvalues(nu_log, theta_log):
    return torch.exp(torch.complex(-torch.exp(nu_log), torch.exp(theta_log)))


def ring(n, rng, r_min=0.5, r_max=0.99, max_phase=np.pi):
    return np.sqrt(rng.uniform(r_min ** 2, r_max ** 2, n)) * np.exp(1j * rng.uniform(0, max_phase, n))


def gamma(lam):
    return np.sqrt(1 - np.abs(lam) ** 2)


@pytest.mark.parametrize("length", [1, 7, 64, 300])
def test_the_fft_recurrence_equals_the_loop(length):
    gen = torch.Generator().manual_seed(length)
    lam = torch.polar(torch.rand(5, generator=gen, dtype=torch.float64) * 0.2 + 0.8,
                      torch.rand(5, generator=gen, dtype=torch.float64) * 3)
    u = torch.complex(torch.randn(2, length, 5, generator=gen, dtype=torch.float64),
                      torch.randn(2, length, 5, generator=gen, dtype=torch.float64))
    h, expected = torch.zeros(2, 5, dtype=torch.complex128), []
    for t in range(length):
        h = lam * h + u[:, t]
        expected.append(h)
    got = lru.causal_linear_recurrence(lam, u)
    torch.testing.assert_close(got, torch.stack(expected, dim=1), rtol=1e-10, atol=1e-10)


def test_the_fft_recurrence_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="u must be"):
        lru.causal_linear_recurrence(torch.ones(3, dtype=torch.complex64),
                                     torch.ones(2, 4, 5, dtype=torch.complex64))


def make_network(seed=0, **options):
    return lru.LRUNetwork(vocab_size=6, output_size=4, eigenvalues=eigenvalues, ring=ring,
                          gamma=gamma, d_model=8, d_state=6, seed=seed, **options)


def test_a_layer_computes_the_documented_recurrence_step_by_step():
    """The block, rebuilt from its parameters by a loop: LayerNorm, h_t = lam h + gamma B z,
    y = Re(C h) + D z, GELU, GLU, residual."""
    net = make_network(n_layers=1)
    layer = net.layers[0]
    x = torch.randn(3, 11, 8)
    with torch.no_grad():
        z = layer.norm(x)
        lam = torch.exp(torch.complex(-layer.nu_log.exp(), layer.theta_log.exp()))
        B = torch.complex(layer.B_re, layer.B_im)
        C = torch.complex(layer.C_re, layer.C_im)
        h = torch.zeros(3, 6, dtype=torch.complex64)
        outputs = []
        for t in range(11):
            h = lam * h + layer.gamma_log.exp() * (z[:, t].to(B.dtype) @ B.T)
            y = (h @ C.T).real + layer.D * z[:, t]
            a, b = layer.glu(torch.nn.functional.gelu(y)).chunk(2, dim=-1)
            outputs.append(x[:, t] + a * torch.sigmoid(b))
        torch.testing.assert_close(layer(x), torch.stack(outputs, dim=1), rtol=1e-4, atol=1e-5)


def test_the_network_uses_the_given_parts_and_is_reproducible():
    net = make_network(seed=3)
    initial = net.layer_eigenvalues()
    assert len(initial) == 2 and all(lam.shape == (6,) for lam in initial)
    moduli = np.concatenate([np.abs(lam) for lam in initial])
    assert moduli.min() >= 0.5 - 1e-6 and moduli.max() <= 0.99 + 1e-6
    layer = net.layers[0]
    np.testing.assert_allclose(layer.gamma_log.detach().exp().numpy(), gamma(initial[0]), rtol=1e-5)
    tokens = np.random.default_rng(0).integers(0, 6, size=(2, 9))
    out = net(tokens)
    assert out.shape == (2, 9, 4) and out.dtype == torch.float32
    torch.testing.assert_close(make_network(seed=3)(tokens), out)
    assert not torch.allclose(make_network(seed=4)(tokens), out)
    out.sum().backward()
    assert layer.nu_log.grad is not None and torch.isfinite(layer.nu_log.grad).all()


def test_the_network_is_causal():
    net = make_network()
    tokens = torch.randint(0, 6, (1, 12), generator=torch.Generator().manual_seed(0))
    changed = tokens.clone()
    changed[0, 8] = (changed[0, 8] + 1) % 6
    with torch.no_grad():
        before, after = net(tokens), net(changed)
    torch.testing.assert_close(before[:, :8], after[:, :8])
    assert not torch.allclose(before[:, 8:], after[:, 8:])


@pytest.mark.parametrize(("options", "match"), [
    ({"d_state": 0}, "d_state"),
    ({"ring": lambda n, rng: np.ones(n)}, "complex"),
    ({"ring": lambda n, rng: 1.5 * np.exp(1j * np.ones(n))}, "0 < |lambda| < 1"),
])
def test_the_network_refuses_bad_parts(options, match):
    with pytest.raises(ValueError, match=match):
        lru.LRUNetwork(**{"vocab_size": 6, "output_size": 4, "eigenvalues": eigenvalues,
                          "ring": ring, "gamma": gamma, **options})


def test_the_network_refuses_bad_tokens():
    with pytest.raises(ValueError, match="token ids"):
        make_network()(np.array([[0, 6]]))
    with pytest.raises(ValueError, match="integer"):
        make_network()(np.zeros((1, 3)))


@pytest.mark.parametrize(("radius", "expected"), [(0.9, 65), (0.99, 687), (0.999, 6904),
                                                  (0.0, 0), (1.0, np.inf)])
def test_radius_horizon_is_the_last_distance_above_the_threshold(radius, expected):
    horizon = lru.radius_horizon(radius)
    assert horizon == expected
    if 0 < radius < 1:
        assert radius ** horizon >= 1e-3 > radius ** (horizon + 1)


def sample(n, r_min, r_max, max_phase):
    return ring(n, np.random.default_rng(0), r_min, r_max, max_phase)


@pytest.mark.parametrize(("r_min", "r_max", "max_phase"), [(0.9, 0.999, np.pi), (0.0, 0.5, 0.3),
                                                           (0.99, 0.99, 2 * np.pi)])
def test_ring_explorer_shows_the_samples_and_their_gradient_norms(r_min, r_max, max_phase):
    fig = lru.ring_explorer(sample, r_min=r_min, r_max=r_max, max_phase=max_phase, distance=300)
    ax_circle, ax_decay = fig.axes
    points = next(line for line in ax_circle.lines if line.get_marker() == ".")
    lam = sample(128, r_min, r_max, max_phase)
    np.testing.assert_allclose(points.get_xdata(), lam.real)
    np.testing.assert_allclose(points.get_ydata(), lam.imag)
    edges = {line.get_label(): line for line in ax_decay.lines if line.get_label().startswith("r_")}
    for name, radius in (("r_max", r_max), ("r_min", r_min)):
        d, norm = edges[f"{name} = {radius:g}"].get_data()
        np.testing.assert_array_equal(d, np.arange(301))
        np.testing.assert_allclose(norm, radius ** np.arange(301.0), rtol=1e-12)
    assert ax_decay.get_yscale() == "log"
    low, high = lru.radius_horizon(r_min), lru.radius_horizon(r_max)
    assert f"memory horizon: {low:g} (r_min) to {high:g} (r_max) steps" in ax_decay.get_title()


@pytest.mark.parametrize("options", [{"r_min": 0.9, "r_max": 0.5}, {"r_max": 1.2},
                                     {"max_phase": 0.0}, {"distance": 0}])
def test_ring_explorer_refuses_bad_controls(options):
    with pytest.raises(ValueError):
        lru.ring_explorer(sample, **options)
