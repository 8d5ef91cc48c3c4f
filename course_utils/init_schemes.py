"""Recurrent weight matrices from ``torch.nn.init`` and Jacobian-norm curves (introduced in
notebook 05).

- :data:`SCHEMES` and :func:`recurrent_weight`: an ``n x n`` recurrent matrix drawn by PyTorch's own
  initialisers (the reference the notebook's exercises are tested against), times ``scale``.
- :func:`state_jacobian_norms`: ``||dh_t/dh_0||_2`` for ``t = 0..T`` of any recurrence
  ``h_t = step(h_{t-1}, x_t)`` written in torch, by accumulating the one-step Jacobians (autograd)
  along the trajectory. Works for hand-written cells (residual, layer-normalised, LSTM with the
  state ``[h; c]``) as well as for a vanilla RNN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["SCHEMES", "recurrent_weight", "state_jacobian_norms"]


def _pytorch_default(w: torch.Tensor, generator: torch.Generator) -> None:
    # nn.RNN's own reset_parameters: U(-1/sqrt(hidden), 1/sqrt(hidden)).
    bound = 1.0 / math.sqrt(w.shape[0])
    torch.nn.init.uniform_(w, -bound, bound, generator=generator)


SCHEMES: dict[str, Callable[[torch.Tensor, torch.Generator], object]] = {
    "pytorch default": _pytorch_default,
    "gaussian 1/n": lambda w, g: torch.nn.init.normal_(w, 0.0, 1.0 / math.sqrt(w.shape[1]),
                                                       generator=g),
    "xavier uniform": lambda w, g: torch.nn.init.xavier_uniform_(w, generator=g),
    "he normal": lambda w, g: torch.nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    "orthogonal": lambda w, g: torch.nn.init.orthogonal_(w, generator=g),
    "identity": lambda w, g: torch.nn.init.eye_(w),
}


def recurrent_weight(scheme: str, n: int, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """``scale`` times an ``n x n`` matrix drawn by ``scheme`` (a key of :data:`SCHEMES`), float64."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not np.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale!r}")
    weight = torch.empty(int(n), int(n), dtype=torch.float64)
    SCHEMES[scheme](weight, torch.Generator().manual_seed(int(seed)))
    return scale * weight.numpy()


def state_jacobian_norms(step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         h0, inputs) -> np.ndarray:
    """Spectral norms ``||dh_t/dh_0||_2`` for ``t = 0..T`` (entry 0 is 1).

    ``step(h, x) -> h_next`` maps a batch of states ``(batch, d)`` and one input ``(d_in,)`` to the
    next states ``(batch, d)``, each row on its own (as ``nn.RNNCell`` and friends do); ``h0`` is
    ``(d,)`` and ``inputs`` ``(T, d_in)``. Each one-step Jacobian comes from one backward pass
    through ``d`` copies of the state; the product is accumulated with later Jacobians on the
    left, in the dtype of ``h0``.
    """
    h = torch.as_tensor(h0)
    xs = torch.as_tensor(inputs, dtype=h.dtype)
    if h.dim() != 1:
        raise ValueError(f"h0 must be a state vector (d,), got shape {tuple(h.shape)}")
    if xs.dim() != 2:
        raise ValueError(f"inputs must be (T, d_in), got shape {tuple(xs.shape)}")
    d = h.shape[0]
    product = torch.eye(d, dtype=h.dtype)
    norms = [1.0]
    for x in xs:
        copies = h.detach().expand(d, d).clone().requires_grad_(True)
        nxt = step(copies, x)
        if nxt.shape != copies.shape:
            raise ValueError(f"step must map states (batch, d) = {tuple(copies.shape)} to states "
                             f"of the same shape, got {tuple(nxt.shape)}")
        # Row i of the gradient of sum_i nxt[i, i] is d nxt_i / d h: the Jacobian's row i.
        (jacobian,) = torch.autograd.grad(nxt.diagonal().sum(), copies)
        h = nxt[0].detach()
        product = jacobian @ product
        norms.append(float(torch.linalg.matrix_norm(product, ord=2)))
    return np.array(norms)
