"""course_utils.truncation: the cut factors, the cut forward pass against torch.nn.RNN and an
explicit chunked implementation, unbiasedness of the randomized cut, and the echo experiment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import truncation


def _cell_and_rnn(d_in=2, d=3, seed=0):
    torch.manual_seed(seed)
    cell = torch.nn.RNNCell(d_in, d, dtype=torch.float64)
    rnn = torch.nn.RNN(d_in, d, dtype=torch.float64)
    with torch.no_grad():
        for a, b in [(rnn.weight_ih_l0, cell.weight_ih), (rnn.weight_hh_l0, cell.weight_hh),
                     (rnn.bias_ih_l0, cell.bias_ih), (rnn.bias_hh_l0, cell.bias_hh)]:
            a.copy_(b)
    return cell, rnn


def _loss_weights(T, batch, d, seed=1):
    return torch.tensor(np.random.default_rng(seed).normal(size=(T, batch, d)))


def test_cut_factors_full_fixed_and_randomized():
    assert torch.equal(truncation.cut_factors("full", 7, 2, 3), torch.ones(7, 2, 1))
    fixed = truncation.cut_factors("fixed", 7, 2, 3)
    assert fixed[:, :, 0].T.tolist() == [[0, 1, 1, 0, 1, 1, 0]] * 2
    drawn = truncation.cut_factors("randomized", 4000, 50, 10,
                                   generator=torch.Generator().manual_seed(0))
    values = torch.unique(drawn).tolist()
    assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / 0.9)
    assert drawn.mean().item() == pytest.approx(1.0, abs=0.01)
    assert (drawn == 0).float().mean().item() == pytest.approx(0.1, abs=0.005)
    again = truncation.cut_factors("randomized", 4000, 50, 10,
                                   generator=torch.Generator().manual_seed(0))
    assert torch.equal(drawn, again)
    assert torch.equal(truncation.cut_factors("randomized", 5, 2, 1), torch.zeros(5, 2, 1))


def test_values_are_those_of_torch_rnn_whatever_the_cuts():
    cell, rnn = _cell_and_rnn()
    x = torch.tensor(np.random.default_rng(2).normal(size=(9, 4, 2)))
    expected, _ = rnn(x)
    for kind in truncation.KINDS:
        factors = truncation.cut_factors(kind, 9, 4, 3, generator=torch.Generator().manual_seed(1))
        got = truncation.run_with_cuts(cell, x, factors.double())
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def _grads(loss, module):
    return [g.clone() for g in torch.autograd.grad(loss, list(module.parameters()))]


def test_full_gradient_is_torch_rnn_and_fixed_gradient_is_chunked_detach():
    T, batch, k = 11, 3, 4
    cell, rnn = _cell_and_rnn()
    x = torch.tensor(np.random.default_rng(3).normal(size=(T, batch, 2)))
    weights = _loss_weights(T, batch, 3)
    full = _grads((truncation.run_with_cuts(cell, x, torch.ones(T, batch, 1, dtype=torch.float64))
                   * weights).sum(), cell)
    out, _ = rnn(x)
    reference = _grads((out * weights).sum(), rnn)
    for a, b in zip(full, reference, strict=True):
        torch.testing.assert_close(a, b)
    # chunks of k steps, the state detached between them
    h, loss = torch.zeros(1, batch, 3, dtype=torch.float64), 0.0
    for start in range(0, T, k):
        out, h = rnn(x[start:start + k], h)
        loss = loss + (out * weights[start:start + k]).sum()
        h = h.detach()
    chunked = _grads(loss, rnn)
    fixed = _grads((truncation.run_with_cuts(
        cell, x, truncation.cut_factors("fixed", T, batch, k).double()) * weights).sum(), cell)
    for a, b in zip(fixed, chunked, strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(fixed[1], full[1])


def test_randomized_gradient_is_unbiased():
    T, batch, draws = 6, 1, 800
    cell, _ = _cell_and_rnn(d=2, seed=4)
    with torch.no_grad():
        cell.weight_hh.mul_(3.0)  # a long memory, so that the cuts matter
    x = torch.tensor(np.random.default_rng(5).normal(size=(T, batch, 2)))
    weights = _loss_weights(T, batch, 2, seed=6)

    def grad_hh(factors):
        return torch.autograd.grad((truncation.run_with_cuts(cell, x, factors) * weights).sum(),
                                   cell.weight_hh)[0]

    full = grad_hh(torch.ones(T, batch, 1, dtype=torch.float64))
    generator = torch.Generator().manual_seed(7)
    samples = torch.stack([grad_hh(truncation.cut_factors("randomized", T, batch, 3,
                                                          generator=generator).double())
                           for _ in range(draws)])
    standard_error = samples.std(0) / np.sqrt(draws)
    assert torch.all((samples.mean(0) - full).abs() < 5 * standard_error + 1e-12)
    fixed = grad_hh(truncation.cut_factors("fixed", T, batch, 3).double())
    assert ((fixed - full).abs() > 5 * standard_error).any(), "the fixed cut should be biased"


def test_delayed_echo_batch_shifts_the_inputs():
    x, y = truncation.delayed_echo_batch(np.random.default_rng(0), 3, 8, 2)
    assert x.shape == y.shape == (8, 2, 1) and x.dtype == torch.float32
    assert torch.equal(y[3:], x[:-3]) and torch.equal(y[:3], torch.zeros(3, 2, 1))


def test_train_delayed_echo_is_reproducible_and_reports_its_run():
    runs = [truncation.train_delayed_echo("randomized", steps=3, seq_len=20, hidden_size=8,
                                          batch_size=4, n_eval=8, seed=2, progress=False)
            for _ in range(2)]
    assert runs[0].losses.shape == (3,) and np.all(np.isfinite(runs[0].losses))
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    assert runs[0].final_loss == runs[1].final_loss and runs[0].kind == "randomized"
    other = truncation.train_delayed_echo("full", steps=3, seq_len=20, hidden_size=8,
                                          batch_size=4, n_eval=8, seed=2, progress=False)
    assert other.losses[0] == runs[0].losses[0]  # same weights and first batch before any update


@pytest.mark.parametrize("call", [
    lambda: truncation.cut_factors("chunks", 5, 1, 2),
    lambda: truncation.cut_factors("fixed", 5, 1, 0),
    lambda: truncation.cut_factors("fixed", 5, True, 2),
    lambda: truncation.delayed_echo_batch(np.random.default_rng(0), 5, 5, 1),
    lambda: truncation.run_with_cuts(torch.nn.RNN(1, 2), torch.zeros(3, 1, 1),
                                     torch.ones(3, 1, 1)),
    lambda: truncation.run_with_cuts(torch.nn.RNNCell(1, 2), torch.zeros(3, 1, 2),
                                     torch.ones(3, 1, 1)),
    lambda: truncation.run_with_cuts(torch.nn.RNNCell(1, 2), torch.zeros(3, 1, 1),
                                     torch.ones(4, 1, 1)),
    lambda: truncation.train_delayed_echo("fixed", steps=0),
    lambda: truncation.train_delayed_echo("full", steps=2, lr=-1.0),
])
def test_bad_arguments_are_refused(call):
    with pytest.raises(ValueError):
        call()
