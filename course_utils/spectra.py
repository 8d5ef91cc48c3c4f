"""Example matrices and complex-plane plots of spectra (introduced in notebook 03).

Given tools only: the quantities the exercises ask for (spectral radius, largest singular value,
rescaling, regimes, transient gains) are the students' to compute.
"""

from __future__ import annotations

import numpy as np

FAMILIES = ("gaussian", "symmetric", "jordan", "rotation")


def example_matrix(family: str, size: int, seed: int = 0) -> np.ndarray:
    """A ``size x size`` float64 matrix of a family whose spectrum sits on or near the unit circle.

    - ``"gaussian"``: entries N(0, 1/size); by the circular law its eigenvalues fill the unit disc
      (spectral radius close to 1, largest singular value close to 2). Non-normal.
    - ``"symmetric"``: (A + A^T) / sqrt(4 size) with A Gaussian; real eigenvalues in about
      [-1, 1]; normal, so its largest singular value equals its spectral radius.
    - ``"jordan"``: ones on the diagonal and on the superdiagonal; every eigenvalue is 1 but the
      largest singular value is close to 2 and its powers grow polynomially. Non-normal.
    - ``"rotation"``: block diagonal with 2 x 2 rotations by angles spread over (0, pi) (and a 1
      for odd sizes); orthogonal, every eigenvalue and singular value has modulus 1.

    ``seed`` drives the random families (numpy ``default_rng``); the others ignore it.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    rng = np.random.default_rng(seed)
    if family == "gaussian":
        return rng.normal(scale=1.0 / np.sqrt(size), size=(size, size))
    if family == "symmetric":
        a = rng.normal(size=(size, size))
        return (a + a.T) / np.sqrt(4.0 * size)
    if family == "jordan":
        return np.eye(size) + np.eye(size, k=1)
    matrix = np.eye(size)
    angles = np.linspace(0.0, np.pi, size // 2 + 2)[1:-1]
    for block, angle in enumerate(angles):
        i = 2 * block
        c, s = np.cos(angle), np.sin(angle)
        matrix[i:i + 2, i:i + 2] = [[c, -s], [s, c]]
    return matrix


def plot_eigenvalues(ax, eigenvalues, *, label: str | None = None, color: str | None = None,
                     unit_circle: bool = True, marker: str = "o") -> None:
    """Scatter complex ``eigenvalues`` in the complex plane of ``ax``, with the unit circle.

    Equal axis scaling, so that a circle looks like a circle; axes labelled Re and Im.
    """
    values = np.asarray(eigenvalues)
    if values.ndim != 1:
        raise ValueError(f"eigenvalues must be a 1-D array, got shape {values.shape}")
    if unit_circle:
        theta = np.linspace(0.0, 2.0 * np.pi, 361)
        ax.plot(np.cos(theta), np.sin(theta), color="0.4", lw=1.0, ls="--", label="unit circle")
    ax.scatter(values.real, values.imag, s=18, color=color, label=label, marker=marker,
               zorder=3)
    ax.axhline(0.0, color="0.7", lw=0.6)
    ax.axvline(0.0, color="0.7", lw=0.6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(xlabel="Re", ylabel="Im")
