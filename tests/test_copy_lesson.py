"""The copy-memory lesson of notebook 07, asserted on the training tools with a fixed seed.

Notebook 07 trains a vanilla RNN, a GRU and an LSTM with forget-gate bias 3 live and shows the RNN
on the memoryless baseline and the gated models far below it; a notebook must not assert that
itself. This test trains the same models (``course_utils.models.SequenceModel`` through
``course_utils.training.train_model``, via ``experiments.copy_sweep.run``) on the notebook's task
(delay T = 20, K = 5 symbols, hidden 64, batch 32, Adam 5e-3, clipping at 1) but for 2000 steps
instead of 3000: long enough for both gated models to be well below the baseline, short enough to
run in about a minute on two cores. The evaluation uses 500 fresh sequences.
"""

import pytest

from experiments import copy_sweep


@pytest.fixture(scope="module")
def lesson():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        return {model: copy_sweep.run(copy_sweep.RunConfig(model=model, delay=20, seed=0,
                                                           steps=2000, eval_size=500))
                for model in ("rnn", "gru", "lstm_fb3")}
    finally:
        torch.set_num_threads(threads)


def test_the_vanilla_rnn_stays_on_the_memoryless_baseline(lesson):
    rnn = lesson["rnn"]
    assert rnn["diverged_at"] is None
    assert rnn["eval_ratio"] > 0.95, rnn["eval_ratio"]
    assert rnn["recall"] < 0.2, rnn["recall"]  # chance is 1/8


@pytest.mark.parametrize("model", ["gru", "lstm_fb3"])
def test_gated_models_go_well_below_the_baseline(lesson, model):
    result = lesson[model]
    assert result["diverged_at"] is None
    assert result["eval_ratio"] < 0.7, result["eval_ratio"]
    assert result["recall"] > 0.4, result["recall"]
    assert result["eval_ratio"] < lesson["rnn"]["eval_ratio"] - 0.25
