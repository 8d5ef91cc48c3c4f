"""Interactive explorers (introduced in notebook 01).

Every explorer is a plain plotting function that returns a matplotlib ``Figure`` -- tests call it
with fixed arguments -- and :func:`explore` is the thin ipywidgets wrapper around it.

Without a frontend (nbgrader or nbconvert executing the notebook) a slider cannot move, so
:func:`explore` then draws the figure once, statically, at the controls' starting values. The mode
comes from ``COURSE_WIDGETS`` (``interactive`` or ``static``); unset, it is static while nbgrader
executes the notebook and interactive otherwise.
"""

from __future__ import annotations

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

    return ipywidgets.interactive(_shown(callback), **controls)


def explore(callback: Callable[..., object], **controls) -> None:
    """Display ``callback`` with widget controls, or draw it once at the controls' starting values
    when no frontend can move them (see the module docstring)."""
    import ipywidgets
    from IPython.display import display

    if widgets_mode() == "static":
        # manual=True builds the controls without running the callback into a hidden output area.
        panel = ipywidgets.interactive(lambda **_: None, {"manual": True}, **controls)
        _shown(callback)(**{w._kwarg: w.value for w in panel.kwargs_widgets})
        return
    display(build_explorer(callback, **controls))


def _shown(callback: Callable[..., object]) -> Callable[..., object]:
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


def activation_explorer(activation: str = "tanh", x_max: float = 4.0, threshold: float = 0.1,
                        student_derivative: Callable[[np.ndarray], np.ndarray] | None = None):
    """Plot an activation and its derivative on [-x_max, x_max], shading where f' < threshold.

    ``student_derivative``, when given, is drawn dashed over the reference derivative.
    """
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
    if student_derivative is not None:
        ax_df.plot(x, np.asarray(student_derivative(x), dtype=float), "k--", lw=1.2,
                   label="your derivative")
    ax_df.axhline(dy.max(), color="0.4", lw=0.8, ls=":")
    ax_df.set(title=f"{activation}'(x)   (largest value {dy.max():.3g})", xlabel="x",
              ylim=(-0.05, 1.1))
    ax_df.legend(loc="upper right")
    return fig
