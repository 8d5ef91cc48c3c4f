"""A small network of linear recurrent units (introduced in notebook 09).

The Linear Recurrent Unit of Orvieto et al. (2023) keeps the recurrence linear and diagonal,

    h_t = lambda * h_{t-1} + gamma * (B x_t),      y_t = Re(C h_t) + D * x_t,

with complex eigenvalues ``lambda`` and every nonlinearity in a per-step readout (here a GELU and a
gated linear unit, GLU). :class:`LRUNetwork` stacks such layers with pre-layer normalisation and
residual connections between a linear encoder and a linear readout at every step, as in the paper
(their Figure 1), at the size of a CPU experiment.

Notebook 09 asks students to write the pieces that define the unit -- the eigenvalue map, the
ring initialisation and the normalisation -- so this module does not hold them: the network is
*given* those three functions when it is built::

    net = LRUNetwork(vocab_size=10, output_size=10, eigenvalues=lru_eigenvalues,
                     ring=lambda n, rng: ring_init(n, 0.9, 0.999, np.pi, rng), gamma=lru_gamma,
                     seed=0)

- ``eigenvalues(nu_log, theta_log)``: torch tensors -> complex tensor, differentiable;
- ``ring(n, rng)``: ``n`` initial eigenvalues (a complex numpy array) drawn with ``rng``;
- ``gamma(lam)``: the initial normalisation of each eigenvalue (a real numpy array); as in the
  paper's code it is then trained (stored as its logarithm).

The recurrence itself runs as a causal convolution with the kernel ``lambda**t`` computed by FFT
(the convolutional view of S4, Gu et al. 2022): the same numbers as the loop to float32 rounding,
and fast on a CPU for the lengths of the copy task. ``layer_eigenvalues()`` returns the current
eigenvalues of every layer.

:func:`ring_explorer` draws a ring initialisation on the unit circle with the gradient norm
``|lambda|**d`` and the memory horizon it implies (:func:`radius_horizon`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection
from torch import nn

__all__ = ["LRULayer", "LRUNetwork", "causal_linear_recurrence", "radius_horizon", "ring_explorer"]


def causal_linear_recurrence(lam: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``h_t = lam * h_{t-1} + u_t`` from ``h_0 = 0`` for ``u`` ``(batch, T, n)`` (complex) and
    ``lam`` ``(n,)`` (complex, nonzero); returns ``(h_1, ..., h_T)`` ``(batch, T, n)``.

    Computed as the convolution ``h_t = sum_s lam**(t - s) u_s`` by FFT (zero-padded to at least 2T, so it
    is causal and not circular).
    """
    if u.dim() != 3 or lam.dim() != 1 or u.shape[-1] != lam.shape[0]:
        raise ValueError(f"u must be (batch, T, n) and lam (n,); got {tuple(u.shape)} and "
                         f"{tuple(lam.shape)}")
    length = u.shape[1]
    steps = torch.arange(length, dtype=lam.real.dtype, device=lam.device)
    kernel = torch.exp(steps[:, None] * torch.log(lam)[None, :])  # (T, n): lam**t
    size = 1 << (2 * length - 1).bit_length()  # >= 2T: causal, not circular; a power of 2
    spectrum = torch.fft.fft(u, n=size, dim=1) * torch.fft.fft(kernel, n=size, dim=0)[None]
    return torch.fft.ifft(spectrum, n=size, dim=1)[:, :length]


class LRULayer(nn.Module):
    """One LRU block: LayerNorm -> linear recurrent unit -> GELU -> GLU, plus the residual."""

    def __init__(self, d_model: int, d_state: int, *, eigenvalues: Callable, ring: Callable,
                 gamma: Callable, rng: np.random.Generator) -> None:
        super().__init__()
        self.eigenvalues = eigenvalues
        lam = np.asarray(ring(d_state, rng))
        if lam.shape != (d_state,) or not np.iscomplexobj(lam):
            raise ValueError(f"ring(n, rng) must return n = {d_state} complex eigenvalues, got "
                             f"{lam.dtype} array of shape {lam.shape}")
        phase = np.mod(np.angle(lam), 2 * np.pi)
        if not np.all((np.abs(lam) > 0) & (np.abs(lam) < 1) & (phase > 0)):
            raise ValueError("initial eigenvalues need 0 < |lambda| < 1 and a phase in (0, 2 pi) "
                             "to be written as exp(-exp(nu) + i exp(theta))")
        gam = np.asarray(gamma(lam), dtype=float)
        self.norm = nn.LayerNorm(d_model)
        self.nu_log = nn.Parameter(torch.tensor(np.log(-np.log(np.abs(lam))), dtype=torch.float32))
        self.theta_log = nn.Parameter(torch.tensor(np.log(phase), dtype=torch.float32))
        self.gamma_log = nn.Parameter(torch.tensor(np.log(gam), dtype=torch.float32))
        # Glorot-like complex B and C, as in the paper's code: variance 1/(2 fan_in) per part.
        self.B_re = nn.Parameter(torch.tensor(rng.normal(0, (2 * d_model) ** -0.5,
                                                         (d_state, d_model)), dtype=torch.float32))
        self.B_im = nn.Parameter(torch.tensor(rng.normal(0, (2 * d_model) ** -0.5,
                                                         (d_state, d_model)), dtype=torch.float32))
        self.C_re = nn.Parameter(torch.tensor(rng.normal(0, d_state ** -0.5, (d_model, d_state)),
                                              dtype=torch.float32))
        self.C_im = nn.Parameter(torch.tensor(rng.normal(0, d_state ** -0.5, (d_model, d_state)),
                                              dtype=torch.float32))
        self.D = nn.Parameter(torch.tensor(rng.normal(0, 1, d_model), dtype=torch.float32))
        self.glu = nn.Linear(d_model, 2 * d_model)

    def lam(self) -> torch.Tensor:
        return self.eigenvalues(self.nu_log, self.theta_log)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.norm(x)
        B = torch.complex(self.B_re, self.B_im)
        C = torch.complex(self.C_re, self.C_im)
        u = (z.to(B.dtype) @ B.T) * torch.exp(self.gamma_log)
        h = causal_linear_recurrence(self.lam(), u)
        y = (h @ C.T).real + self.D * z
        return x + nn.functional.glu(self.glu(nn.functional.gelu(y)), dim=-1)


class LRUNetwork(nn.Module):
    """One-hot tokens -> linear encoder -> ``n_layers`` LRU blocks -> linear readout per step.

    ``model(tokens)`` takes token ids ``(batch, T)`` (numpy or torch) and returns logits
    ``(batch, T, output_size)``; it plugs into ``training.train_model`` like ``SequenceModel``.
    ``seed`` fixes every initial weight (the eigenvalues are drawn by ``ring`` from a numpy
    generator seeded with it).
    """

    def __init__(self, *, vocab_size: int, output_size: int, eigenvalues: Callable,
                 ring: Callable, gamma: Callable, d_model: int = 64, d_state: int = 64,
                 n_layers: int = 2, seed: int | None = None) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("output_size", output_size),
                            ("d_model", d_model), ("d_state", d_state), ("n_layers", n_layers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.vocab_size = int(vocab_size)
        rng = np.random.default_rng(seed)
        forked = torch.random.fork_rng(devices=[]) if seed is not None else nullcontext()
        with forked:
            if seed is not None:
                torch.manual_seed(int(seed))
            self.encoder = nn.Linear(vocab_size, d_model)
            self.layers = nn.ModuleList(
                LRULayer(d_model, d_state, eigenvalues=eigenvalues, ring=ring, gamma=gamma,
                         rng=rng) for _ in range(n_layers))
            self.norm = nn.LayerNorm(d_model)
            self.readout = nn.Linear(d_model, output_size)

    def forward(self, inputs) -> torch.Tensor:
        tokens = torch.as_tensor(inputs)
        if tokens.dim() != 2 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"inputs must be integer token ids (batch, T), got shape "
                             f"{tuple(tokens.shape)} and dtype {tokens.dtype}")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}")
        x = self.encoder(nn.functional.one_hot(tokens.long(), self.vocab_size).float())
        for layer in self.layers:
            x = layer(x)
        return self.readout(self.norm(x))

    def layer_eigenvalues(self) -> list[np.ndarray]:
        """The current eigenvalues of every layer (complex numpy arrays)."""
        with torch.no_grad():
            return [layer.lam().detach().cpu().numpy().astype(complex) for layer in self.layers]


# ----------------------------------------------------------------------------- the explorer


def radius_horizon(radius: float, threshold: float = 1e-3) -> float:
    """The largest distance d with ``radius**d >= threshold``: ``floor(ln threshold / ln radius)``
    for 0 < radius < 1, infinite for radius >= 1, 0 for radius 0 (notebook 06's horizon for a
    gradient that shrinks by ``radius`` per step)."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold!r}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius!r}")
    if radius >= 1:
        return float("inf")
    if radius == 0:
        return 0.0
    return float(np.floor(np.log(threshold) / np.log(radius)))


def ring_explorer(sample: Callable, r_min: float = 0.9, r_max: float = 0.999,
                  max_phase: float = np.pi, distance: int = 1000, threshold: float = 1e-3,
                  n: int = 128):
    """The eigenvalues of a ring initialisation and the memory they imply (notebook 09).

    ``sample(n, r_min, r_max, max_phase)`` draws the eigenvalues (the notebook passes the
    student's ``ring_init`` with a fixed generator). Left: the eigenvalues, the ring and the phase
    sector on the unit circle. Right: the gradient norm ``|lambda|**d`` against the distance d for
    the ring's edges and every sampled eigenvalue, on a log scale, with the ``threshold`` and the
    memory horizons it implies (in the title). Returns the Figure.
    """
    if not 0 <= r_min <= r_max <= 1:
        raise ValueError(f"need 0 <= r_min <= r_max <= 1, got r_min={r_min}, r_max={r_max}")
    if not 0 < max_phase <= 2 * np.pi:
        raise ValueError(f"max_phase must lie in (0, 2 pi], got {max_phase!r}")
    if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)) or distance < 1:
        raise ValueError(f"distance must be a positive integer, got {distance!r}")
    lam = np.asarray(sample(n, r_min, r_max, max_phase))
    fig, (ax_circle, ax_decay) = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained",
                                              gridspec_kw={"width_ratios": [1, 1.5]})
    angle = np.linspace(0, 2 * np.pi, 400)
    ax_circle.plot(np.cos(angle), np.sin(angle), color="0.3", lw=1)
    sector = np.linspace(0, max_phase, 200)
    ax_circle.fill(np.concatenate([r_max * np.cos(sector), r_min * np.cos(sector[::-1])]),
                   np.concatenate([r_max * np.sin(sector), r_min * np.sin(sector[::-1])]),
                   color="C0", alpha=0.15, lw=0)
    ax_circle.plot(lam.real, lam.imag, ".", color="C0", ms=4)
    ax_circle.set(aspect="equal", xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), xlabel="Re lambda",
                  ylabel="Im lambda", title=f"{len(lam)} eigenvalues\n|lambda| in "
                                            f"[{r_min:g}, {r_max:g}], phase in [0, {max_phase:.2f}]")
    d = np.arange(distance + 1)
    norms = np.power(np.abs(lam)[:, None], d[None, :].astype(float))  # (n, distance + 1)
    ax_decay.add_collection(LineCollection(  # one artist for all samples: quick to redraw
        np.stack([np.broadcast_to(d, norms.shape), np.maximum(norms, 1e-300)], axis=-1),
        colors="C0", linewidths=0.5, alpha=0.25))
    for r, style, label in ((r_max, "-", "r_max"), (r_min, "--", "r_min")):
        ax_decay.plot(d, np.power(r, d.astype(float)), "k" + style, lw=1.5,
                      label=f"{label} = {r:g}")
    ax_decay.axhline(threshold, color="C3", ls=":", label=f"threshold {threshold:g}")
    low, high = radius_horizon(r_min, threshold), radius_horizon(r_max, threshold)
    ax_decay.set(yscale="log", ylim=(1e-12, 2), xlabel="distance d (steps back)",
                 ylabel="gradient norm |lambda|^d",
                 title=f"memory horizon: {low:g} (r_min) to {high:g} (r_max) steps")
    ax_decay.legend(fontsize=8, loc="lower left")
    return fig
