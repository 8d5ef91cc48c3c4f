"""course_utils.models: shapes, inputs, initialisation and unrolling against torch's own modules."""

import numpy as np
import pytest
import torch

from course_utils.models import KINDS, RECURRENT_INITS, OrthogonalRNN, SequenceModel


def tokens(batch=3, T=6, vocab=5, seed=0):
    return torch.randint(0, vocab, (batch, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes_and_states_match_the_torch_module(kind):
    model = SequenceModel(kind, vocab_size=5, hidden_size=7, output_size=4, seed=0)
    x = tokens()
    outputs, states = model(x, return_states=True)
    assert outputs.shape == (3, 6, 4) and states.shape == (3, 6, 7)
    expected_states, _ = model.recurrent(torch.nn.functional.one_hot(x, 5).float())
    torch.testing.assert_close(states, expected_states)
    torch.testing.assert_close(outputs, model.readout(expected_states))


@pytest.mark.parametrize("kind", KINDS)
def test_unroll_equals_forward_and_gives_full_state_gradients(kind):
    model = SequenceModel(kind, input_size=2, hidden_size=5, output_size=1, seed=1)
    x = torch.randn(2, 8, 2, generator=torch.Generator().manual_seed(0))
    outputs, states = model.unroll(x)
    torch.testing.assert_close(outputs, model(x), rtol=1e-5, atol=1e-6)
    assert len(states) == 9 and torch.all(states[0] == 0)
    loss = outputs[:, -1].sum()
    grads = torch.autograd.grad(loss, states)
    # A loss on the last output reaches h_0 only through the recurrence: the full gradient is
    # nonzero, and it equals the gradient with respect to an explicit h0 of the fused module.
    h0 = torch.zeros(1, 2, 5, requires_grad=True)
    if kind == "lstm":
        out, _ = model.recurrent(x, (h0, torch.zeros(1, 2, 5)))
    else:
        out, _ = model.recurrent(x, h0)
    (expected,) = torch.autograd.grad(model.readout(out)[:, -1].sum(), h0)
    torch.testing.assert_close(grads[0], expected[0], rtol=1e-5, atol=1e-7)
    assert grads[0].abs().sum() > 0


def test_embedding_and_one_hot_encoders():
    one_hot = SequenceModel("gru", vocab_size=6, hidden_size=4, output_size=2, seed=0)
    embedded = SequenceModel("gru", vocab_size=6, embedding_dim=3, hidden_size=4, output_size=2,
                             seed=0)
    assert one_hot.encoder is None and one_hot.recurrent.input_size == 6
    assert embedded.encoder.weight.shape == (6, 3) and embedded.recurrent.input_size == 3
    x = tokens(vocab=6)
    assert embedded(x).shape == (3, 6, 2)
    assert one_hot(x.numpy()).shape == (3, 6, 2)  # numpy inputs are converted


def test_seed_gives_reproducible_weights_without_touching_global_state():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = SequenceModel("lstm", vocab_size=4, hidden_size=6, output_size=3, seed=7)
    assert torch.equal(torch.rand(1), expected_next)
    b = SequenceModel("lstm", vocab_size=4, hidden_size=6, output_size=3, seed=7)
    c = SequenceModel("lstm", vocab_size=4, hidden_size=6, output_size=3, seed=8)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.weight_hh, c.weight_hh)


@pytest.mark.parametrize("kind", KINDS)
def test_orthogonal_init_gives_orthogonal_blocks(kind):
    model = SequenceModel(kind, input_size=1, hidden_size=8, output_size=1,
                          recurrent_init="orthogonal", seed=0)
    for block in model.recurrent_blocks().values():
        torch.testing.assert_close(block @ block.T, torch.eye(8), atol=1e-5, rtol=0)


def test_orthogonal_recurrence_stays_orthogonal_through_training_and_keeps_unroll_exact():
    model = SequenceModel("rnn", vocab_size=5, hidden_size=6, output_size=5,
                          recurrent_init="orthogonal", orthogonal_recurrence=True, seed=0)
    start = model.weight_hh.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    tokens = torch.randint(0, 5, (3, 7), generator=torch.Generator().manual_seed(0))
    for _ in range(5):
        optimizer.zero_grad()
        model(tokens).square().mean().backward()
        optimizer.step()
    weight = model.weight_hh.detach()
    assert not torch.allclose(weight, start, atol=1e-3), "the optimizer did not move W_hh"
    torch.testing.assert_close(weight @ weight.T, torch.eye(6), atol=1e-5, rtol=0)
    outputs, states = model.unroll(tokens)
    torch.testing.assert_close(outputs, model(tokens), atol=1e-6, rtol=1e-5)
    grads = torch.autograd.grad(outputs.sum(), states)
    assert all(torch.isfinite(g).all() for g in grads)


def test_identity_init_with_scale_and_zero_bias_is_an_irnn():
    model = SequenceModel("rnn", input_size=2, hidden_size=5, output_size=1, nonlinearity="relu",
                          recurrent_init="identity", recurrent_scale=0.5, bias=0.0, seed=0)
    assert model.recurrent.nonlinearity == "relu"
    torch.testing.assert_close(model.weight_hh.detach(), 0.5 * torch.eye(5))
    assert torch.all(model.recurrent.bias_ih_l0 == 0) and torch.all(model.recurrent.bias_hh_l0 == 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("radius", [0.5, 2.0])
def test_recurrent_radius_sets_each_blocks_spectral_radius(kind, radius):
    model = SequenceModel(kind, input_size=1, hidden_size=10, output_size=1, seed=3,
                          recurrent_init="normal", recurrent_radius=radius)
    for block in model.recurrent_blocks().values():
        rho = np.max(np.abs(np.linalg.eigvals(block.double().numpy())))
        assert rho == pytest.approx(radius, rel=1e-5)


def test_normal_init_has_variance_one_over_n():
    model = SequenceModel("rnn", input_size=1, hidden_size=200, output_size=1,
                          recurrent_init="normal", seed=0)
    assert model.weight_hh.var().item() == pytest.approx(1 / 200, rel=0.05)


def test_callable_init_is_applied_to_each_gate_block():
    model = SequenceModel("gru", input_size=1, hidden_size=3, output_size=1,
                          recurrent_init=lambda w: torch.nn.init.constant_(w, 0.25), seed=0)
    assert torch.all(model.weight_hh == 0.25) and model.weight_hh.shape == (9, 3)


def test_forget_bias_sets_the_total_forget_gate_bias_only():
    model = SequenceModel("lstm", vocab_size=3, hidden_size=4, output_size=2, forget_bias=1.0,
                          seed=0)
    total = (model.recurrent.bias_ih_l0 + model.recurrent.bias_hh_l0).detach()
    torch.testing.assert_close(total[4:8], torch.ones(4))
    reference = SequenceModel("lstm", vocab_size=3, hidden_size=4, output_size=2, seed=0)
    ref_total = (reference.recurrent.bias_ih_l0 + reference.recurrent.bias_hh_l0).detach()
    torch.testing.assert_close(total[:4], ref_total[:4])
    torch.testing.assert_close(total[8:], ref_total[8:])
    # forget gate at zero input and state: sigmoid(1) ~ 0.73 instead of ~0.5
    gates = model.recurrent.bias_ih_l0 + model.recurrent.bias_hh_l0
    assert torch.sigmoid(gates[4:8]).detach().mean().item() == pytest.approx(0.7311, abs=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "transformer", "vocab_size": 3}, "kind must be one of"),
    ({"kind": "rnn"}, "exactly one of"),
    ({"kind": "rnn", "vocab_size": 3, "input_size": 2}, "exactly one of"),
    ({"kind": "lstm", "vocab_size": 3, "nonlinearity": "relu"}, "kind='rnn' only"),
    ({"kind": "rnn", "vocab_size": 3, "nonlinearity": "sigmoid"}, "nonlinearity"),
    ({"kind": "gru", "vocab_size": 3, "forget_bias": 1.0}, "forget_bias"),
    ({"kind": "rnn", "vocab_size": 3, "recurrent_init": "he"}, "recurrent_init"),
    ({"kind": "rnn", "vocab_size": 3, "recurrent_radius": -1.0}, "recurrent_radius"),
    ({"kind": "rnn", "vocab_size": 3, "hidden_size": 0}, "hidden_size"),
    ({"kind": "rnn", "input_size": 3, "embedding_dim": 4}, "embedding_dim"),
    ({"kind": "rnn", "vocab_size": 3, "recurrent_init": lambda w: torch.nn.init.zeros_(w),
      "recurrent_radius": 1.0}, "spectral radius 0"),
    ({"kind": "lstm", "vocab_size": 3, "orthogonal_recurrence": True}, "kind='rnn' only"),
    ({"kind": "rnn", "vocab_size": 3, "orthogonal_recurrence": True, "recurrent_radius": 0.9},
     "cannot be combined"),
    ({"kind": "rnn", "vocab_size": 3, "orthogonal_recurrence": "yes"}, "True or False"),
])
def test_bad_arguments_raise_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SequenceModel(output_size=2, **kwargs)


def test_bad_inputs_raise_clear_value_errors():
    token_model = SequenceModel("rnn", vocab_size=4, hidden_size=3, output_size=2, seed=0)
    float_model = SequenceModel("rnn", input_size=2, hidden_size=3, output_size=2, seed=0)
    with pytest.raises(ValueError, match="integer tensor"):
        token_model(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="lie in 0..3"):
        token_model(torch.full((2, 5), 4))
    with pytest.raises(ValueError, match=r"\(batch, T, 2\)"):
        float_model(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"\(batch, T, 2\)"):
        float_model(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="h0 must have shape"):
        float_model(torch.zeros(2, 5, 2), h0=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="num_layers=1"):
        SequenceModel("rnn", input_size=2, output_size=1, num_layers=2).unroll(torch.zeros(1, 3, 2))


def test_every_named_init_builds():
    for name in RECURRENT_INITS:
        model = SequenceModel("rnn", input_size=1, hidden_size=4, output_size=1,
                              recurrent_init=name, seed=0)
        assert torch.isfinite(model.weight_hh).all()


# ----------------------------------------------------------------------------- OrthogonalRNN


def _orthogonal_rnn_oracle(model, x):
    """The recurrence written out from the model's weights, one step at a time."""
    W, U, b = model.weight_hh.detach(), model.input.weight.detach(), model.input.bias.detach()
    beta = model.modrelu_bias.detach()
    h, states = torch.zeros(x.shape[0], model.hidden_size), []
    for t in range(x.shape[1]):
        z = h @ W.T + torch.nn.functional.one_hot(x[:, t], model.vocab_size).float() @ U.T + b
        h = z if model.activation == "linear" else torch.sign(z) * torch.clamp(z.abs() + beta, min=0)
        states.append(h)
    return model.readout(torch.stack(states, 1)).detach(), states


@pytest.mark.parametrize("activation", ["linear", "modrelu"])
def test_orthogonal_rnn_computes_its_recurrence(activation):
    model = OrthogonalRNN(vocab_size=5, output_size=4, hidden_size=6, activation=activation, seed=3)
    with torch.no_grad():
        model.modrelu_bias.fill_(-0.3)  # a dead zone, so modReLU differs from the identity
    x = tokens(T=7)
    expected, expected_states = _orthogonal_rnn_oracle(model, x)
    outputs, states = model.unroll(x)
    torch.testing.assert_close(outputs.detach(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model(x).detach(), expected, rtol=1e-5, atol=1e-6)
    assert len(states) == 8 and torch.equal(states[0], torch.zeros(3, 6))
    zeroed = sum((s.detach() == 0).sum().item() for s in states[1:])
    assert (zeroed > 0) == (activation == "modrelu")


def test_linear_orthogonal_rnn_carries_the_gradient_back_without_loss():
    # h_t = W h_{t-1} + ...: dL/dh_k = (W^T)^(t-k) dL/dh_t, and W is orthogonal, so for a loss on
    # h_T alone every dL/dh_t has the same norm.
    model = OrthogonalRNN(vocab_size=5, output_size=4, hidden_size=8, activation="linear", seed=0)
    _, states = model.unroll(tokens(T=30))
    grads = torch.autograd.grad((states[-1] * torch.arange(8.0)).sum(), states)
    norms = torch.stack([g.norm() for g in grads])
    torch.testing.assert_close(norms, torch.full_like(norms, norms[-1].item()), rtol=1e-4, atol=0)


def test_orthogonal_rnn_stays_orthogonal_and_seeds_reproduce():
    from course_utils import training

    model = OrthogonalRNN(vocab_size=4, output_size=4, hidden_size=6, activation="modrelu", seed=1)
    again = OrthogonalRNN(vocab_size=4, output_size=4, hidden_size=6, activation="modrelu", seed=1)
    torch.testing.assert_close(model.weight_hh, again.weight_hh)
    before = model.modrelu_bias.detach().clone()

    def batches(step, rng):
        x = rng.integers(0, 4, size=(8, 10))
        return x, np.roll(x, 3, axis=1)
    training.train_model(model, batches, steps=30, lr=0.05, seed=0, progress=False)
    W = model.weight_hh.detach().double()
    torch.testing.assert_close(W.T @ W, torch.eye(6, dtype=torch.float64), atol=1e-5, rtol=0)
    assert not torch.equal(model.modrelu_bias.detach(), before)  # the modReLU bias is learned
    linear = OrthogonalRNN(vocab_size=4, output_size=4, hidden_size=6, activation="linear", seed=1)
    assert not linear.modrelu_bias.requires_grad


def test_orthogonal_rnn_refuses_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="activation must be one of"):
        OrthogonalRNN(vocab_size=4, output_size=4, activation="tanh")
    with pytest.raises(ValueError, match="hidden_size"):
        OrthogonalRNN(vocab_size=4, output_size=4, hidden_size=0)
    model = OrthogonalRNN(vocab_size=4, output_size=4, hidden_size=3)
    with pytest.raises(ValueError, match="token ids must lie in 0..3"):
        model(torch.tensor([[0, 4]]))
    with pytest.raises(ValueError, match="integer tensor"):
        model(torch.zeros(2, 3))
