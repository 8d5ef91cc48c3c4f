"""Gate values and the memory horizon of an LSTM (introduced in notebook 06).

:func:`forget_gate_explorer` is the explorer of notebook 06: for a freshly initialised ``nn.LSTM``
whose forget-gate bias is set to a chosen value, it draws the distribution of the forget gates
along a random input sequence and the gradient ratio ``||dL_T/dh_(T-d)|| / ||dL_T/dh_T||`` against
the distance ``d`` (from :func:`course_utils.probes.state_gradient_norms`). Notebook 06 passes the
student's ``memory_horizon`` as ``horizon_fn`` to mark the horizon; this module does not compute
it.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from . import probes

__all__ = ["forget_gate_explorer", "forget_gates", "lstm_with_forget_bias"]


def lstm_with_forget_bias(input_size: int, hidden_size: int, forget_bias: float | None,
                          seed: int = 0) -> nn.LSTM:
    """A one-layer, time-major ``nn.LSTM`` with PyTorch's default weights (drawn from ``seed``
    without touching the global random state) and, unless ``forget_bias`` is None, the forget
    gate's total bias set to ``forget_bias`` (in ``bias_ih``; ``bias_hh``'s forget slice is 0)."""
    for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if forget_bias is not None and not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be a finite number or None, got {forget_bias!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        lstm = nn.LSTM(int(input_size), int(hidden_size))
    if forget_bias is not None:
        with torch.no_grad():
            lstm.bias_ih_l0[hidden_size:2 * hidden_size] = float(forget_bias)
            lstm.bias_hh_l0[hidden_size:2 * hidden_size] = 0.0
    return lstm


def forget_gates(lstm: nn.LSTM, inputs: torch.Tensor) -> torch.Tensor:
    """The forget gates ``f_1..f_T`` of a one-layer, time-major ``nn.LSTM`` along ``inputs``
    ``(T, B, d_in)``, as a tensor ``(T, B, H)`` (entry ``s - 1`` is ``f_s``), without gradients."""
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or lstm.batch_first \
            or lstm.bidirectional or lstm.proj_size:
        raise ValueError("forget_gates needs a one-layer, unidirectional, time-major nn.LSTM "
                         "without projection")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3 \
            or inputs.shape[-1] != lstm.input_size:
        raise ValueError(f"inputs must be a tensor (T, B, {lstm.input_size}), got "
                         f"{getattr(inputs, 'shape', type(inputs).__name__)}")
    H = lstm.hidden_size
    rows = slice(H, 2 * H)  # PyTorch's gate order: i, f, g, o
    with torch.no_grad():
        states, _ = lstm(inputs)
        previous = torch.cat([torch.zeros_like(states[:1]), states[:-1]])  # h_0 .. h_(T-1)
        pre = (inputs @ lstm.weight_ih_l0[rows].T + lstm.bias_ih_l0[rows]
               + previous @ lstm.weight_hh_l0[rows].T + lstm.bias_hh_l0[rows])
        return torch.sigmoid(pre)


def forget_gate_explorer(forget_bias: float = 1.0, seq_len: int = 100, threshold: float = 1e-3,
                         hidden_size: int = 32, input_size: int = 8, batch: int = 8,
                         seed: int = 0,
                         horizon_fn: Callable[[np.ndarray, float], int] | None = None):
    """Forget-gate values (left) and the gradient ratio against the distance from the loss (right)
    for an LSTM with the given forget-gate bias; returns the Figure.

    The loss is the sum of ``h_T`` (the probe's default). The dashed line is ``sigma(b)**d``, the
    cell path's gain if every forget gate sat exactly at ``sigma(forget_bias)``. ``horizon_fn``,
    when given, is called as ``horizon_fn(ratios, threshold)`` and its answer is marked.
    """
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold!r}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    lstm = lstm_with_forget_bias(input_size, hidden_size, forget_bias, seed=seed)
    inputs = torch.randn(int(seq_len), int(batch), int(input_size),
                         generator=torch.Generator().manual_seed(int(seed)))
    norms = probes.state_gradient_norms(lstm, inputs)[::-1]
    ratios = norms / norms[0]
    gates = forget_gates(lstm, inputs).numpy().ravel()
    distance = np.arange(len(ratios))
    sigma = 1.0 / (1.0 + np.exp(-float(forget_bias)))

    fig, (ax_gates, ax_grad) = plt.subplots(1, 2, figsize=(9.5, 3.6),
                                            gridspec_kw={"width_ratios": [1, 1.6]})
    ax_gates.hist(gates, bins=np.linspace(0, 1, 41), color="C0")
    ax_gates.axvline(gates.mean(), color="C1", lw=1.5, label=f"mean {gates.mean():.2f}")
    ax_gates.set(xlabel="forget gate f", ylabel="count", xlim=(0, 1),
                 title=f"forget gates, bias {forget_bias:g}")
    ax_gates.legend(loc="upper left")
    ax_grad.semilogy(distance, ratios, color="C0", label="LSTM (probe)")
    ax_grad.semilogy(distance, sigma ** distance, color="C2", ls="--",
                     label=f"sigma({forget_bias:g})^d = {sigma:.3f}^d")
    shown = ratios[ratios > 0]
    low = min(shown.min() if shown.size else 1e-30, threshold) / 10
    ax_grad.set_ylim(max(low, 1e-40), max(2.0, ratios.max() * 2))
    ax_grad.axhline(threshold, color="0.4", lw=0.8, ls=":", label=f"threshold {threshold:g}")
    if horizon_fn is not None:
        horizon = int(horizon_fn(ratios, threshold))
        ax_grad.axvline(horizon, color="C1", lw=1.5, label=f"your memory_horizon: {horizon}")
    ax_grad.set(xlabel="distance d from the loss (steps)", ylabel="gradient ratio",
                title=f"||dL/dh_(T-d)|| / ||dL/dh_T||, T = {seq_len}")
    ax_grad.legend(loc="lower left")
    return fig
