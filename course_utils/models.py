"""Sequence models for the training experiments (introduced in notebook 04; used again in 05-08).

One class, :class:`SequenceModel`, wraps PyTorch's fused recurrent modules (``nn.RNN``,
``nn.LSTM``, ``nn.GRU``) with an input encoder and a linear readout at every time step, and lets a
notebook choose how the recurrent weights start. Tensors are batch-first.

Inputs, chosen at construction (exactly one of the two):

- ``vocab_size=V``: token ids, an integer tensor ``(batch, T)`` with values in ``0..V-1``, encoded
  one-hot (the default) or by a learned ``nn.Embedding`` of size ``embedding_dim``;
- ``input_size=D``: real-valued features, a float tensor ``(batch, T, D)``.

numpy arrays are accepted and converted. The model computes in float32.

Calling the model::

    model = SequenceModel("lstm", vocab_size=10, hidden_size=64, output_size=9, seed=0)
    logits = model(tokens)                              # (batch, T, output_size)
    logits, states = model(tokens, return_states=True)  # states: (batch, T, hidden) = h_1..h_T
    logits, states = model.unroll(tokens)               # states: list of T+1 tensors (batch, hidden)

``forward`` runs the fused module (fast: use it to train). ``unroll`` runs the same weights one step
at a time and returns the hidden states as a list ``[h_0, h_1, ..., h_T]`` that are all part of the
graph, so ``torch.autograd.grad(loss, states)`` gives the full gradient ``dL/dh_t`` at every step
(through the recurrence, not only through the readout). It needs ``num_layers=1``.

Initialisation of the recurrent weights (``weight_hh``; for the LSTM and GRU each gate's
``hidden x hidden`` block separately):

- ``recurrent_init``: ``None`` keeps PyTorch's default U(-1/sqrt(H), 1/sqrt(H)); a name from
  :data:`RECURRENT_INITS` uses the matching ``torch.nn.init`` function (``"normal"`` is
  N(0, 1/H), ``"identity"`` is the identity matrix); a callable is applied in place to each block.
- ``recurrent_scale``: multiplies each block after initialisation (e.g. ``0.5`` with
  ``"identity"`` gives 0.5 I).
- ``recurrent_radius``: rescales each block to this spectral radius (largest |eigenvalue|), after
  the scale. Pascanu et al. (2013) show a radius above 1 is necessary for explosion.
- ``bias``: a constant for every bias entry (IRNN-style zero biases: ``bias=0.0``); ``None`` keeps
  PyTorch's default.
- ``forget_bias`` (LSTM only): the forget gate's total bias ``b_if + b_hf``, put in ``bias_ih``
  with ``bias_hh``'s forget slice set to 0 (Jozefowicz et al. 2015 recommend 1).

``orthogonal_recurrence=True`` (``kind="rnn"`` only) keeps ``weight_hh`` orthogonal through
training: it is registered with ``torch.nn.utils.parametrizations.orthogonal``, which stores it as
the matrix exponential of a skew-symmetric matrix (times a fixed orthogonal base), so every update
of the optimizer moves it along the orthogonal group (the orthogonal RNN of notebook 07, after
Arjovsky et al. 2016). It starts at the orthogonal factor of the initial weight, so combine it
with ``recurrent_init="orthogonal"``; ``recurrent_scale`` and ``recurrent_radius`` would break
orthogonality and are refused.

``nonlinearity`` (``"tanh"`` or ``"relu"``) applies to ``kind="rnn"`` only. ``seed`` makes the
initial weights reproducible without touching torch's global random state.

:class:`OrthogonalRNN` (notebook 07) is the orthogonal RNN with a recurrence that does not
saturate, which PyTorch's fused ``nn.RNN`` cannot express: ``h_t = act(W h_{t-1} + U x_t + b)`` with
``W`` kept orthogonal, and ``act`` the identity (``"linear"``) or a real modReLU,
``sign(z) * relu(|z| + beta)`` with a learned bias ``beta`` per unit, 0 at the start (Arjovsky et al.
2016 use the complex version, which keeps the phase and shifts the modulus). Its derivative is 1
wherever ``|z| + beta > 0``: no factor between 0 and 1 as tanh' has. A Python loop over time, so
slower than the fused modules; ``unroll`` returns the states as ``SequenceModel.unroll`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

__all__ = ["KINDS", "ORTHOGONAL_ACTIVATIONS", "RECURRENT_INITS", "OrthogonalRNN", "SequenceModel"]

KINDS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # hidden x hidden blocks stacked in weight_hh


def _init_normal(block: torch.Tensor) -> None:
    nn.init.normal_(block, mean=0.0, std=1.0 / np.sqrt(block.shape[1]))


RECURRENT_INITS: dict[str, Callable[[torch.Tensor], object]] = {
    "orthogonal": nn.init.orthogonal_,
    "identity": nn.init.eye_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": nn.init.kaiming_uniform_,
    "kaiming_normal": nn.init.kaiming_normal_,
    "normal": _init_normal,
}


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class SequenceModel(nn.Module):
    """Encoder -> ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` -> linear readout at every step.

    See the module docstring for the arguments. Attributes: ``kind``, ``hidden_size``,
    ``num_layers``, ``encoder`` (``nn.Embedding`` or ``None``), ``recurrent`` (the torch module),
    ``readout`` (``nn.Linear``).
    """

    def __init__(self, kind: str = "rnn", *, output_size: int, hidden_size: int = 64,
                 vocab_size: int | None = None, embedding_dim: int | None = None,
                 input_size: int | None = None, num_layers: int = 1,
                 nonlinearity: str = "tanh",
                 recurrent_init: str | Callable[[torch.Tensor], object] | None = None,
                 recurrent_scale: float = 1.0, recurrent_radius: float | None = None,
                 bias: float | None = None, forget_bias: float | None = None,
                 orthogonal_recurrence: bool = False, seed: int | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if (vocab_size is None) == (input_size is None):
            raise ValueError("give exactly one of vocab_size (token-id inputs) and input_size "
                             f"(float inputs); got vocab_size={vocab_size!r}, "
                             f"input_size={input_size!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        if nonlinearity != "tanh" and kind != "rnn":
            raise ValueError(f"nonlinearity applies to kind='rnn' only; {kind} has fixed gates")
        if forget_bias is not None and kind != "lstm":
            raise ValueError(f"forget_bias applies to kind='lstm' only, got kind={kind!r}")
        if isinstance(recurrent_init, str) and recurrent_init not in RECURRENT_INITS:
            raise ValueError(f"recurrent_init must be None, a callable or one of "
                             f"{sorted(RECURRENT_INITS)}; got {recurrent_init!r}")
        if recurrent_init is not None and not isinstance(recurrent_init, str) \
                and not callable(recurrent_init):
            raise ValueError(f"recurrent_init must be None, a name or a callable, "
                             f"got {recurrent_init!r}")
        recurrent_scale = _finite_float(recurrent_scale, "recurrent_scale")
        if not isinstance(orthogonal_recurrence, bool):
            raise ValueError(f"orthogonal_recurrence must be True or False, "
                             f"got {orthogonal_recurrence!r}")
        if orthogonal_recurrence and kind != "rnn":
            raise ValueError(f"orthogonal_recurrence applies to kind='rnn' only, got kind={kind!r}")
        if orthogonal_recurrence and (recurrent_scale != 1.0 or recurrent_radius is not None):
            raise ValueError("orthogonal_recurrence keeps W_hh orthogonal (every singular value 1): "
                             "recurrent_scale and recurrent_radius cannot be combined with it; got "
                             f"recurrent_scale={recurrent_scale!r}, "
                             f"recurrent_radius={recurrent_radius!r}")
        if recurrent_radius is not None and _finite_float(recurrent_radius,
                                                          "recurrent_radius") < 0:
            raise ValueError(f"recurrent_radius must be >= 0, got {recurrent_radius!r}")
        if bias is not None:
            _finite_float(bias, "bias")
        if forget_bias is not None:
            _finite_float(forget_bias, "forget_bias")

        self.kind = kind
        self.orthogonal_recurrence = orthogonal_recurrence
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.output_size = _positive_int(output_size, "output_size")
        self.num_layers = _positive_int(num_layers, "num_layers")
        self.vocab_size = None if vocab_size is None else _positive_int(vocab_size, "vocab_size")
        self.input_size = None if input_size is None else _positive_int(input_size, "input_size")
        if embedding_dim is not None and self.vocab_size is None:
            raise ValueError("embedding_dim needs token inputs (vocab_size)")

        generator_state = torch.random.fork_rng(devices=[]) if seed is not None else None
        with generator_state or nullcontext():
            if seed is not None:
                torch.manual_seed(int(seed))
            if self.vocab_size is not None and embedding_dim is not None:
                self.encoder: nn.Embedding | None = nn.Embedding(
                    self.vocab_size, _positive_int(embedding_dim, "embedding_dim"))
                features = self.encoder.embedding_dim
            else:
                self.encoder = None
                features = self.vocab_size if self.vocab_size is not None else self.input_size
            module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
            options = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
            self.recurrent = module(features, self.hidden_size, num_layers=self.num_layers,
                                    batch_first=True, **options)
            self.readout = nn.Linear(self.hidden_size, self.output_size)
            self._initialise(recurrent_init, recurrent_scale, recurrent_radius, bias,
                             forget_bias)
            if orthogonal_recurrence:
                for layer in range(self.num_layers):
                    parametrizations.orthogonal(self.recurrent, f"weight_hh_l{layer}")

    # ------------------------------------------------------------------ initialisation

    def _initialise(self, init, scale, radius, bias, forget_bias) -> None:
        chosen = RECURRENT_INITS[init] if isinstance(init, str) else init
        H = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                weight = getattr(self.recurrent, f"weight_hh_l{layer}")
                for gate in range(GATES[self.kind]):
                    block = weight[gate * H:(gate + 1) * H]
                    if chosen is not None:
                        fresh = torch.empty(H, H)
                        chosen(fresh)
                        block.copy_(fresh)
                    block.mul_(scale)
                    if radius is not None:
                        current = torch.linalg.eigvals(block.double()).abs().max().item()
                        if current == 0.0:
                            raise ValueError("cannot rescale a recurrent block with spectral "
                                             "radius 0 to recurrent_radius; choose another "
                                             "recurrent_init")
                        block.mul_(radius / current)
                if bias is not None:
                    getattr(self.recurrent, f"bias_ih_l{layer}").fill_(bias)
                    getattr(self.recurrent, f"bias_hh_l{layer}").fill_(bias)
                if forget_bias is not None:  # PyTorch's LSTM gate order: i, f, g, o
                    getattr(self.recurrent, f"bias_ih_l{layer}")[H:2 * H].fill_(forget_bias)
                    getattr(self.recurrent, f"bias_hh_l{layer}")[H:2 * H].fill_(0.0)

    @property
    def weight_hh(self) -> torch.Tensor:
        """The first layer's recurrent weight (for the LSTM/GRU, the gate blocks stacked)."""
        return self.recurrent.weight_hh_l0

    def recurrent_blocks(self, layer: int = 0) -> dict[str, torch.Tensor]:
        """The ``hidden x hidden`` blocks of ``weight_hh`` by gate name (views, detached)."""
        names = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[self.kind]
        weight = getattr(self.recurrent, f"weight_hh_l{layer}").detach()
        H = self.hidden_size
        return {name: weight[k * H:(k + 1) * H] for k, name in enumerate(names)}

    # ------------------------------------------------------------------ forward

    def encode(self, inputs) -> torch.Tensor:
        """Check ``inputs`` and turn them into float features ``(batch, T, features)``."""
        x = torch.as_tensor(inputs)
        if self.vocab_size is not None:
            if x.dim() != 2 or x.dtype.is_floating_point or x.dtype == torch.bool:
                raise ValueError(f"token inputs must be an integer tensor (batch, T); got shape "
                                 f"{tuple(x.shape)} and dtype {x.dtype}")
            if x.numel() and (x.min() < 0 or x.max() >= self.vocab_size):
                raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}; got values in "
                                 f"{x.min().item()}..{x.max().item()}")
            x = x.long()
            if self.encoder is not None:
                return self.encoder(x)
            return nn.functional.one_hot(x, self.vocab_size).float()
        if x.dim() != 3 or x.shape[-1] != self.input_size or not x.dtype.is_floating_point:
            raise ValueError(f"float inputs must be a float tensor (batch, T, {self.input_size});"
                             f" got shape {tuple(x.shape)} and dtype {x.dtype}")
        return x.float()

    def _check_h0(self, h0, batch: int, stacked: bool) -> torch.Tensor | None:
        if h0 is None:
            return None
        h0 = torch.as_tensor(h0, dtype=torch.float32)
        expected = (self.num_layers, batch, self.hidden_size) if stacked \
            else (batch, self.hidden_size)
        if tuple(h0.shape) != expected:
            raise ValueError(f"h0 must have shape {expected}, got {tuple(h0.shape)}")
        return h0

    def forward(self, inputs, h0=None, return_states: bool = False):
        """Outputs ``(batch, T, output_size)``; with ``return_states`` also the top layer's hidden
        states ``(batch, T, hidden)`` (h_1..h_T). ``h0``: ``(num_layers, batch, hidden)`` or None
        (zeros); for the LSTM the initial cell state is zero."""
        x = self.encode(inputs)
        h0 = self._check_h0(h0, x.shape[0], stacked=True)
        if h0 is not None and self.kind == "lstm":
            h0 = (h0, torch.zeros_like(h0))
        states, _ = self.recurrent(x, h0)
        outputs = self.readout(states)
        return (outputs, states) if return_states else outputs

    def unroll(self, inputs, h0=None):
        """Run step by step; return ``(outputs, states)`` with ``states = [h_0, ..., h_T]``.

        Every ``states[t]`` (``(batch, hidden)``) feeds both the readout at step t and the next
        step, so ``torch.autograd.grad(loss, states)`` gives the full ``dL/dh_t``. ``h_0`` is
        ``h0`` (``(batch, hidden)``) or zeros, made to require grad when it does not already.
        """
        if self.num_layers != 1:
            raise ValueError(f"unroll needs num_layers=1, the model has {self.num_layers}")
        x = self.encode(inputs)
        batch = x.shape[0]
        h = self._check_h0(h0, batch, stacked=False)
        if h is None:
            h = torch.zeros(batch, self.hidden_size)
        if not h.requires_grad:
            h = h.clone().requires_grad_(True)
        c = torch.zeros(1, batch, self.hidden_size)
        states = [h]
        # An orthogonal W_hh is computed from its parametrisation once for the whole loop.
        with parametrize.cached() if self.orthogonal_recurrence else nullcontext():
            for t in range(x.shape[1]):
                hx = states[-1].unsqueeze(0)
                if self.kind == "lstm":
                    _, (hx, c) = self.recurrent(x[:, t:t + 1], (hx, c))
                else:
                    _, hx = self.recurrent(x[:, t:t + 1], hx)
                states.append(hx[0])
        outputs = self.readout(torch.stack(states[1:], dim=1))
        return outputs, states


ORTHOGONAL_ACTIVATIONS = ("linear", "modrelu")


class OrthogonalRNN(nn.Module):
    """``h_t = act(W h_{t-1} + U x_t + b)`` with ``W`` orthogonal throughout training, token inputs
    (one-hot), a linear readout at every step. See the module docstring.

    vocab_size, output_size, hidden_size: positive ints. activation: ``"linear"`` or
    ``"modrelu"``. seed: makes the initial weights reproducible (``W`` starts Haar-orthogonal).
    Calling the model on token ids ``(batch, T)`` gives logits ``(batch, T, output_size)``.
    """

    def __init__(self, *, vocab_size: int, output_size: int, hidden_size: int = 64,
                 activation: str = "modrelu", seed: int | None = None) -> None:
        super().__init__()
        if activation not in ORTHOGONAL_ACTIVATIONS:
            raise ValueError(f"activation must be one of {ORTHOGONAL_ACTIVATIONS}, "
                             f"got {activation!r}")
        self.vocab_size = _positive_int(vocab_size, "vocab_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.output_size = _positive_int(output_size, "output_size")
        self.activation = activation
        generator_state = torch.random.fork_rng(devices=[]) if seed is not None else None
        with generator_state or nullcontext():
            if seed is not None:
                torch.manual_seed(int(seed))
            self.input = nn.Linear(self.vocab_size, self.hidden_size)
            self.recurrent = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
            nn.init.orthogonal_(self.recurrent.weight)
            self.readout = nn.Linear(self.hidden_size, self.output_size)
        self.modrelu_bias = nn.Parameter(torch.zeros(self.hidden_size),
                                         requires_grad=activation == "modrelu")
        parametrizations.orthogonal(self.recurrent, "weight")

    @property
    def weight_hh(self) -> torch.Tensor:
        """The recurrent matrix ``W`` (orthogonal)."""
        return self.recurrent.weight

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        if self.activation == "linear":
            return z
        return torch.sign(z) * torch.relu(z.abs() + self.modrelu_bias)

    def encode(self, inputs) -> torch.Tensor:
        """Token ids ``(batch, T)`` -> one-hot float features ``(batch, T, vocab_size)``."""
        x = torch.as_tensor(inputs)
        if x.dim() != 2 or x.dtype.is_floating_point or x.dtype == torch.bool:
            raise ValueError(f"token inputs must be an integer tensor (batch, T); got shape "
                             f"{tuple(x.shape)} and dtype {x.dtype}")
        if x.numel() and (x.min() < 0 or x.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in 0..{self.vocab_size - 1}; got values in "
                             f"{x.min().item()}..{x.max().item()}")
        return nn.functional.one_hot(x.long(), self.vocab_size).float()

    def unroll(self, inputs):
        """``(outputs, states)`` with ``states = [h_0, ..., h_T]`` in the graph (``h_0 = 0``,
        made to require grad), so ``torch.autograd.grad(loss, states)`` gives every ``dL/dh_t``."""
        drive = self.input(self.encode(inputs))
        h = torch.zeros(drive.shape[0], self.hidden_size, requires_grad=True)
        states = [h]
        with parametrize.cached():  # W from its parametrisation once per sequence
            weight = self.recurrent.weight
            for t in range(drive.shape[1]):
                states.append(self._act(states[-1] @ weight.T + drive[:, t]))
        return self.readout(torch.stack(states[1:], dim=1)), states

    def forward(self, inputs) -> torch.Tensor:
        return self.unroll(inputs)[0]
