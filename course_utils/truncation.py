"""Truncated backpropagation through time, fixed or randomized (introduced in notebook 02).

A tanh RNN is run step by step; before each step the gradient that flows back into the previous
state is multiplied by a *cut factor*::

    h_t = tanh(W_ih x_t + b_ih + W_hh h'_{t-1} + b_hh),   h'_{t-1} = stop(h) + f_t * (h - stop(h))

``h'`` has the value of ``h`` (the forward pass never changes) and passes ``f_t`` times the gradient
back. The factors (:func:`cut_factors`) give the three ways of training:

- ``"full"``: every factor 1, full BPTT;
- ``"fixed"``: 0 every ``k`` steps and 1 elsewhere, back-to-back chunks of ``k`` steps (the cut of
  ``h.detach()`` between chunks);
- ``"randomized"``: independently for every step and sequence, 1/p with probability p = 1 - 1/k
  and 0 otherwise (Tallec and Ollivier, 2017): cuts every ``k`` steps on average, and every path's
  expected weight is 1, so the expected gradient is the full one.

The whole graph is kept in every case: this shows what truncation does to the gradient (its bias
and its variance), not the memory it saves.

:func:`train_delayed_echo` trains such an RNN with a linear readout on the delayed-echo task
(``y_t = x_{t - delay}``, ``x_t ~ N(0, 1)``, mean squared error on the steps ``t >= delay``, so
predicting 0 scores 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["KINDS", "EchoRun", "cut_factors", "delayed_echo_batch", "run_with_cuts",
           "train_delayed_echo"]

KINDS = ("full", "fixed", "randomized")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def cut_factors(kind: str, seq_len: int, batch_size: int, k: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Cut factors ``(seq_len, batch_size, 1)`` for ``kind`` in :data:`KINDS` (module docstring).

    ``k`` is the chunk length (``"fixed"``) or the mean distance between cuts (``"randomized"``,
    keep probability ``1 - 1/k``; ``k = 1`` cuts every step). Factor ``t`` scales the gradient
    into the state before step ``t`` (0-based), so a fixed cut falls before steps 0, k, 2k, ...
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    seq_len, batch_size = _positive_int(seq_len, "seq_len"), _positive_int(batch_size, "batch_size")
    k = _positive_int(k, "k")
    factors = torch.ones(seq_len, batch_size, 1)
    if kind == "fixed":
        factors[::k] = 0.0
    elif kind == "randomized":
        keep = 1.0 - 1.0 / k
        if keep == 0.0:
            return torch.zeros(seq_len, batch_size, 1)
        drawn = torch.rand(seq_len, batch_size, 1, generator=generator)
        factors = torch.where(drawn < keep, 1.0 / keep, 0.0)
    return factors


def run_with_cuts(cell: nn.RNNCell, inputs: torch.Tensor, factors: torch.Tensor,
                  h0: torch.Tensor | None = None) -> torch.Tensor:
    """States ``(T, batch, hidden)`` of ``cell`` over ``inputs`` ``(T, batch, input)``, with the
    gradient into each previous state scaled by ``factors[t]`` (values are those of a plain run)."""
    if not isinstance(cell, nn.RNNCell):
        raise ValueError(f"cell must be a torch.nn.RNNCell, got {type(cell).__name__}")
    if inputs.ndim != 3 or inputs.shape[2] != cell.input_size:
        raise ValueError(f"inputs must have shape (T, batch, {cell.input_size}), "
                         f"got {tuple(inputs.shape)}")
    if factors.shape[:2] != inputs.shape[:2]:
        raise ValueError(f"factors must have shape {tuple(inputs.shape[:2])} + (1,), "
                         f"got {tuple(factors.shape)}")
    h = (torch.zeros(inputs.shape[1], cell.hidden_size, dtype=inputs.dtype) if h0 is None
         else h0)
    states = []
    for x, factor in zip(inputs, factors, strict=True):
        stopped = h.detach()
        h = cell(x, stopped + factor * (h - stopped))
        states.append(h)
    return torch.stack(states)


def delayed_echo_batch(rng: np.random.Generator, delay: int, seq_len: int,
                       batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)``, both ``(seq_len, batch_size, 1)`` float32: x_t ~ N(0, 1) and
    ``targets[t] = inputs[t - delay]`` (0 for t < delay)."""
    delay = _positive_int(delay, "delay")
    if _positive_int(seq_len, "seq_len") <= delay:
        raise ValueError(f"seq_len must exceed delay = {delay}, got {seq_len!r}")
    x = rng.normal(size=(seq_len, _positive_int(batch_size, "batch_size"), 1))
    y = np.zeros_like(x)
    y[delay:] = x[:-delay]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


@dataclass(frozen=True)
class EchoRun:
    """One training run: the loss before every update, and the loss on ``n_eval`` held-out
    sequences after training (both relative to predicting 0, which scores 1)."""

    kind: str
    seed: int
    losses: np.ndarray
    final_loss: float
    seconds: float


def train_delayed_echo(kind: str, *, delay: int = 15, k: int = 10, seq_len: int = 40,
                       hidden_size: int = 64, steps: int = 600, lr: float = 3e-3,
                       batch_size: int = 32, seed: int = 0, n_eval: int = 256,
                       progress: bool = True) -> EchoRun:
    """Train a tanh ``nn.RNNCell`` and a linear readout with Adam on the delayed-echo task, the
    gradient cut as ``kind`` says (:func:`cut_factors`). The same seed gives the same weights,
    batches and held-out sequences for every kind; the cuts of ``"randomized"`` are drawn from
    their own generator."""
    import time

    from tqdm.auto import tqdm

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    steps = _positive_int(steps, "steps")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        cell, readout = nn.RNNCell(1, hidden_size), nn.Linear(hidden_size, 1)
    optimizer = torch.optim.Adam([*cell.parameters(), *readout.parameters()], lr=lr)
    rng = np.random.default_rng(int(seed))
    cuts = torch.Generator().manual_seed(int(seed) + 1)
    losses = []
    for _ in tqdm(range(steps), desc=f"{kind} (seed {seed})", disable=not progress, leave=False):
        inputs, targets = delayed_echo_batch(rng, delay, seq_len, batch_size)
        factors = cut_factors(kind, seq_len, batch_size, k, generator=cuts)
        outputs = readout(run_with_cuts(cell, inputs, factors))
        loss = ((outputs[delay:] - targets[delay:]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    inputs, targets = delayed_echo_batch(np.random.default_rng([int(seed), 1]), delay, seq_len,
                                         n_eval)
    with torch.no_grad():
        outputs = readout(run_with_cuts(cell, inputs, torch.ones(seq_len, n_eval, 1)))
        final = ((outputs[delay:] - targets[delay:]) ** 2).mean().item()
    return EchoRun(kind=kind, seed=int(seed), losses=np.array(losses), final_loss=final,
                   seconds=time.perf_counter() - started)
