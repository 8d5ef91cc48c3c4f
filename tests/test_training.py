"""course_utils.training: the loop against a hand-written torch loop, clipping against
clip_grad_norm_, divergence handling, determinism and argument checks."""

import numpy as np
import pytest
import torch

from course_utils.models import SequenceModel
from course_utils.training import TrainResult, compute_loss, total_grad_norm, train_model


def echo_batch(step, rng, T=12, batch=8):
    x = rng.normal(size=(batch, T, 1)).astype(np.float32)
    y = np.zeros_like(x)
    y[:, 2:] = x[:, :-2]
    return x, y


def token_batch(step, rng, T=10, batch=8, vocab=4):
    x = rng.integers(0, vocab, size=(batch, T))
    return x, np.roll(x, 1, axis=1)


def small_model(seed=0, **kwargs):
    options = {"input_size": 1, "hidden_size": 6, "output_size": 1, "seed": seed}
    options.update(kwargs)
    return SequenceModel("rnn", **options)


def reference_loop(model, make_batch, steps, lr, clip_norm, seed):
    """The plain torch loop the course's train_model must reproduce."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    norms = []
    for step in range(steps):
        x, y = make_batch(step, rng)
        loss = torch.nn.functional.mse_loss(model(torch.as_tensor(x)), torch.as_tensor(y))
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is None:
            norms.append(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item())
        else:
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm).item())
        optimizer.step()
    return norms


@pytest.mark.parametrize("clip_norm", [None, 0.05, 1e6])
def test_training_matches_a_plain_torch_loop_with_clip_grad_norm(clip_norm):
    ours, theirs = small_model(), small_model()
    result = train_model(ours, echo_batch, steps=15, loss="mse", optimizer="sgd", lr=0.5,
                         clip_norm=clip_norm, seed=3, progress=False)
    norms = reference_loop(theirs, echo_batch, 15, 0.5, clip_norm, seed=3)
    np.testing.assert_allclose(result.grad_norms, norms, rtol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert result.steps == 15 and not result.diverged


def test_clipping_caps_the_update_and_records_the_pre_clip_norm():
    model = small_model(recurrent_init="normal", recurrent_radius=3.0)
    before = [p.detach().clone() for p in model.parameters()]
    result = train_model(model, echo_batch, steps=1, loss="mse", optimizer="sgd", lr=1.0,
                         clip_norm=0.1, progress=False)
    step = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before,
                                                                         strict=True)))
    assert result.grad_norms[0] > 0.1  # the pre-clip norm, not the clipped one
    assert step.item() == pytest.approx(0.1, rel=1e-4)  # SGD step = lr * clipped gradient
    assert result.clipped_fraction == 1.0


def test_same_seed_same_run_different_seed_different_batches():
    runs = [train_model(small_model(), echo_batch, steps=5, loss="mse", lr=0.1, seed=s,
                        progress=False) for s in (0, 0, 1)]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    assert not np.array_equal(runs[0].losses, runs[2].losses)


def test_divergence_stops_cleanly_and_reports_the_step():
    model = small_model(recurrent_init="normal", recurrent_radius=3.0, hidden_size=16)
    result = train_model(model, echo_batch, steps=500, loss="mse", optimizer="sgd", lr=5.0,
                         progress=False)
    assert result.diverged and result.diverged_at == len(result.losses) - 1
    last = result.diverged_at
    assert not (np.isfinite(result.losses[last]) and np.isfinite(result.grad_norms[last]))
    assert np.all(np.isfinite(result.losses[:last]))
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no update with NaN
    assert result.steps == last and "diverged at step" in str(result)


def test_nan_loss_from_the_callable_loss_is_caught_at_its_step():
    def loss_nan_at_step_3(outputs, targets):
        value = torch.nn.functional.mse_loss(outputs, torch.as_tensor(targets))
        return value * float("nan") if loss_nan_at_step_3.calls == 3 else value

    def counting_batch(step, rng):
        loss_nan_at_step_3.calls = step
        return echo_batch(step, rng)

    result = train_model(small_model(), counting_batch, steps=10, loss=loss_nan_at_step_3,
                         progress=False)
    assert result.diverged_at == 3 and len(result.losses) == 4 and np.isnan(result.losses[3])


def test_adam_matches_torch_adam():
    ours, theirs = small_model(seed=5), small_model(seed=5)
    train_model(ours, echo_batch, steps=6, loss="mse", optimizer="adam", lr=0.01,
                seed=0, progress=False)
    optimizer = torch.optim.Adam(theirs.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for step in range(6):
        x, y = echo_batch(step, rng)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.as_tensor(x)), torch.as_tensor(y)).backward()
        optimizer.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_cross_entropy_over_all_positions_and_at_the_last_step():
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(4, 5, 3, generator=generator)
    targets = torch.randint(0, 3, (4, 5), generator=generator)
    expected = -torch.log_softmax(outputs, -1).gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(compute_loss(outputs, targets, "cross_entropy"), expected)
    last = -torch.log_softmax(outputs[:, -1], -1).gather(-1, targets[:, -1:]).mean()
    torch.testing.assert_close(compute_loss(outputs, targets[:, -1], "cross_entropy"), last)
    torch.testing.assert_close(compute_loss(outputs[..., :1], outputs[:, -1, :1] * 0, "mse"),
                               (outputs[:, -1, 0] ** 2).mean())


def test_training_with_token_inputs_lowers_the_loss():
    model = SequenceModel("gru", vocab_size=4, hidden_size=16, output_size=4, seed=0)
    result = train_model(model, token_batch, steps=60, lr=0.03, progress=False)
    assert result.losses[-5:].mean() < 0.5 * result.losses[0]


def test_hooks_see_gradients_and_collect_metrics():
    seen = []

    def zero_recurrent_grad(step, model):
        seen.append(model.weight_hh.grad.abs().sum().item())
        model.weight_hh.grad.zero_()

    def report(step, model, outputs, targets):
        return {"output_mean": outputs.mean().item()}

    model = small_model()
    start = model.weight_hh.detach().clone()
    result = train_model(model, echo_batch, steps=6, loss="mse", optimizer="sgd", lr=0.1,
                         on_backward=zero_recurrent_grad, callback=report, callback_every=2,
                         progress=False)
    assert len(seen) == 6 and all(s > 0 for s in seen)
    torch.testing.assert_close(model.weight_hh.detach(), start)  # the hook edited the gradient
    np.testing.assert_array_equal(result.metric_steps, [1, 3, 5])
    assert result.metrics["output_mean"].shape == (3,)


def test_total_grad_norm_matches_clip_grad_norm():
    model = small_model()
    x, y = echo_batch(0, np.random.default_rng(0))
    torch.nn.functional.mse_loss(model(x), torch.as_tensor(y)).backward()
    ours = total_grad_norm(model.parameters())
    reference = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
    torch.testing.assert_close(ours, reference)
    assert total_grad_norm([torch.nn.Parameter(torch.ones(2))]).item() == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"clip_norm": -1.0}, "clip_norm"),
    ({"clip_norm": 0.0}, "clip_norm"),
    ({"clip_norm": float("nan")}, "clip_norm"),
    ({"steps": -1}, "steps"),
    ({"lr": 0.0}, "lr"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"loss": "hinge"}, "loss"),
    ({"seed": -2}, "seed"),
    ({"callback_every": 0}, "callback_every"),
])
def test_bad_arguments_raise_clear_value_errors(kwargs, message):
    options = {"steps": 2, "loss": "mse", "progress": False}
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        train_model(small_model(), echo_batch, **options)


def test_mismatched_target_shapes_raise_clear_value_errors():
    with pytest.raises(ValueError, match="mse targets must be"):
        train_model(small_model(), lambda s, r: (np.zeros((2, 5, 1), np.float32),
                                                 np.zeros((2, 4, 1), np.float32)),
                    steps=1, loss="mse", progress=False)
    token_model = SequenceModel("rnn", vocab_size=3, hidden_size=4, output_size=3)
    with pytest.raises(ValueError, match="cross_entropy targets must be"):
        train_model(token_model, lambda s, r: (np.zeros((2, 5), int), np.zeros((2, 6), int)),
                    steps=1, progress=False)
    with pytest.raises(ValueError, match="integer class targets"):
        train_model(token_model, lambda s, r: (np.zeros((2, 5), int), np.zeros((2, 5))),
                    steps=1, progress=False)


def test_result_summary_and_zero_steps():
    result = train_model(small_model(), echo_batch, steps=0, loss="mse", progress=False)
    assert isinstance(result, TrainResult) and result.steps == 0 and "no steps" in str(result)
