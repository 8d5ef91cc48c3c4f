"""course_utils.probes against slow, independent references.

The reference for ``||dL/dh_t||`` restarts the computation at ``h_t``: it makes a fresh leaf with
the value of ``h_t``, runs the model's own (fused) forward over the remaining inputs from there,
and does one backward per time step. It shares nothing with the probe's single tracked pass.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils import probes

T, B, D_IN, H = 6, 3, 4, 5


def make(kind: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    module = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU, "RNNCell": nn.RNNCell,
              "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}[kind](D_IN, H, **kwargs)
    with torch.no_grad():  # larger weights than the default init make the decay pronounced
        for name, p in module.named_parameters():
            if "weight" in name:
                p.mul_(2.0)
    return module.double()


def inputs(batch_first: bool = False, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, D_IN, generator=g, dtype=torch.float64)
    return x.transpose(0, 1).contiguous() if batch_first else x


def fused_states(module: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """Every state (h_t,) / (h_t, c_t), t = 0..T, time-major and batched, with no graph."""
    with torch.no_grad():
        if isinstance(module, nn.LSTMCell):
            h = c = torch.zeros(x.shape[1], H, dtype=x.dtype)
            states = [(h, c)]
            for x_t in x:
                h, c = module(x_t, (h, c))
                states.append((h, c))
            return states
        if isinstance(module, (nn.RNNCell, nn.GRUCell)):
            h = torch.zeros(x.shape[1], H, dtype=x.dtype)
            states = [(h,)]
            for x_t in x:
                h = module(x_t, h)
                states.append((h,))
            return states
        states = [tuple(torch.zeros(module.num_layers, x.shape[1], H, dtype=x.dtype)
                        for _ in range(2 if isinstance(module, nn.LSTM) else 1))]
        for t in range(1, x.shape[0] + 1):
            _, state = module(x[:t])
            states.append(tuple(state) if isinstance(state, tuple) else (state,))
        return states


def continue_from(module: nn.Module, x_rest: torch.Tensor, state: tuple) -> torch.Tensor:
    """Top-layer outputs (len(x_rest), B, H) of the model started at ``state``."""
    if isinstance(module, (nn.RNNCell, nn.GRUCell, nn.LSTMCell)):
        outs = []
        s = state if isinstance(module, nn.LSTMCell) else state[0]
        for x_t in x_rest:
            s = module(x_t, s)
            outs.append(s[0] if isinstance(module, nn.LSTMCell) else s)
        return torch.stack(outs) if outs else x_rest.new_zeros(0, x_rest.shape[1], H)
    if len(x_rest) == 0:
        return x_rest.new_zeros(0, x_rest.shape[1], H)
    out, _ = module(x_rest, state if isinstance(module, nn.LSTM) else state[0])
    return out


def reference_norms(module, x_time_major, loss_of_time_major, part: int = 0) -> np.ndarray:
    """One backward per time step: ||dL/d(state part)_t|| for t = 0..T."""
    states = fused_states(module, x_time_major)
    norms = []
    for t in range(len(states)):
        leaves = tuple(s.clone().requires_grad_(True) for s in states[t])
        top = leaves[0] if leaves[0].dim() == 2 else leaves[0][-1]
        before = [s[0] if s[0].dim() == 2 else s[0][-1] for s in states[1:t]]
        pieces = [torch.stack(before)] if before else []
        pieces += [top.unsqueeze(0)] if t > 0 else []
        pieces.append(continue_from(module, x_time_major[t:], leaves))
        outputs = torch.cat(pieces)
        (grad,) = torch.autograd.grad(loss_of_time_major(outputs), leaves[part],
                                      allow_unused=True)
        norms.append(0.0 if grad is None else grad.norm().item())
    return np.array(norms)


KINDS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_pass_matches_per_step_reference_default_loss(kind):
    module, x = make(kind), inputs()
    got = probes.state_gradient_norms(module, x)
    expected = reference_norms(module, x, lambda out: out[-1].sum())
    assert got.shape == (T + 1,)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert got[-1] == pytest.approx(np.sqrt(B * H))  # dL/dh_T is the vector of ones


@pytest.mark.parametrize("kind", KINDS)
def test_one_pass_matches_reference_for_a_sum_of_per_step_losses(kind):
    module, x = make(kind), inputs()
    target = torch.linspace(-1, 1, H, dtype=torch.float64)

    def loss(out):
        return ((out - target) ** 2).sum()

    got = probes.state_gradient_norms(module, x, loss_fn=loss)
    np.testing.assert_allclose(got, reference_norms(module, x, loss), rtol=1e-10)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_batch_first_and_two_layers(kind):
    module = make(kind, batch_first=True, num_layers=2)
    x = inputs(batch_first=True)

    def loss(out):  # (B, T, H) for batch_first: the last step is out[:, -1]
        return out[:, -1].pow(2).sum()

    got = probes.state_gradient_norms(module, x, loss_fn=loss)
    module_tm = make(kind, num_layers=2)
    module_tm.load_state_dict(module.state_dict())
    expected = reference_norms(module_tm, x.transpose(0, 1), lambda out: out[-1].pow(2).sum())
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("kind", ["LSTM", "LSTMCell"])
def test_lstm_cell_state_and_both(kind):
    module, x = make(kind), inputs()
    loss = lambda out: out.sum()  # noqa: E731
    hidden = probes.state_gradient_norms(module, x, loss_fn=loss)
    cell = probes.state_gradient_norms(module, x, loss_fn=loss, state="cell")
    both = probes.state_gradient_norms(module, x, loss_fn=loss, state="both")
    np.testing.assert_allclose(cell, reference_norms(module, x, loss, part=1), rtol=1e-10)
    np.testing.assert_allclose(both, np.hypot(hidden, cell), rtol=1e-12)
    assert cell[-1] == 0.0  # c_T feeds nothing that the loss sees


def test_unbatched_and_per_example_agree_with_batched():
    module, x = make("GRU"), inputs()
    per_example = probes.state_gradient_norms(module, x, per_example=True)
    assert per_example.shape == (T + 1, B)
    np.testing.assert_allclose(np.sqrt((per_example**2).sum(axis=1)),
                               probes.state_gradient_norms(module, x), rtol=1e-12)
    for b in range(B):
        np.testing.assert_allclose(probes.state_gradient_norms(module, x[:, b]),
                                   per_example[:, b], rtol=1e-12)


def test_h0_is_used_and_not_modified():
    module, x = make("LSTM"), inputs()
    h0 = (torch.full((1, B, H), 0.3, dtype=torch.float64), torch.zeros(1, B, H,
                                                                        dtype=torch.float64))
    before = h0[0].clone()
    loss = lambda out: out.sum()  # noqa: E731
    got = probes.state_gradient_norms(module, x, h0=h0, loss_fn=loss)
    assert torch.equal(h0[0], before) and not h0[0].requires_grad
    assert not np.allclose(got, probes.state_gradient_norms(module, x, loss_fn=loss))
    # fused reference started from the same h0
    leaf = tuple(s.clone().requires_grad_(True) for s in h0)
    out, _ = module(x, leaf)
    (g,) = torch.autograd.grad(loss(out), leaf[0])
    assert got[0] == pytest.approx(g.norm().item(), rel=1e-10)


def test_parameter_grads_untouched_by_default_and_accumulated_on_request():
    module, x = make("RNN"), inputs()
    probes.state_gradient_norms(module, x)
    assert all(p.grad is None for p in module.parameters())
    norms = probes.state_gradient_norms(module, x, accumulate_param_grads=True)
    np.testing.assert_allclose(norms, probes.state_gradient_norms(module, x), rtol=1e-12)
    reference = make("RNN")
    out, _ = reference(x)
    out[-1].sum().backward()
    for p, q in zip(module.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_finite_difference_on_a_tiny_rnn():
    module, x = make("RNNCell"), inputs()
    states = fused_states(module, x)
    got = probes.state_gradient_norms(module, x)
    t, eps = 2, 1e-6
    grad = np.zeros((B, H))
    for b in range(B):
        for i in range(H):
            values = []
            for sign in (1, -1):
                h = states[t][0].clone()
                h[b, i] += sign * eps
                with torch.no_grad():
                    for x_t in x[t:]:
                        h = module(x_t, h)
                values.append(h.sum().item())
            grad[b, i] = (values[0] - values[1]) / (2 * eps)
    assert got[t] == pytest.approx(np.linalg.norm(grad), rel=1e-6)


def test_vanilla_rnn_jacobians_are_diag_times_w():
    module, x = make("RNNCell"), inputs()
    jac = probes.trajectory_jacobians(module, x, sample=1)
    assert jac.shape == (T, H, H)
    states = fused_states(module, x)
    for t in range(1, T + 1):
        h_t = states[t][0][1]
        torch.testing.assert_close(jac[t - 1], torch.diag(1 - h_t**2) @ module.weight_hh)


def test_lstm_jacobians_against_autograd_of_the_cell():
    module, x = make("LSTM"), inputs()
    cell = nn.LSTMCell(D_IN, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(module, f"{name}_l0"))
    jac = probes.trajectory_jacobians(module, x)
    assert jac.shape == (T, 2 * H, 2 * H)
    h = c = torch.zeros(1, H, dtype=torch.float64)
    for t in range(T):
        def step(flat, x_t=x[t, :1]):
            h_new, c_new = cell(x_t, (flat[:H].reshape(1, H), flat[H:].reshape(1, H)))
            return torch.cat([h_new.reshape(-1), c_new.reshape(-1)])
        expected = torch.autograd.functional.jacobian(step, torch.cat([h.reshape(-1),
                                                                       c.reshape(-1)]))
        torch.testing.assert_close(jac[t], expected)
        with torch.no_grad():
            h, c = cell(x[t, :1], (h, c))


def test_spectra_singular_and_eigen():
    module, x = make("GRUCell"), inputs()
    jac = probes.trajectory_jacobians(module, x).numpy()
    sv = probes.jacobian_spectra(module, x)
    ev = probes.jacobian_spectra(module, x, kind="eigen")
    assert sv.shape == ev.shape == (T, H) and ev.dtype == np.complex128
    np.testing.assert_allclose(sv[:, 0], np.linalg.norm(jac, ord=2, axis=(1, 2)), rtol=1e-10)
    assert np.all(np.diff(sv, axis=1) <= 0) and np.all(np.diff(np.abs(ev), axis=1) <= 1e-12)
    for t in range(T):
        np.testing.assert_allclose(np.sort_complex(ev[t]), np.sort_complex(
            np.linalg.eigvals(jac[t])), rtol=1e-8)
    assert np.all(np.abs(ev[:, 0]) <= sv[:, 0] + 1e-12)  # spectral radius <= spectral norm


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda m, x: probes.state_gradient_norms(nn.Linear(4, 5).double(), x), TypeError,
     "model must be"),
    (lambda m, x: probes.state_gradient_norms(nn.RNN(4, 5, bidirectional=True).double(), x),
     ValueError, "bidirectional"),
    (lambda m, x: probes.state_gradient_norms(m, x.float()), TypeError, "dtype"),
    (lambda m, x: probes.state_gradient_norms(m, x.numpy()), TypeError, "torch.Tensor"),
    (lambda m, x: probes.state_gradient_norms(m, x[..., :3]), ValueError, "input_size"),
    (lambda m, x: probes.state_gradient_norms(m, x[:0]), ValueError, "at least one time step"),
    (lambda m, x: probes.state_gradient_norms(m, x[None]), ValueError, "inputs must be"),
    (lambda m, x: probes.state_gradient_norms(m, x, state="cell"), ValueError, "LSTM"),
    (lambda m, x: probes.state_gradient_norms(m, x, state="h"), ValueError, "state must be"),
    (lambda m, x: probes.state_gradient_norms(m, x, loss_fn=lambda o: o), ValueError, "scalar"),
    (lambda m, x: probes.state_gradient_norms(m, x, loss_fn=lambda o: o.detach().sum()),
     ValueError, "does not depend"),
    (lambda m, x: probes.state_gradient_norms(m, x, loss_fn="mse"), TypeError, "callable"),
    (lambda m, x: probes.state_gradient_norms(m, x, h0=torch.zeros(2, B, H,
                                                                   dtype=torch.float64)),
     ValueError, "h0 has shape"),
    (lambda m, x: probes.jacobian_spectra(m, x, kind="eig"), ValueError, "kind"),
    (lambda m, x: probes.trajectory_jacobians(m, x, sample=B), ValueError, "sample"),
])
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call(make("RNN"), inputs())


@pytest.mark.parametrize("kwargs", [{"nonlinearity": "relu", "num_layers": 2},
                                    {"proj_size": 3, "num_layers": 2}, {"bias": False}])
def test_module_variants_match_the_fused_forward(kwargs):
    kind = "LSTM" if "proj_size" in kwargs else "RNN"
    module, x = make(kind, **kwargs), inputs()
    leaf = tuple(torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in (
        [(2, B, 3), (2, B, H)] if kind == "LSTM" else [(module.num_layers, B, H)]))
    out, _ = module(x, leaf if kind == "LSTM" else leaf[0])
    (g0,) = torch.autograd.grad(out[-1].sum(), leaf[0])
    got = probes.state_gradient_norms(module, x)
    assert got[0] == pytest.approx(g0.norm().item(), rel=1e-10)
    assert got[-1] == pytest.approx(np.sqrt(B * out.shape[-1]))


def test_dropout_between_layers_is_applied_only_in_training():
    module, x = make("GRU", num_layers=2, dropout=0.5), inputs()
    module.eval()
    eval_norms = probes.state_gradient_norms(module, x)
    np.testing.assert_allclose(eval_norms, probes.state_gradient_norms(module, x))
    module.train()
    torch.manual_seed(3)
    assert not np.allclose(probes.state_gradient_norms(module, x), eval_norms)


def test_benchmark_approaches_agree_on_a_short_sequence():
    from benchmarks import gradient_probe

    model, x = gradient_probe._model_and_inputs(6)
    np.testing.assert_allclose(gradient_probe.one_pass(model, x),
                               gradient_probe.per_step(model, x), rtol=1e-5)


def test_gradient_norms_at_for_a_user_loop_with_a_readout():
    cell, x = make("LSTMCell"), inputs()
    torch.manual_seed(5)
    readout = nn.Linear(H, 2).double()
    h = torch.zeros(B, H, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(B, H, dtype=torch.float64, requires_grad=True)
    states, loss = [(h, c)], 0.0
    for x_t in x:
        h, c = cell(x_t, (h, c))
        states.append((h, c))
        loss = loss + readout(h).pow(2).sum()
    got = probes.gradient_norms_at(loss, [s[0] for s in states], retain_graph=True)
    per_example = probes.gradient_norms_at(loss, [s[0] for s in states], per_example=True)
    assert got.shape == (T + 1,) and per_example.shape == (T + 1, B)

    def loss_of(out):
        return readout(out).pow(2).sum()

    np.testing.assert_allclose(got, reference_norms(cell, x, loss_of), rtol=1e-10)
    np.testing.assert_allclose(np.sqrt((per_example**2).sum(axis=1)), got, rtol=1e-12)


@pytest.mark.parametrize(("states", "loss", "error", "match"), [
    (lambda h: [h], lambda h: h, ValueError, "scalar"),
    (lambda h: [], lambda h: h.sum(), ValueError, "non-empty"),
    (lambda h: [h.detach()], lambda h: h.sum(), ValueError, "requires_grad"),
    (lambda h: [h.detach().numpy()], lambda h: h.sum(), TypeError, "not a tensor"),
    (lambda h: [h[0]], lambda h: h.sum(), ValueError, r"\(\.\.\., B, H\)"),
])
def test_gradient_norms_at_rejects_bad_input(states, loss, error, match):
    h = torch.ones(B, H, requires_grad=True) * 2
    with pytest.raises(error, match=match):
        probes.gradient_norms_at(loss(h), states(h), per_example=True)
