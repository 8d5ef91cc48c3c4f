"""Interactive explorers (introduced in notebook 01).

Every explorer is a plain plotting function that returns a matplotlib ``Figure`` -- tests call it
with fixed arguments -- and :func:`explore` is the thin ipywidgets wrapper around it.

Without a frontend a slider cannot move. In *static* mode :func:`explore` draws the figure once, at
the controls' starting values. The mode comes from ``COURSE_WIDGETS`` (``interactive`` or
``static``); unset, it is static while nbgrader executes the notebook and interactive otherwise.
In interactive mode the widget's output also carries a PNG of its first drawing, so a notebook
executed without a frontend (``jupyter nbconvert --execute``) still shows a figure wherever
widgets cannot be rendered.
"""

from __future__ import annotations

import base64
import functools
import inspect
import io
import os
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from .plotting import shade_where

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
}


def widgets_mode() -> str:
    """``"interactive"`` or ``"static"``; see the module docstring."""
    mode = os.environ.get("COURSE_WIDGETS")
    if mode is None:
        return "static" if "NBGRADER_EXECUTION" in os.environ else "interactive"
    mode = mode.strip().lower()
    if mode not in {"interactive", "static"}:
        raise ValueError(f"COURSE_WIDGETS must be 'interactive' or 'static', got {mode!r}")
    return mode


def build_explorer(callback: Callable[..., object], **controls):
    """The ``ipywidgets.interactive`` panel for ``callback``, drawn once at the starting values.

    ``controls`` are ``interact`` abbreviations: a list for a dropdown, ``(min, max, step)`` for a
    slider, ``ipywidgets.fixed(value)`` for an argument without a control. Moving a control
    redraws the figure in the panel's output area.
    """
    import ipywidgets

    return ipywidgets.interactive(_shown(callback), **_with_fixed_defaults(callback, controls))


def explore(callback: Callable[..., object], **controls) -> None:
    """Display ``callback`` with widget controls, or draw it once at the controls' starting values
    when no frontend can move them (see the module docstring)."""
    import ipywidgets
    from IPython.display import display

    if widgets_mode() == "static":
        # manual=True builds the controls without running the callback into a hidden output area.
        draw = _shown(callback)
        panel = ipywidgets.interactive(draw, {"manual": True},
                                       **_with_fixed_defaults(callback, controls))
        draw(**{w._kwarg: w.value for w in panel.kwargs_widgets})
        return
    panel = build_explorer(callback, **controls)
    display(_WithStaticFallback(panel, _png(callback, panel.kwargs)))


class _WithStaticFallback:
    """A widget whose display output also carries a PNG of its first drawing: JupyterLab renders
    the live widget, while a reader without widgets (nbconvert, GitHub) shows the picture."""

    def __init__(self, widget, png: bytes) -> None:
        self.widget, self.png = widget, png

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle


def _png(callback: Callable[..., object], kwargs: dict) -> bytes:
    figure = callback(**kwargs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _with_fixed_defaults(callback: Callable[..., object], controls: dict) -> dict:
    """Parameters without a control keep their default value instead of getting a widget."""
    import ipywidgets

    fixed = {name: ipywidgets.fixed(parameter.default)
             for name, parameter in inspect.signature(callback).parameters.items()
             if name not in controls and parameter.default is not inspect.Parameter.empty}
    return {**fixed, **controls}


def _shown(callback: Callable[..., object]) -> Callable[..., object]:
    # wraps() keeps the callback's signature visible, so controls start at its default values.
    @functools.wraps(callback)
    def draw(**kwargs):
        figure = callback(**kwargs)
        plt.show()
        return figure

    return draw


def _value_and_derivative(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Autograd is the independent reference here: the closed forms are the students' job.
    z = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = ACTIVATIONS[name](z)
    (dy,) = torch.autograd.grad(y.sum(), z)
    return y.detach().numpy(), dy.numpy()


def activation_explorer(activation: str = "tanh", x_max: float = 4.0, threshold: float = 0.1):
    """Plot an activation and its derivative on [-x_max, x_max], shading where f' < threshold."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if not (np.isfinite(x_max) and x_max > 0):
        raise ValueError(f"x_max must be a positive finite number, got {x_max!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold!r}")
    x = np.linspace(-x_max, x_max, 801)
    y, dy = _value_and_derivative(activation, x)
    fig, (ax_f, ax_df) = plt.subplots(1, 2, figsize=(9.0, 3.4), sharex=True)
    for ax in (ax_f, ax_df):
        shade_where(ax, x, dy < threshold, label=f"f' < {threshold:g} (saturated)")
    ax_f.plot(x, y, color="C0")
    ax_f.set(title=f"{activation}(x)", xlabel="x")
    ax_df.plot(x, dy, color="C1", label="reference (autograd)")
    ax_df.axhline(dy.max(), color="0.4", lw=0.8, ls=":")
    ax_df.set(title=f"{activation}'(x)   (largest value {dy.max():.3g})", xlabel="x",
              ylim=(-0.05, 1.1))
    ax_df.legend(loc="upper right")
    return fig


# ------------------------------------------------------------------ explorers of notebooks 02, 03


def gradient_decay_explorer(seq_len: int = 50, weight_scale: float = 1.0,
                            activation: str = "tanh", hidden_size: int = 32, seed: int = 0):
    """Plot ``||dL/dh_t||`` against the distance ``T - t`` from the loss, on a log axis (nb 02).

    The network is a random RNN ``h_t = f(W_hh h_{t-1} + W_xh x_t)``, ``h_0 = 0``, in float64,
    with ``W_hh ~ N(0, weight_scale**2 / hidden_size)``, ``W_xh ~ N(0, 1/4)`` (4 inputs) and
    inputs ``x_t ~ N(0, 1)``, all drawn from ``torch.Generator().manual_seed(seed)`` in that
    order. The loss is ``L = sum(h_T)`` (the last step only), and the gradients come from one
    backward pass (``course_utils.probes.gradient_norms_at``). The title gives the per-step rate
    ``exp(slope)`` of a straight-line fit of ``log ||dL/dh_t||`` against the distance.
    """
    from .probes import gradient_norms_at

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 2:
        raise ValueError(f"seq_len must be an integer >= 2, got {seq_len!r}")
    if not (np.isfinite(weight_scale) and weight_scale > 0):
        raise ValueError(f"weight_scale must be a positive finite number, got {weight_scale!r}")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) \
            or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
    generator = torch.Generator().manual_seed(int(seed))
    n = int(hidden_size)
    w_hh = weight_scale * torch.randn(n, n, generator=generator, dtype=torch.float64) / n**0.5
    w_xh = torch.randn(n, 4, generator=generator, dtype=torch.float64) / 2.0
    inputs = torch.randn(int(seq_len), 4, generator=generator, dtype=torch.float64)
    f = ACTIVATIONS[activation]
    h = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    states = [h]
    for x_t in inputs:
        h = f(w_hh @ h + w_xh @ x_t)
        states.append(h)
    norms = gradient_norms_at(h.sum(), states)
    distance = int(seq_len) - np.arange(int(seq_len) + 1)  # entry t sits T - t steps from the loss
    positive = norms > 0
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.semilogy(distance[positive], norms[positive], marker=".", label="||dL/dh_t||")
    title = f"{activation} RNN, weight scale {weight_scale:g}, T = {seq_len}"
    if positive.sum() >= 2:
        slope, intercept = np.polyfit(distance[positive], np.log(norms[positive]), 1)
        ax.semilogy(distance, np.exp(intercept + slope * distance), "k--", lw=1.0,
                    label=f"fit: {np.exp(slope):.3g} per step")
        title += f": {np.exp(slope):.3g}x per step"
    ax.set(xlabel="distance from the loss, T - t (steps)", ylabel="gradient norm", title=title)
    ax.legend(loc="best")
    return fig


def spectrum_explorer(scale: float = 1.0, family: str = "gaussian", size: int = 24,
                      steps: int = 40, seed: int = 0):
    """Eigenvalues of ``scale * M`` in the complex plane with the unit circle, and the norms of its
    powers (nb 03).

    ``M = course_utils.spectra.example_matrix(family, size, seed)``. Left: the eigenvalues; the
    title gives the spectral radius and the largest singular value of ``scale * M``. Right:
    ``||(scale M)^k||_2`` for ``k = 0..steps`` on a log axis, with the line ``rho^k`` that the
    eigenvalues alone would predict.
    """
    from .spectra import example_matrix

    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    matrix = scale * example_matrix(family, size, seed)
    power_norms = _norms_of_powers(matrix, int(steps))
    fig, (ax_eig, ax_pow) = plt.subplots(1, 2, figsize=(9.0, 3.8))
    radius = _spectrum_panel(ax_eig, matrix, f"{family}, scale {scale:g}")
    k = np.arange(int(steps) + 1)
    ax_pow.semilogy(k, np.maximum(power_norms, 1e-300), marker=".", label="||W^k||_2")
    ax_pow.semilogy(k, np.maximum(radius**k, 1e-300), "k--", lw=1.0, label="rho^k")
    ax_pow.axhline(1.0, color="0.5", lw=0.8)
    ax_pow.set(xlabel="k", title="norm of the k-th power")
    ax_pow.legend(loc="best")
    return fig


def clipping_explorer(threshold: float = 5.0, lr: float = 0.02, n_steps: int = 60):
    """Gradient descent on the one-unit RNN's cliff (notebook 04), without and with clipping.

    Left: ``log10`` of the error surface of :func:`course_utils.cliff.cliff_loss` over ``(w, b)``
    with both paths from :data:`course_utils.cliff.CLIFF_START`; the clipped one uses
    ``torch.nn.utils.clip_grad_norm_`` at ``threshold``. Right: the loss along both paths.
    """
    from .cliff import CLIFF_START, cliff_descent, cliff_loss

    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    w_grid, b_grid = np.meshgrid(np.linspace(3.0, 9.0, 181), np.linspace(-7.0, -1.0, 181))
    surface = np.log10(cliff_loss(w_grid, b_grid) + 1e-8)
    paths = {"no clipping": cliff_descent(CLIFF_START, lr, n_steps),
             f"clipped at {threshold:g}": cliff_descent(CLIFF_START, lr, n_steps,
                                                        max_norm=threshold)}
    fig, (ax_surface, ax_loss) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    mesh = ax_surface.pcolormesh(w_grid, b_grid, surface, shading="auto", cmap="viridis")
    fig.colorbar(mesh, ax=ax_surface, label="log10 loss")
    for (name, path), color in zip(paths.items(), ("C1", "white"), strict=True):
        ax_surface.plot(path.points[:, 0], path.points[:, 1], ".-", color=color, lw=1.2,
                        ms=4, label=name)
        ax_loss.semilogy(np.maximum(path.losses, 1e-12), ".-", color="C1" if color == "C1"
                         else "C0", label=f"{name} (largest step "
                         f"{np.max(np.linalg.norm(np.diff(path.points, axis=0), axis=1)):.3g})")
    ax_surface.set(xlim=(3.0, 9.0), ylim=(-7.0, -1.0), xlabel="w", ylabel="b",
                   title="error surface and descent paths")
    ax_surface.legend(loc="lower left", facecolor="0.3", labelcolor="white", frameon=True)
    ax_loss.set(xlabel="gradient-descent step", ylabel="loss", title=f"lr = {lr:g}")
    ax_loss.legend(loc="best")
    return fig


def init_explorer(scheme: str = "orthogonal", scale: float = 1.0, input_scale: float = 0.3,
                  activation: str = "tanh", n: int = 64, T: int = 60, seed: int = 0):
    """An initialisation scheme's spectrum and its gradient flow at initialisation (notebook 05).

    ``W = scale * M`` with ``M`` from :func:`course_utils.init_schemes.recurrent_weight`. Left: the
    eigenvalues of ``W`` and the unit circle. Right: ``||dh_t/dh_0||_2`` for
    ``h_t = activation(W h_{t-1} + U x_t)``, with random inputs whose drive has standard deviation
    ``input_scale`` per unit, against the linear prediction ``||W^t||_2``.
    """
    from .init_schemes import recurrent_weight, state_jacobian_norms
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
    if not (np.isfinite(input_scale) and input_scale >= 0):
        raise ValueError(f"input_scale must be a non-negative number, got {input_scale!r}")
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    weight = recurrent_weight(scheme, n, scale=scale, seed=seed)
    generator = torch.Generator().manual_seed(int(seed) + 1)
    drive = input_scale * torch.randn(int(T), int(n), dtype=torch.float64, generator=generator)
    W = torch.from_numpy(weight)
    act = ACTIVATIONS[activation]
    norms = state_jacobian_norms(lambda h, x: act(h @ W.T + x), torch.zeros(int(n),
                                 dtype=torch.float64), drive)
    linear = _norms_of_powers(weight, int(T))
    fig, (ax_eig, ax_flow) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    _spectrum_panel(ax_eig, weight, f"{scheme} x {scale:g}")
    t = np.arange(int(T) + 1)
    ax_flow.semilogy(t, np.maximum(norms, 1e-300), label=f"{activation} RNN")
    ax_flow.semilogy(t, np.maximum(linear, 1e-300), "k--", lw=1.0, label="linear: ||W^t||")
    ax_flow.axhline(1.0, color="0.5", lw=0.8)
    ax_flow.set(xlabel="t", ylabel="||dh_t / dh_0||_2",
                title=f"gradient flow at initialisation (input drive {input_scale:g})")
    ax_flow.legend(loc="best")
    return fig


def _spectrum_panel(ax, matrix: np.ndarray, heading: str) -> float:
    """Eigenvalues against the unit circle, titled with the spectral radius and the largest
    singular value; returns the spectral radius."""
    from .spectra import plot_eigenvalues

    eigenvalues = np.linalg.eigvals(matrix)
    radius = float(np.max(np.abs(eigenvalues)))
    plot_eigenvalues(ax, eigenvalues, label="eigenvalues")
    ax.set_title(f"{heading}: rho = {radius:.3g}, sigma_max = "
                 f"{np.linalg.norm(matrix, ord=2):.3g}")
    ax.legend(loc="upper right")
    return radius


def _norms_of_powers(matrix: np.ndarray, steps: int) -> list[float]:
    """``[||W^0||_2, ||W^1||_2, ..., ||W^steps||_2]``."""
    power, norms = np.eye(len(matrix)), [1.0]
    for _ in range(steps):
        power = matrix @ power
        norms.append(float(np.linalg.norm(power, ord=2)))
    return norms
