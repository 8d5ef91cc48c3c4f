"""Gradient probes for torch recurrent models (introduced in notebook 02; used again in 06 and 08).

Two measurements along one input sequence, for ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (any number of
layers, ``batch_first`` or not, batched or unbatched input) and for the cells ``nn.RNNCell`` /
``nn.LSTMCell`` / ``nn.GRUCell`` (the probe runs the loop over time itself):

* :func:`state_gradient_norms` -- ``||dL/dh_t||`` for every ``t = 0..T`` from ONE backward pass;
* :func:`gradient_norms_at` -- the same for the states of a loop you write yourself;
* :func:`trajectory_jacobians` and :func:`jacobian_spectra` -- the one-step Jacobians
  ``ds_t/ds_{t-1}`` along the trajectory and their singular values or eigenvalues.

Time indexing follows the course specification: ``h_0`` is the initial state and ``h_t``
the state after reading input ``t`` (``x[t-1]`` in 0-based Python), so a sequence of length ``T``
has ``T + 1`` states. To expose every ``h_t`` the model is stepped one time step at a time with its
own weights (torch's cell kernels, layer by layer), which computes what its fused forward computes.
Dropout between layers, in training mode, is applied as the module applies it.

What one backward pass saves over one backward per time step is measured on demand by
``python -m benchmarks.gradient_probe`` (a speed-up that grows linearly with ``T``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "RECURRENT_MODULES",
    "gradient_norms_at",
    "jacobian_spectra",
    "state_gradient_norms",
    "trajectory_jacobians",
]

RECURRENT_MODULES = (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell)
_STATE_CHOICES = ("hidden", "cell", "both")

State = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class _Trajectory:
    """A model stepped through one sequence, in canonical batched, time-major form."""

    states: list[State]  # T + 1 entries; each a tuple (h,) or (h, c) of canonical state tensors
    outputs: torch.Tensor  # in the model's own output layout
    time_major: torch.Tensor  # the same outputs as (T, B, H)
    step: Callable[[torch.Tensor, State], State]  # (x_t of shape (B, d_in), state) -> next state
    inputs: torch.Tensor  # (T, B, d_in)


def _is_lstm(model: nn.Module) -> bool:
    return isinstance(model, (nn.LSTM, nn.LSTMCell))


def _check_model(model: object) -> None:
    if not isinstance(model, RECURRENT_MODULES):
        names = ", ".join(f"nn.{m.__name__}" for m in RECURRENT_MODULES)
        raise TypeError(f"model must be one of {names}; got {type(model).__name__}")
    if isinstance(model, (nn.RNN, nn.LSTM, nn.GRU)) and model.bidirectional:
        raise ValueError("bidirectional models are not supported: h_t then depends on future "
                         "inputs too, and 'the state at time t' is no longer one recurrence")


def _canonical_inputs(model: nn.Module, inputs: object) -> tuple[torch.Tensor, bool]:
    """``inputs`` as ``(T, B, d_in)`` and whether the caller's input was unbatched."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if not torch.is_floating_point(inputs):
        raise TypeError(f"inputs must be floating point, got dtype {inputs.dtype}")
    dtype = next(model.parameters()).dtype
    if inputs.dtype != dtype:
        raise TypeError(f"inputs have dtype {inputs.dtype} but the model's weights are {dtype}; "
                        f"convert one of them (e.g. inputs.to({dtype}))")
    if inputs.dim() not in (2, 3):
        raise ValueError("inputs must be (T, d_in) unbatched or (T, B, d_in) "
                         "((B, T, d_in) for a batch_first module); "
                         f"got shape {tuple(inputs.shape)}")
    unbatched = inputs.dim() == 2
    x = inputs.unsqueeze(1) if unbatched else inputs
    if getattr(model, "batch_first", False) and not unbatched:
        x = x.transpose(0, 1)
    if x.shape[0] < 1:
        raise ValueError("inputs must contain at least one time step")
    if x.shape[1] < 1:
        raise ValueError("inputs must contain at least one sequence (batch size >= 1)")
    if x.shape[2] != model.input_size:
        raise ValueError(f"inputs have {x.shape[2]} features per step but the model expects "
                         f"input_size={model.input_size}")
    return x, unbatched


def _state_shapes(model: nn.Module, batch: int) -> list[tuple[int, ...]]:
    if isinstance(model, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        shape = (batch, model.hidden_size)
        return [shape, shape] if _is_lstm(model) else [shape]
    h_size = model.proj_size if getattr(model, "proj_size", 0) else model.hidden_size
    h_shape = (model.num_layers, batch, h_size)
    if _is_lstm(model):
        return [h_shape, (model.num_layers, batch, model.hidden_size)]
    return [h_shape]


def _canonical_state(model: nn.Module, h0: object, batch: int, unbatched: bool,
                     like: torch.Tensor) -> State:
    shapes = _state_shapes(model, batch)
    if h0 is None:
        return tuple(torch.zeros(s, dtype=like.dtype, device=like.device) for s in shapes)
    parts = tuple(h0) if isinstance(h0, (tuple, list)) else (h0,)
    if len(parts) != len(shapes) or not all(isinstance(p, torch.Tensor) for p in parts):
        expected = "a tuple (h0, c0) of tensors" if _is_lstm(model) else "one tensor"
        raise ValueError(f"h0 must be {expected} for {type(model).__name__}")
    state = []
    for part, shape in zip(parts, shapes, strict=True):
        tensor = part.unsqueeze(-2) if unbatched else part
        if tuple(tensor.shape) != shape:
            wanted = shape[:-2] + shape[-1:] if unbatched else shape
            raise ValueError(f"h0 has shape {tuple(part.shape)}, expected {wanted}")
        if tensor.dtype != like.dtype:
            raise TypeError(f"h0 has dtype {tensor.dtype}, expected {like.dtype}")
        state.append(tensor.detach().clone())
    return tuple(state)


def _stepper(model: nn.Module) -> Callable[[torch.Tensor, State], State]:
    if isinstance(model, nn.LSTMCell):
        def lstm_cell_step(x_t: torch.Tensor, s: State) -> State:
            h, c = model(x_t, (s[0], s[1]))
            # h = o * tanh(c) may read this very tensor c; a view gives the state its own node,
            # so that dL/dc_t means "with h_t held fixed", as for nn.LSTM (and on every device)
            return h, c.view_as(c)

        return lstm_cell_step
    if isinstance(model, (nn.RNNCell, nn.GRUCell)):
        return lambda x_t, s: (model(x_t, s[0]),)
    if getattr(model, "proj_size", 0):  # torch has no projected LSTM cell kernel: call the module
        def module_step(x_t: torch.Tensor, s: State) -> State:
            x_seq = x_t.unsqueeze(1) if model.batch_first else x_t.unsqueeze(0)
            return tuple(model(x_seq, (s[0], s[1]))[1])

        return module_step
    # A multi-layer module, stepped layer by layer with torch's own cell kernels and the module's
    # weights: the same arithmetic as its fused forward, without its per-call overhead.
    if isinstance(model, nn.LSTM):
        cell = torch.lstm_cell
    elif isinstance(model, nn.GRU):
        cell = torch.gru_cell
    else:
        cell = torch.rnn_tanh_cell if model.nonlinearity == "tanh" else torch.rnn_relu_cell
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if model.bias else [])
    weights = [[getattr(model, f"{name}_l{layer}") for name in names]
               for layer in range(model.num_layers)]
    dropout = model.dropout if model.training else 0.0

    def step(x_t: torch.Tensor, s: State) -> State:
        layer_input, hidden, cells = x_t, [], []
        for layer, layer_weights in enumerate(weights):
            if len(s) == 2:
                h, c = cell(layer_input, (s[0][layer], s[1][layer]), *layer_weights)
                cells.append(c)
            else:
                h = cell(layer_input, s[0][layer], *layer_weights)
            hidden.append(h)
            last = layer == model.num_layers - 1
            layer_input = h if last or not dropout else nn.functional.dropout(h, dropout)
        return (torch.stack(hidden), torch.stack(cells)) if cells else (torch.stack(hidden),)

    return step


def _top_hidden(model: nn.Module, state: State) -> torch.Tensor:
    """The model's output at one step, (B, H): the top layer's hidden state."""
    return state[0] if isinstance(model, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)) else state[0][-1]


def _run(model: nn.Module, inputs: torch.Tensor, h0: object, track: bool) -> _Trajectory:
    _check_model(model)
    x, unbatched = _canonical_inputs(model, inputs)
    state = _canonical_state(model, h0, x.shape[1], unbatched, x)
    if track:
        state = tuple(s.requires_grad_(True) for s in state)
    step = _stepper(model)
    states, outs = [state], []
    for x_t in x:
        state = step(x_t, state)
        states.append(state)
        outs.append(_top_hidden(model, state))
    time_major = torch.stack(outs)  # built from the states, so gradients pass through them
    outputs = time_major
    if unbatched:
        outputs = time_major.squeeze(1)
    elif getattr(model, "batch_first", False):
        outputs = time_major.transpose(0, 1)
    return _Trajectory(states=states, outputs=outputs, time_major=time_major, step=step, inputs=x)


def state_gradient_norms(model: nn.Module, inputs: torch.Tensor, *, h0: object = None,
                         loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                         state: str = "hidden", per_example: bool = False,
                         accumulate_param_grads: bool = False) -> np.ndarray:
    """``||dL/dh_t||`` for every ``t = 0..T``, from one forward and ONE backward pass.

    model: ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (unidirectional, any ``num_layers``, honouring
        ``batch_first``) or ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell`` (looped over time here).
    inputs: ``(T, B, d_in)``, or ``(B, T, d_in)`` for a ``batch_first`` module, or ``(T, d_in)``
        unbatched; the dtype of the model's weights.
    h0: the initial state as the model takes it (a tuple ``(h0, c0)`` for LSTMs); zeros if None.
        Only its value is used: the probe starts a fresh graph at ``h_0``.
    loss_fn: maps the outputs -- shaped exactly as the module's own forward returns them (for a
        cell: ``(T, B, H)``, or ``(T, H)`` unbatched) -- to a scalar tensor. By default ``L`` is the
        sum of the outputs at the LAST step only, so ``dL/dh_T`` is a vector of ones and the
        probe shows how the recurrence alone carries a fixed gradient back in time. Any loss
        works, e.g. a sum of per-step losses ``L = sum_k L_k``, whose gradient at ``h_t``
        collects the share of every step ``k >= t``.
    state: ``"hidden"`` measures ``dL/dh_t``; for LSTMs ``"cell"`` measures ``dL/dc_t`` and
        ``"both"`` the norm of the pair. The state is the pair ``s_t = (h_t, c_t)`` and each is a
        partial derivative with the other part held fixed: the gradient reaching ``c_t`` through
        ``c_{t+1}`` (the textbook total ``delta c_t`` adds ``delta h_t * o_t * tanh'(c_t)``).
    per_example: if True, one norm per sequence in the batch.
    accumulate_param_grads: if True the pass is ``loss.backward()``, which also accumulates the
        parameters' ``.grad`` (a training step and a probe in one); by default the model's
        ``.grad`` fields are left untouched.

    Returns a float64 numpy array of shape ``(T + 1,)``, or ``(T + 1, B)`` with ``per_example``;
    entry ``t`` is the norm of the gradient at ``h_t`` over all layers (and, without
    ``per_example``, over the whole batch). Entry 0 is the initial state, entry ``T`` the last.
    """
    if state not in _STATE_CHOICES:
        raise ValueError(f"state must be one of {_STATE_CHOICES}, got {state!r}")
    if state != "hidden" and not _is_lstm(model):
        raise ValueError(f"state={state!r} needs an LSTM (only LSTMs have a cell state c_t)")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    with torch.enable_grad():
        run = _run(model, inputs, h0, track=True)
        loss = run.time_major[-1].sum() if loss_fn is None else loss_fn(run.outputs)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError("loss_fn must return a scalar tensor, got "
                             f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
        if not loss.requires_grad:
            raise ValueError("loss_fn's result does not depend on the outputs "
                             "(did it detach them or convert them to numpy?)")
    if state == "both":
        tracked = run.states
    else:
        tracked = [s[0 if state == "hidden" else 1] for s in run.states]
    # canonical states are (..., B, H), also for unbatched input (B = 1)
    return gradient_norms_at(loss, tracked, per_example=per_example,
                             accumulate_param_grads=accumulate_param_grads)


def gradient_norms_at(loss: torch.Tensor, states: list, *, per_example: bool = False,
                      accumulate_param_grads: bool = False,
                      retain_graph: bool = False) -> np.ndarray:
    """``||dL/ds||`` for each tensor ``s`` in ``states``, from ONE backward pass of ``loss``.

    The tool for a loop you write yourself: collect the states as you compute them, e.g.
    ``states = [h0]`` with ``h0 = torch.zeros(B, H, requires_grad=True)``, then
    ``h = cell(x_t, h); states.append(h)`` for every step, compute ``loss`` from them, and call
    ``gradient_norms_at(loss, states)``. Entry ``t`` is the norm of the gradient arriving at
    the tensor ``states[t]`` from everything computed from it (for the ``c_t`` that an
    ``nn.LSTMCell`` returns that includes the path through its own ``h_t = o_t * tanh(c_t)``).

    loss: a scalar tensor. states: a list of tensors that are part of ``loss``'s graph (a leaf
        needs ``requires_grad=True``); an entry may be a tuple of tensors, e.g. ``(h_t, c_t)``,
        whose gradients then count together. A state the loss does not reach gets norm 0.
    per_example: with states shaped ``(..., B, H)`` (batch on the second-to-last axis, as in
        ``nn.RNNCell`` and the ``h_n`` of ``nn.RNN``), one norm per sequence.
    accumulate_param_grads: use ``loss.backward()``, which also fills the parameters' ``.grad``;
        by default parameters' ``.grad`` fields are left as they are.
    retain_graph: keep the graph for another backward pass (as in ``torch.autograd.grad``).

    Returns a float64 numpy array ``(len(states),)``, or ``(len(states), B)`` with
    ``per_example``.
    """
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("loss must be a scalar tensor, got "
                         f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
    if not loss.requires_grad:
        raise ValueError("loss does not require grad: it is not connected to the states")
    if not isinstance(states, (list, tuple)) or len(states) == 0:
        raise ValueError("states must be a non-empty list of tensors (or of tuples of tensors)")
    groups = [list(s) if isinstance(s, (tuple, list)) else [s] for s in states]
    for t, group in enumerate(groups):
        for tensor in group:
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"states[{t}] holds a {type(tensor).__name__}, not a tensor")
            if not tensor.requires_grad:
                raise ValueError(f"states[{t}] does not require grad, so no gradient can reach "
                                 "it; create the initial state with requires_grad=True")
            if per_example and tensor.dim() < 2:
                raise ValueError(f"per_example needs states shaped (..., B, H); states[{t}] "
                                 f"has shape {tuple(tensor.shape)}")
    flat = [tensor for group in groups for tensor in group]
    with torch.enable_grad():
        if accumulate_param_grads:
            for tensor in flat:
                tensor.retain_grad()
            loss.backward(retain_graph=retain_graph)
            grads = [tensor.grad for tensor in flat]
        else:
            grads = list(torch.autograd.grad(loss, flat, allow_unused=True,
                                             retain_graph=retain_graph))
    grads = [torch.zeros_like(t) if g is None else g.detach()
             for t, g in zip(flat, grads, strict=True)]
    norms, position = [], 0
    for group in groups:
        parts = grads[position:position + len(group)]
        position += len(group)
        if per_example:  # move the batch axis first and flatten the rest
            joined = torch.cat([g.movedim(-2, 0).reshape(g.shape[-2], -1) for g in parts], 1)
            norms.append(joined.to(torch.float64).norm(dim=1))
        else:
            joined = torch.cat([g.reshape(-1) for g in parts])
            norms.append(joined.to(torch.float64).norm())
    return torch.stack(norms).cpu().numpy()


def trajectory_jacobians(model: nn.Module, inputs: torch.Tensor, *, h0: object = None,
                         sample: int = 0) -> torch.Tensor:
    """The one-step Jacobians ``ds_t/ds_{t-1}`` along the trajectory of one sequence.

    ``s_t`` is the model's whole recurrent state at time ``t`` flattened to a vector: ``h_t`` of
    every layer, followed for LSTMs by ``c_t`` of every layer (size ``n``). Arguments as in
    :func:`state_gradient_norms`; ``sample`` picks the sequence of a batch.

    Returns a tensor ``(T, n, n)``: entry ``i`` is ``ds_{i+1}/ds_i``, the Jacobian of step
    ``i + 1`` evaluated where the trajectory passes (row = output unit, column = input unit).
    Computed with ``torch.autograd.functional.jacobian``.
    """
    with torch.no_grad():
        run = _run(model, inputs, h0, track=False)
    batch = run.inputs.shape[1]
    if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < batch:
        raise ValueError(f"sample must be an int in [0, {batch}), got {sample!r}")
    shapes = [s[..., sample:sample + 1, :].shape for s in run.states[0]]
    sizes = [int(np.prod(s)) for s in shapes]

    def one_step(x_t: torch.Tensor, flat_state: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat_state, sizes)
        new = run.step(x_t, tuple(p.reshape(s) for p, s in zip(parts, shapes, strict=True)))
        return torch.cat([p.reshape(-1) for p in new])

    jacobians = []
    for t in range(run.inputs.shape[0]):
        previous = torch.cat([s[..., sample:sample + 1, :].reshape(-1) for s in run.states[t]])
        x_t = run.inputs[t, sample:sample + 1]
        jacobians.append(torch.autograd.functional.jacobian(
            lambda flat, x_t=x_t: one_step(x_t, flat), previous, vectorize=True))
    return torch.stack(jacobians)


def jacobian_spectra(model: nn.Module, inputs: torch.Tensor, *, h0: object = None,
                     kind: str = "singular", sample: int = 0) -> np.ndarray:
    """Spectra of the one-step Jacobians ``ds_t/ds_{t-1}`` (see :func:`trajectory_jacobians`).

    kind: ``"singular"`` -- singular values, each row sorted in decreasing order (row ``i``,
    column 0 is the spectral norm of step ``i + 1``, the factor the Pascanu et al. (2013) bound
    uses); ``"eigen"`` -- eigenvalues (complex), each row sorted by decreasing modulus.

    Returns a numpy array ``(T, n)``: float64 for singular values, complex128 for eigenvalues.
    """
    if kind not in ("singular", "eigen"):
        raise ValueError(f"kind must be 'singular' or 'eigen', got {kind!r}")
    jacobians = trajectory_jacobians(model, inputs, h0=h0, sample=sample).detach()
    jacobians = jacobians.to(torch.float64).cpu().numpy()
    if kind == "singular":
        return np.linalg.svd(jacobians, compute_uv=False)
    eigenvalues = np.linalg.eigvals(jacobians).astype(np.complex128)
    order = np.argsort(-np.abs(eigenvalues), axis=1, kind="stable")
    return np.take_along_axis(eigenvalues, order, axis=1)
