"""A small, deterministic training loop (introduced in notebook 04; used again in 05-08).

::

    result = train_model(model, make_batch, steps=env.sized(full=2000, fast=100),
                         loss="cross_entropy", optimizer="adam", lr=1e-3, clip_norm=1.0, seed=0)
    result.losses        # (n,) loss before each update
    result.grad_norms    # (n,) total gradient norm before clipping (L2 over all parameters)
    result.diverged_at   # None, or the step whose loss or gradient was NaN/inf (training stopped)

``make_batch(step, rng) -> (inputs, targets)`` is written by the caller (the data of a task belongs
to the notebook that teaches it). ``rng`` is a ``numpy.random.Generator`` seeded from ``seed``, so
the same seed gives the same batches. ``inputs`` and ``targets`` may be numpy arrays or tensors.

Losses (``loss=``):

- ``"cross_entropy"``: outputs ``(batch, T, C)`` against integer targets ``(batch, T)`` -- the
  mean over every position -- or targets ``(batch,)`` against the last step's outputs;
- ``"mse"``: outputs ``(batch, T, k)`` against float targets of the same shape, or targets
  ``(batch, k)`` against the last step's outputs;
- a callable ``loss(outputs, targets) -> scalar tensor`` for anything else.

Optimizer: ``"sgd"`` or ``"adam"`` with ``lr`` (extra keyword arguments in ``optimizer_kwargs``,
e.g. ``{"momentum": 0.9}``), or an already built ``torch.optim.Optimizer``.

Clipping: ``clip_norm=c`` rescales the gradients with ``torch.nn.utils.clip_grad_norm_(params, c)``
before every update (``None``: no clipping). The recorded norm is always the one *before*
clipping, so ``result.grad_norms`` shows what the clipping had to deal with.

Divergence: when a loss or the gradient norm is NaN or inf, the step is recorded, no update is
made, training stops and ``result.diverged_at`` holds that step (the weights stay finite).

Hooks: ``on_backward(step, model)`` runs after ``backward()`` and before clipping and the update
(read or edit ``p.grad`` there); ``callback(step, model, outputs, targets) -> dict | None`` runs
after every ``callback_every``-th update, its numbers are collected in ``result.metrics`` with the
steps in ``result.metric_steps``.

A ``tqdm.auto`` progress bar shows the step and the current loss; ``progress=False`` hides it.
Step counts are the caller's: pass ``env.sized(full=..., fast=...)`` so that ``COURSE_FAST=1``
shrinks them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = ["LOSSES", "OPTIMIZERS", "TrainResult", "compute_loss", "train_model", "total_grad_norm"]

LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "adam")


@dataclass
class TrainResult:
    """What :func:`train_model` measured. Arrays have one entry per step that ran."""

    losses: np.ndarray
    grad_norms: np.ndarray
    diverged_at: int | None
    clip_norm: float | None
    seconds: float
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    metric_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def steps(self) -> int:
        """Number of updates made (a diverged step makes none)."""
        return len(self.losses) - (self.diverged_at is not None)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def clipped_fraction(self) -> float:
        """Fraction of the updates whose gradient was rescaled by the clipping."""
        if self.clip_norm is None or self.steps == 0:
            return 0.0
        return float(np.mean(self.grad_norms[:self.steps] > self.clip_norm))

    def __str__(self) -> str:
        status = (f"diverged at step {self.diverged_at}" if self.diverged
                  else f"final loss {self.losses[-1]:.4g}" if len(self.losses) else "no steps")
        clip = "no clipping" if self.clip_norm is None else \
            f"clip_norm={self.clip_norm:g} (clipped {self.clipped_fraction:.0%} of steps)"
        return f"{self.steps} updates in {self.seconds:.1f} s, {clip}, {status}"


def total_grad_norm(parameters) -> torch.Tensor:
    """L2 norm of all gradients together (parameters without a gradient are skipped)."""
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def compute_loss(outputs: torch.Tensor, targets, loss: str | Callable = "cross_entropy"
                 ) -> torch.Tensor:
    """The loss of ``outputs`` ``(batch, T, k)`` against ``targets`` (see the module docstring)."""
    if callable(loss):
        return loss(outputs, targets)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")
    if outputs.dim() != 3:
        raise ValueError(f"outputs must be (batch, T, k), got shape {tuple(outputs.shape)}")
    targets = torch.as_tensor(targets)
    batch, T, k = outputs.shape
    if loss == "cross_entropy":
        if targets.dtype.is_floating_point or targets.dtype == torch.bool:
            raise ValueError(f"cross_entropy needs integer class targets, got {targets.dtype}")
        if tuple(targets.shape) == (batch, T):
            return nn.functional.cross_entropy(outputs.reshape(batch * T, k),
                                               targets.reshape(-1).long())
        if tuple(targets.shape) == (batch,):
            return nn.functional.cross_entropy(outputs[:, -1], targets.long())
        raise ValueError(f"cross_entropy targets must be (batch, T) = {(batch, T)} or "
                         f"(batch,) = {(batch,)}; got {tuple(targets.shape)}")
    targets = targets.float()
    if tuple(targets.shape) == (batch, T, k):
        return nn.functional.mse_loss(outputs, targets)
    if tuple(targets.shape) == (batch, k):
        return nn.functional.mse_loss(outputs[:, -1], targets)
    raise ValueError(f"mse targets must be (batch, T, k) = {(batch, T, k)} or (batch, k) = "
                     f"{(batch, k)}; got {tuple(targets.shape)}")


def _make_optimizer(model: nn.Module, optimizer, lr: float, kwargs) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a torch.optim.Optimizer, "
                         f"got {optimizer!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]
    return cls(model.parameters(), lr=lr, **(kwargs or {}))


def train_model(model: nn.Module, make_batch: Callable[[int, np.random.Generator], tuple],
                *, steps: int, loss: str | Callable = "cross_entropy",
                optimizer: str | torch.optim.Optimizer = "adam", lr: float = 1e-3,
                optimizer_kwargs: dict | None = None, clip_norm: float | None = None,
                seed: int = 0, progress: bool = True, description: str | None = None,
                on_backward: Callable[[int, nn.Module], None] | None = None,
                callback: Callable[..., dict | None] | None = None,
                callback_every: int = 1) -> TrainResult:
    """Train ``model`` for ``steps`` updates on batches from ``make_batch``; see the module
    docstring. Returns a :class:`TrainResult`."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if clip_norm is not None and (isinstance(clip_norm, bool)
                                  or not isinstance(clip_norm, (int, float, np.number))
                                  or not clip_norm > 0 or not np.isfinite(clip_norm)):
        raise ValueError(f"clip_norm must be a positive finite number or None, got {clip_norm!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(callback_every, bool) or not isinstance(callback_every, (int, np.integer)) \
            or callback_every < 1:
        raise ValueError(f"callback_every must be a positive integer, got {callback_every!r}")
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")
    if not callable(make_batch):
        raise ValueError("make_batch must be a function make_batch(step, rng) -> "
                         "(inputs, targets)")
    opt = _make_optimizer(model, optimizer, lr, optimizer_kwargs)
    params = [p for p in model.parameters() if p.requires_grad]
    rng = np.random.default_rng(int(seed))
    losses, norms = [], []
    metrics: dict[str, list[float]] = {}
    metric_steps: list[int] = []
    diverged_at = None
    from tqdm.auto import tqdm

    started = time.perf_counter()
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))  # dropout and other torch randomness inside the model
        bar = tqdm(range(int(steps)), desc=description, disable=not progress, leave=True)
        for step in bar:
            inputs, targets = make_batch(step, rng)
            outputs = model(inputs)
            value = compute_loss(outputs, targets, loss)
            opt.zero_grad(set_to_none=True)
            value.backward()
            if on_backward is not None:
                on_backward(step, model)
            if clip_norm is None:
                norm = total_grad_norm(params)
            else:
                norm = torch.nn.utils.clip_grad_norm_(params, float(clip_norm))
            losses.append(float(value.detach()))
            norms.append(float(norm))
            if not (np.isfinite(losses[-1]) and np.isfinite(norms[-1])):
                diverged_at = step
                bar.set_postfix_str(f"non-finite at step {step}: stopped")
                break
            opt.step()
            if callback is not None and (step + 1) % callback_every == 0:
                with torch.no_grad():
                    reported = callback(step, model, outputs.detach(), targets)
                if reported:
                    metric_steps.append(step)
                    for name, number in reported.items():
                        metrics.setdefault(name, []).append(float(number))
            if step % 10 == 0 or step == steps - 1:
                bar.set_postfix(loss=f"{losses[-1]:.4g}")
        bar.close()
    return TrainResult(losses=np.array(losses, dtype=float), grad_norms=np.array(norms, dtype=float),
                       diverged_at=diverged_at, clip_norm=None if clip_norm is None
                       else float(clip_norm), seconds=time.perf_counter() - started,
                       metrics={k: np.array(v) for k, v in metrics.items()},
                       metric_steps=np.array(metric_steps, dtype=int))
