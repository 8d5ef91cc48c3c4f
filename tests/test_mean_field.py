"""course_utils.mean_field against closed forms, direct Monte Carlo and the definition."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import mean_field


def test_without_input_below_the_edge_q_is_zero_and_lambda_is_log_g():
    for g in (0.3, 0.8, 1.0):
        assert mean_field.mean_field_q(g, 0.0) == 0.0
        assert mean_field.mean_field_lyapunov(g, 0.0) == pytest.approx(np.log(g), abs=1e-12)


@pytest.mark.parametrize("g, sigma_x2", [(1.5, 0.0), (2.5, 0.0), (0.7, 1.0), (1.8, 0.3)])
def test_q_solves_its_fixed_point_equation_by_monte_carlo(g, sigma_x2):
    q = mean_field.mean_field_q(g, sigma_x2)
    z = np.random.default_rng(0).normal(size=2_000_000)
    assert q > 0
    assert g**2 * np.mean(np.tanh(np.sqrt(q) * z) ** 2) + sigma_x2 == pytest.approx(q, rel=3e-3)
    chi = g**2 * np.mean((1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2)
    assert mean_field.mean_field_chi(g, sigma_x2) == pytest.approx(chi, rel=3e-3)
    assert mean_field.mean_field_lyapunov(g, sigma_x2) == pytest.approx(0.5 * np.log(chi), abs=3e-3)


def test_edge_of_chaos_is_where_chi_is_one_and_inputs_move_it_up():
    assert mean_field.edge_of_chaos_gain(0.0) == pytest.approx(1.0, abs=1e-9)
    edge = mean_field.edge_of_chaos_gain(1.0)
    assert edge > 1.5
    assert mean_field.mean_field_chi(edge, 1.0) == pytest.approx(1.0, abs=1e-9)
    assert mean_field.mean_field_chi(edge * 0.99, 1.0) < 1 < mean_field.mean_field_chi(edge * 1.01, 1.0)


def test_jacobian_singular_values_of_a_linear_regime_product():
    # no input and rho(W) < 1: after a long burn-in the state is 0 to rounding and every step
    # Jacobian is W, so the product is W^steps
    n, steps = 6, 4
    rng = np.random.default_rng(3)
    W = rng.normal(size=(n, n))
    W *= 0.8 / np.abs(np.linalg.eigvals(W)).max()  # rho = 0.8: the state decays to 0
    values = mean_field.jacobian_product_singular_values(W, steps, 0.0, rng, n_burn=2000)
    expected = np.linalg.svd(np.linalg.matrix_power(W, steps), compute_uv=False)
    np.testing.assert_allclose(values, expected, rtol=1e-8, atol=1e-12)
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    orthogonal = q * np.sign(np.diag(r))
    values = mean_field.jacobian_product_singular_values(0.5 * orthogonal, steps, 0.0, rng,
                                                         n_burn=500)
    np.testing.assert_allclose(values, 0.5**steps, rtol=1e-10)


@pytest.mark.parametrize("call", [
    lambda: mean_field.mean_field_q(-1.0, 0.0),
    lambda: mean_field.mean_field_q(1.0, float("nan")),
    lambda: mean_field.edge_of_chaos_gain(-0.5),
    lambda: mean_field.jacobian_product_singular_values(np.ones((2, 3)), 3, 0.0,
                                                        np.random.default_rng(0)),
    lambda: mean_field.jacobian_product_singular_values(np.eye(2), 0, 0.0,
                                                        np.random.default_rng(0)),
    lambda: mean_field.jacobian_product_singular_values(np.eye(2), 2, 0.0, 0),
])
def test_bad_arguments_are_refused(call):
    with pytest.raises(ValueError):
        call()
