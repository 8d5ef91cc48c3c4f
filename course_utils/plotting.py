"""The course's figure style and small plotting helpers (introduced in notebook 01)."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

COURSE_STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
}


def use_course_style() -> None:
    """Apply the course's matplotlib defaults (called by ``env.setup_notebook``)."""
    mpl.rcParams.update(COURSE_STYLE)


def shade_where(ax, x: np.ndarray, mask: np.ndarray, *, label: str | None = None,
                color: str = "0.85") -> None:
    """Shade the vertical bands of ``ax`` where the boolean ``mask`` over ``x`` holds."""
    x = np.asarray(x)
    mask = np.asarray(mask, dtype=bool)
    if x.shape != mask.shape or x.ndim != 1:
        raise ValueError(f"x and mask must be 1-D with one shape; got {x.shape} and {mask.shape}")
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    for n, (start, stop) in enumerate(zip(edges[::2], edges[1::2], strict=True)):
        ax.axvspan(x[start], x[stop - 1], color=color, lw=0, zorder=0,
                   label=label if n == 0 else None)
