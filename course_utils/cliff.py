"""The one-unit recurrent network of Pascanu, Mikolov and Bengio (2013) (introduced in notebook 04).

The unit has no input: ``x_t = w * sigmoid(x_{t-1}) + b`` from a fixed ``x_0``, and the loss asks
the state after ``steps`` steps to hit a target, ``(x_steps - target)**2``. For ``w`` above 4 and
``b`` in a window around ``-w/2`` the map has two stable fixed points; crossing the line in the
``(w, b)`` plane where the orbit switches from one to the other (where the unstable fixed point
passes through ``x_0``) changes ``x_steps`` abruptly, and the error surface has a "cliff": a thin
wall where the gradient is orders of magnitude larger than anywhere nearby.

:func:`cliff_loss` evaluates the surface (vectorised over grids of ``w`` and ``b``);
:func:`cliff_descent` runs gradient descent on it, optionally with ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["CLIFF_START", "DescentPath", "cliff_descent", "cliff_loss"]

# A start on the high plateau from which plain gradient descent walks into the wall (notebook 04).
CLIFF_START = (7.0, -4.75)


def cliff_loss(w, b, steps: int = 20, x0: float = 0.5, target: float = 0.7):
    """``(x_steps - target)**2`` for the one-unit RNN, elementwise over broadcastable ``w``, ``b``.

    Tensors in, a tensor out (differentiable); numpy arrays or floats in, a numpy array out.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    as_numpy = not (isinstance(w, torch.Tensor) or isinstance(b, torch.Tensor))
    w_t = torch.as_tensor(w, dtype=torch.float64)
    b_t = torch.as_tensor(b, dtype=torch.float64)
    x = torch.full(torch.broadcast_shapes(w_t.shape, b_t.shape), float(x0), dtype=torch.float64)
    for _ in range(int(steps)):
        x = w_t * torch.sigmoid(x) + b_t
    loss = (x - target) ** 2
    return loss.detach().numpy() if as_numpy else loss


@dataclass(frozen=True)
class DescentPath:
    """Points ``(n + 1, 2)`` visited by gradient descent, the loss at each point and the gradient
    norm (before clipping) at each of the ``n`` steps."""

    points: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray


def cliff_descent(start=CLIFF_START, lr: float = 0.02, n_steps: int = 60,
                  max_norm: float | None = None, steps: int = 20) -> DescentPath:
    """Gradient descent on :func:`cliff_loss` from ``start = (w, b)``.

    ``max_norm`` clips each gradient with ``torch.nn.utils.clip_grad_norm_`` (None: no clipping).
    Stops early if the parameters stop being finite.
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if max_norm is not None and not (np.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be a positive finite number or None, got {max_norm!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    params = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    if params.shape != (2,):
        raise ValueError(f"start must be a pair (w, b), got {start!r}")
    points, losses, norms = [params.detach().clone()], [], []
    for _ in range(int(n_steps)):
        params.grad = None
        loss = cliff_loss(params[0], params[1], steps=steps)
        loss.backward()
        losses.append(loss.item())
        if max_norm is None:
            norms.append(params.grad.norm().item())
        else:
            norms.append(torch.nn.utils.clip_grad_norm_([params], max_norm).item())
        with torch.no_grad():
            params -= lr * params.grad
        points.append(params.detach().clone())
        if not torch.isfinite(params).all():
            break
    final = points[-1]
    losses.append(cliff_loss(final[0], final[1], steps=steps).item())
    return DescentPath(points=torch.stack(points).numpy(), losses=np.array(losses),
                       grad_norms=np.array(norms))
