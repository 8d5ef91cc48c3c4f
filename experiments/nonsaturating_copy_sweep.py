"""Notebook 07's last experiment at full size: orthogonal RNNs without a saturating nonlinearity.

Trains three RNNs whose recurrent matrix stays orthogonal during training on the copy-memory task
at delay 80, for three seeds each: the tanh RNN of 07's sweep (``rnn_orth``), and
:class:`course_utils.models.OrthogonalRNN` with no activation (``orth_linear``) and with a real
modReLU (``orth_modrelu``). Everything else is 07's sweep (``experiments/copy_sweep.py``: the
task, Adam at 5e-3, batches of 32, clipping at 1, the evaluation set), with 1500 updates instead
of 5000. Besides the loss and the recall, each run records the gradient's reach
``||dL/dh_K|| / ||dL/dh_(T+K)||`` of the copy loss on a fixed probe batch, before and after
training, as notebook 07 measures it::

    python -m experiments.nonsaturating_copy_sweep                       # the committed runs
    python -m experiments.nonsaturating_copy_sweep --tiny --output /tmp/t.json   # for the tests

Resumable like 07's sweep; each run records its torch version, threads and machine. The committed
results live in ``course_utils/data/nonsaturating_copy_sweep.json`` and notebook 07 reads them;
they were made with one torch thread per run (the default here; 9.6 minutes for the nine runs on
a shared two-core machine). The thread count changes the rounding and so a long run's path: with
two threads, one modReLU seed was caught at update 1500 in a loss jump after it had learned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# env first: it sets the OpenMP wait policy before models loads torch.
from course_utils import env, models, probes  # noqa: F401 (env: imported for that effect)
from experiments import copy_sweep
from experiments.lru_copy_sweep import _machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "course_utils" / "data" / "nonsaturating_copy_sweep.json"
PROBE_SIZE = 64  # sequences in the batch the reach is measured on (notebook 07's probe)

# name -> how to build it from (vocabulary size, hidden size, seed).
MODELS = {
    "rnn_orth": lambda n, hidden, seed: models.SequenceModel(
        vocab_size=n, output_size=n, hidden_size=hidden, seed=seed,
        **copy_sweep.MODELS["rnn_orth"]),
    "orth_linear": lambda n, hidden, seed: models.OrthogonalRNN(
        vocab_size=n, output_size=n, hidden_size=hidden, activation="linear", seed=seed),
    "orth_modrelu": lambda n, hidden, seed: models.OrthogonalRNN(
        vocab_size=n, output_size=n, hidden_size=hidden, activation="modrelu", seed=seed),
}
FULL = {"delays": (80,), "models": tuple(MODELS), "seeds": (0, 1, 2), "steps": 1500}
TINY = {**copy_sweep.TINY, "models": tuple(MODELS)}


def copy_reach(model, inputs, targets, n_symbols: int) -> float:
    """``||dL/dh_K|| / ||dL/dh_(T+K)||`` for the copy loss (cross-entropy at the last K
    positions): the gradient at the last symbol relative to the one at the delimiter."""
    import torch

    with torch.enable_grad():
        outputs, states = model.unroll(inputs)
        targets = torch.as_tensor(targets)[:, -n_symbols:]
        loss = torch.nn.functional.cross_entropy(
            outputs[:, -n_symbols:].reshape(-1, outputs.shape[-1]), targets.reshape(-1))
    norms = probes.gradient_norms_at(loss, states)
    return float(norms[n_symbols] / norms[len(states) - 1 - n_symbols])


def run(config: copy_sweep.RunConfig, progress: bool = False) -> dict:
    """Train one model and return 07's sweep results plus the reach before and after."""
    import torch

    if config.model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {config.model!r}")
    model = MODELS[config.model](config.n_categories + 2, config.hidden_size, config.seed)
    probe = copy_sweep.copy_sequences(PROBE_SIZE, config.delay, config.n_symbols,
                                      config.n_categories, np.random.default_rng(config.delay))
    reach_start = copy_reach(model, *probe, config.n_symbols)
    result = copy_sweep.train_and_evaluate(model, config, progress)
    return {**result, "reach_start": reach_start,
            "reach_end": copy_reach(model, *probe, config.n_symbols),
            "torch": torch.__version__, "machine": _machine()}


def main(argv: list[str] | None = None) -> int:
    return copy_sweep.command_line(
        argv, prog="python -m experiments.nonsaturating_copy_sweep", doc=__doc__, models=MODELS,
        full=FULL, tiny=TINY, output=DEFAULT_OUTPUT, run_one=run,
        description="non-saturating copy sweep",
        report=lambda r: f"   reach {r['reach_start']:.1e} -> {r['reach_end']:.1e}", threads=1)


if __name__ == "__main__":
    raise SystemExit(main())
