"""Mean-field theory of a large random tanh RNN, and end-to-end Jacobians (introduced in notebook 03).

For ``h_t = tanh(W h_{t-1} + x_t)`` with ``W`` of entries ``N(0, g^2/n)`` and inputs ``x_t`` of
variance ``sigma_x2`` per unit, every pre-activation is, for large ``n``, Gaussian with a variance
``q*`` that solves (Poole et al., 2016)

    q* = g^2 E[tanh(sqrt(q*) z)^2] + sigma_x2,      z ~ N(0, 1),

and a perturbation's squared norm is multiplied per step by ``chi = g^2 E[tanh'(sqrt(q*) z)^2]``,
so the largest Lyapunov exponent is ``lambda = log(chi) / 2``. ``chi = 1`` is the edge of chaos.
The expectations use Gauss-Hermite quadrature (probabilists' weights).

:func:`jacobian_product_singular_values` measures the other half of the story (Pennington et al.,
2017): ``chi = 1`` fixes the *mean* squared singular value of the T-step Jacobian, not their
spread, which depends on the spectrum of ``W`` (Gaussian or orthogonal).
"""

from __future__ import annotations

import numpy as np

__all__ = ["edge_of_chaos_gain", "jacobian_product_singular_values", "mean_field_chi",
           "mean_field_lyapunov", "mean_field_q"]

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()  # E[f(z)] = sum(w * f(nodes)) for z ~ N(0, 1)


def _check(g, sigma_x2) -> tuple[float, float]:
    g, sigma_x2 = float(g), float(sigma_x2)
    if not (np.isfinite(g) and g >= 0):
        raise ValueError(f"g must be a finite number >= 0, got {g!r}")
    if not (np.isfinite(sigma_x2) and sigma_x2 >= 0):
        raise ValueError(f"sigma_x2 must be a finite number >= 0, got {sigma_x2!r}")
    return g, sigma_x2


def mean_field_q(g: float, sigma_x2: float) -> float:
    """The stable fixed point ``q*`` of the variance map (0 when ``sigma_x2 = 0`` and ``g <= 1``),
    by bisection to machine precision."""
    g, sigma_x2 = _check(g, sigma_x2)

    def excess(q):
        return g**2 * np.dot(_WEIGHTS, np.tanh(np.sqrt(q) * _NODES) ** 2) + sigma_x2 - q

    if sigma_x2 == 0.0 and g <= 1.0:
        return 0.0
    low, high = (0.0 if sigma_x2 > 0 else 1e-300), g**2 + sigma_x2  # excess > 0 at low, < 0 at high
    if sigma_x2 == 0.0:  # the positive root: start where the small-q slope g^2 - 1 still shows
        low = min(1e-6 * (g**2 - 1), high / 2)
        while excess(low) <= 0:
            low /= 2
    for _ in range(200):
        middle = 0.5 * (low + high)
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high)


def mean_field_chi(g: float, sigma_x2: float) -> float:
    """``g^2 E[tanh'(sqrt(q*) z)^2]``: the per-step growth of a perturbation's squared norm."""
    g, sigma_x2 = _check(g, sigma_x2)
    q = mean_field_q(g, sigma_x2)
    return float(g**2 * np.dot(_WEIGHTS, (1.0 - np.tanh(np.sqrt(q) * _NODES) ** 2) ** 2))


def mean_field_lyapunov(g: float, sigma_x2: float) -> float:
    """The mean-field Lyapunov exponent ``log(chi) / 2`` (``-inf`` at ``g = 0``)."""
    chi = mean_field_chi(g, sigma_x2)
    return float(0.5 * np.log(chi)) if chi > 0 else float("-inf")


def edge_of_chaos_gain(sigma_x2: float) -> float:
    """The gain ``g`` at which ``chi = 1`` (1 without input, larger with input)."""
    _check(1.0, sigma_x2)
    low, high = 0.5, 1.0
    while mean_field_chi(high, sigma_x2) < 1.0:
        low, high = high, 2 * high
    for _ in range(100):
        middle = 0.5 * (low + high)
        if mean_field_chi(middle, sigma_x2) < 1.0:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def jacobian_product_singular_values(W: np.ndarray, steps: int, drive: float,
                                     rng: np.random.Generator, n_burn: int = 100) -> np.ndarray:
    """Singular values (descending) of ``dh_{n_burn + steps} / dh_{n_burn}`` for
    ``h_t = tanh(W h_{t-1} + drive * z_t)``, ``z_t ~ N(0, I)`` from ``rng``, started at a random
    state and run ``n_burn`` steps first. Values below about 1e-16 of the largest are rounding."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square matrix, got shape {W.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = W.shape[0]
    h = rng.normal(size=n)
    for _ in range(n_burn):
        h = np.tanh(W @ h + drive * rng.normal(size=n))
    product = np.eye(n)
    for _ in range(steps):
        h = np.tanh(W @ h + drive * rng.normal(size=n))
        product = ((1.0 - h**2)[:, None] * W) @ product
    return np.linalg.svd(product, compute_uv=False)
