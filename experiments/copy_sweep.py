"""The copy-memory delay sweep that notebook 07 plots (too long to train live).

Trains a vanilla RNN, an orthogonal RNN (its W_hh kept orthogonal during training), a GRU and two
LSTMs (default initialisation, and forget-gate bias 3) on the copy-memory task of Arjovsky et al.
(2016) for several delays and three seeds, and writes one JSON file with, per run, the learning
curve, the final loss against the memoryless baseline and the recall accuracy::

    python -m experiments.copy_sweep                      # the committed sweep (1.6 h of training)
    python -m experiments.copy_sweep --delays 10 20 --seeds 0   # a part of it
    python -m experiments.copy_sweep --tiny --output /tmp/tiny.json   # seconds, for the tests

The output is resumable: a run whose configuration is already in the file is skipped, and the file
is rewritten after every run, so an interrupted sweep continues where it stopped. The committed
results live in ``course_utils/data/copy_sweep.json`` (package data, read by
:mod:`course_utils.sweeps`).

The task's data are generated here rather than in ``course_utils``: in notebook 07, generating them
(and the baseline and the recall accuracy) are the student's exercises.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# env first: it sets the OpenMP wait policy before torch loads (models and training import torch;
# this module imports torch only inside functions, after them).
from course_utils import env, models, training

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "course_utils" / "data" / "copy_sweep.json"
FORMAT_VERSION = 1

# name -> SequenceModel options. "rnn_orth" is a tanh RNN whose W_hh starts orthogonal and stays
# orthogonal through training (Arjovsky et al. 2016's idea, with a real orthogonal matrix instead of
# their complex unitary one); "lstm_fb3" is the LSTM with its forget-gate bias set to 3.
MODELS = {
    "rnn": {"kind": "rnn"},
    "rnn_orth": {"kind": "rnn", "recurrent_init": "orthogonal", "orthogonal_recurrence": True},
    "gru": {"kind": "gru"},
    "lstm": {"kind": "lstm"},
    "lstm_fb3": {"kind": "lstm", "forget_bias": 3.0},
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run (and so its results)."""

    model: str
    delay: int
    seed: int
    n_symbols: int = 5
    n_categories: int = 8
    hidden_size: int = 64
    batch_size: int = 32
    lr: float = 5e-3
    clip_norm: float = 1.0
    steps: int = 5000
    log_every: int = 50
    eval_size: int = 1000

    @property
    def key(self) -> str:
        return f"{self.model}/T{self.delay}/seed{self.seed}"


FULL = {"delays": (10, 20, 40, 80), "models": tuple(MODELS), "seeds": (0, 1, 2), "steps": 5000}
TINY = {"delays": (3,), "models": ("rnn", "rnn_orth", "lstm_fb3"), "seeds": (0,), "steps": 40,
        "hidden_size": 8, "batch_size": 4, "log_every": 10, "eval_size": 16}


# ----------------------------------------------------------------------------- the task


def copy_sequences(batch_size: int, delay: int, n_symbols: int, n_categories: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets ``(batch, delay + 2 n_symbols)`` of the copy task (Arjovsky et al.).

    Input: ``n_symbols`` symbols from 1..n_categories, ``delay - 1`` blanks (0), the delimiter
    ``n_categories + 1``, ``n_symbols`` blanks. Target: ``delay + n_symbols`` blanks, the symbols.
    """
    length = delay + 2 * n_symbols
    symbols = rng.integers(1, n_categories + 1, size=(batch_size, n_symbols))
    inputs = np.zeros((batch_size, length), dtype=np.int64)
    targets = np.zeros((batch_size, length), dtype=np.int64)
    inputs[:, :n_symbols] = symbols
    inputs[:, n_symbols + delay - 1] = n_categories + 1
    targets[:, delay + n_symbols:] = symbols
    return inputs, targets


def memoryless_loss(delay: int, n_symbols: int, n_categories: int) -> float:
    """Cross-entropy of the best strategy that remembers nothing: sure blanks, uniform guesses."""
    return n_symbols * math.log(n_categories) / (delay + 2 * n_symbols)


# ----------------------------------------------------------------------------- one run


def run(config: RunConfig, progress: bool = False) -> dict:
    """Train one model and return its results (JSON-ready)."""
    if config.model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {config.model!r}")
    n_classes = config.n_categories + 2
    model = models.SequenceModel(vocab_size=n_classes, output_size=n_classes,
                                 hidden_size=config.hidden_size, seed=config.seed,
                                 **MODELS[config.model])
    return train_and_evaluate(model, config, progress)


def train_and_evaluate(model, config: RunConfig, progress: bool = False) -> dict:
    """Train ``model`` on the copy task ``config`` describes (Adam, clipping, ``config.steps``
    updates), evaluate it on a fresh set, and return the results (JSON-ready). Other sweeps on
    this task (``experiments.nonsaturating_copy_sweep``) build their own models and call this."""
    import torch

    if config.steps % config.log_every:
        raise ValueError(f"steps ({config.steps}) must be a multiple of log_every "
                         f"({config.log_every})")

    def make_batch(step, rng):
        return copy_sequences(config.batch_size, config.delay, config.n_symbols,
                              config.n_categories, rng)

    result = training.train_model(model, make_batch, steps=config.steps, loss="cross_entropy",
                                  optimizer="adam", lr=config.lr, clip_norm=config.clip_norm,
                                  seed=config.seed, progress=progress,
                                  description=config.key)
    # A fresh evaluation set from its own stream, the same for every model at this delay.
    eval_rng = np.random.default_rng([config.seed, config.delay, 2016])
    inputs, targets = copy_sequences(config.eval_size, config.delay, config.n_symbols,
                                     config.n_categories, eval_rng)
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
        eval_loss = training.compute_loss(logits, targets).item()
        recalled = logits[:, -config.n_symbols:].argmax(-1).numpy() \
            == targets[:, -config.n_symbols:]
    losses = result.losses
    finite = len(losses) - (result.diverged_at is not None)
    windows = losses[:finite - finite % config.log_every].reshape(-1, config.log_every)
    baseline = memoryless_loss(config.delay, config.n_symbols, config.n_categories)
    return {
        "config": asdict(config),
        "baseline": baseline,
        "curve_steps": (np.arange(len(windows)) * config.log_every).tolist(),
        "curve": [round(float(v), 6) for v in windows.mean(axis=1)],
        "final_train_loss": float(np.mean(losses[max(0, finite - 200):finite])),
        "eval_loss": eval_loss,
        "eval_ratio": eval_loss / baseline,
        "recall": float(recalled.mean()),
        "diverged_at": result.diverged_at,
        "seconds": round(result.seconds, 1),
        "threads": torch.get_num_threads(),
    }


# ----------------------------------------------------------------------------- the sweep


def load(path: Path) -> dict:
    """The results file, or an empty one."""
    if not path.exists():
        return {"format": FORMAT_VERSION, "runs": {}}
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: format {data.get('format')!r}, expected {FORMAT_VERSION}; "
                         "move it away to start afresh")
    return data


def save(data: dict, path: Path) -> None:
    """Write atomically, so an interrupted sweep never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(partial, path)


def configs(delays, model_names, seeds, **overrides) -> list[RunConfig]:
    return [RunConfig(model=m, delay=int(d), seed=int(s), **overrides)
            for d in delays for s in seeds for m in model_names]


def sweep(planned: list[RunConfig], output: Path, progress: bool = True, run_one=None,
          description: str = "copy sweep") -> dict:
    """Run every planned configuration not already in ``output``; return the results.

    run_one(config) -> dict trains one configuration (default: this module's :func:`run`)."""
    from tqdm.auto import tqdm

    run_one = run_one or run  # looked up at call time, so a test can replace run
    data = load(output)
    todo = [c for c in planned if data["runs"].get(c.key, {}).get("config") != asdict(c)]
    skipped = len(planned) - len(todo)
    bar = tqdm(todo, desc=description, disable=not progress, unit="run")
    if skipped and progress:
        bar.write(f"{skipped} of {len(planned)} runs already in {output}: skipped")
    for config in bar:
        bar.set_postfix_str(config.key)
        data["runs"][config.key] = run_one(config)
        save(data, output)
    bar.close()
    return data


def main(argv: list[str] | None = None) -> int:
    return command_line(argv, prog="python -m experiments.copy_sweep", doc=__doc__,
                        models=MODELS, full=FULL, tiny=TINY, output=DEFAULT_OUTPUT)


def command_line(argv, *, prog: str, doc: str, models: dict, full: dict, tiny: dict,
                 output: Path, run_one=None, description: str = "copy sweep",
                 report=lambda result: "", threads: int = 2) -> int:
    """The command line of a sweep on the copy task: this one, and those that train other models
    through :func:`train_and_evaluate` (``run_one``), printing ``report(result)`` after the
    common columns of each run. ``threads``: the default torch thread count, the one the
    committed results were made with (it changes the rounding, and so a long run's path)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=output)
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long sweep with tiny models (what the tests rerun)")
    parser.add_argument("--delays", type=int, nargs="+")
    parser.add_argument("--models", nargs="+", choices=sorted(models))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--threads", type=int, default=threads,
                        help=f"torch threads (default {threads}; each run records its count)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    plan = dict(tiny if args.tiny else full)
    for name in ("delays", "models", "seeds", "steps"):
        if getattr(args, name) is not None:
            plan[name] = getattr(args, name)
    if any(d < 1 for d in plan["delays"]):
        parser.error("delays must be >= 1")
    if plan["steps"] < 1:
        parser.error("steps must be >= 1")
    if args.threads < 1:
        parser.error("threads must be >= 1")
    import torch

    torch.set_num_threads(args.threads)
    env.seed_everything(0)
    overrides = {k: v for k, v in plan.items() if k not in ("delays", "models", "seeds")}
    planned = configs(plan["delays"], plan["models"], plan["seeds"], **overrides)
    data = sweep(planned, args.output, progress=not args.quiet, run_one=run_one,
                 description=description)
    for config in planned:
        result = data["runs"][config.key]
        print(f"{config.key:24s} loss/baseline {result['eval_ratio']:6.3f}   "
              f"recall {result['recall']:6.1%}   {result['seconds']:7.1f} s{report(result)}",
              file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
