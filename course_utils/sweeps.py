"""Results of experiments too long to run live, and their explorer (introduced in notebook 07).

The copy-memory delay sweeps are produced by ``python -m experiments.copy_sweep`` (notebook 07's
models) and ``python -m experiments.lru_copy_sweep`` (notebook 09's LRU), run from the repository
root, and committed as package data, ``course_utils/data/copy_sweep.json`` and
``lru_copy_sweep.json``; the notebooks read them with :func:`load_results`. Their layout::

    {"format": 1,
     "runs": {"gru/T20/seed0": {"config": {"model": "gru", "delay": 20, "n_symbols": 5, ...},
                                "baseline": ...,          # memoryless cross-entropy
                                "curve_steps": [...], "curve": [...],   # windowed train loss
                                "eval_loss": ..., "eval_ratio": ..., "recall": ..., ...},
              ...}}

:func:`spread` summarises the seeds of each configuration (mean, min and max of a metric per model
and delay), and :func:`copy_sweep_explorer` draws one delay and seed of such a file: the learning
curves against the baseline, and the recall accuracy of each model.
"""

from __future__ import annotations

import json
from importlib import resources

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["MODEL_LABELS", "copy_sweep_explorer", "delays", "load_results", "model_color",
           "runs_at", "seeds", "spread"]

MODEL_LABELS = {
    "rnn": "vanilla RNN",
    "rnn_orth": "orthogonal RNN",
    "gru": "GRU",
    "lstm": "LSTM, default init",
    "lstm_fb3": "LSTM, forget bias 3",
    "lru": "LRU (notebook 09)",
}


def load_results(name: str = "copy_sweep") -> dict:
    """The committed results file ``course_utils/data/<name>.json`` (read as package data)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a plain file stem such as 'copy_sweep', got {name!r}")
    path = resources.files("course_utils").joinpath("data", f"{name}.json")
    if not path.is_file():
        raise FileNotFoundError(f"no results file {name}.json in course_utils/data; produce it "
                                f"with  python -m experiments.{name}  from the repository root")
    return json.loads(path.read_text())


def _runs(results: dict) -> dict:
    if not isinstance(results, dict) or not isinstance(results.get("runs"), dict):
        raise ValueError("results must be a dict with a 'runs' dict, as load_results returns")
    return results["runs"]


def delays(results: dict) -> list[int]:
    """The delays present in ``results``, sorted."""
    return sorted({int(run["config"]["delay"]) for run in _runs(results).values()})


def model_color(name: str) -> str:
    """One matplotlib colour per model, the same in every figure of notebooks 07 and 09."""
    order = list(MODEL_LABELS)
    return f"C{order.index(name)}" if name in order else "0.4"


def seeds(results: dict) -> list[int]:
    """The seeds present in ``results``, sorted."""
    return sorted({int(run["config"]["seed"]) for run in _runs(results).values()})


def _model_order(names) -> list[str]:
    return [m for m in MODEL_LABELS if m in names] + sorted(set(names) - set(MODEL_LABELS))


def spread(results: dict, metric: str = "eval_ratio") -> dict[str, dict[str, np.ndarray]]:
    """Mean, min and max of ``metric`` over the seeds of every (model, delay) configuration.

    Returns ``{model: {"delays", "mean", "min", "max", "n_seeds"}}`` (arrays over that model's
    delays, sorted), models in :data:`MODEL_LABELS` order. ``metric`` is a number every run
    stores, such as ``"eval_ratio"`` or ``"recall"``.
    """
    values: dict[str, dict[int, list[float]]] = {}
    for key, run in _runs(results).items():
        if metric not in run:
            raise ValueError(f"run {key} has no {metric!r}; its numbers: "
                             f"{sorted(k for k, v in run.items() if isinstance(v, (int, float)))}")
        config = run["config"]
        values.setdefault(config["model"], {}).setdefault(int(config["delay"]), []).append(
            float(run[metric]))
    summary = {}
    for model in _model_order(values):
        by_delay = values[model]
        chosen = sorted(by_delay)
        summary[model] = {
            "delays": np.array(chosen),
            "mean": np.array([np.mean(by_delay[d]) for d in chosen]),
            "min": np.array([np.min(by_delay[d]) for d in chosen]),
            "max": np.array([np.max(by_delay[d]) for d in chosen]),
            "n_seeds": np.array([len(by_delay[d]) for d in chosen]),
        }
    return summary


def runs_at(results: dict, delay: int, seed: int = 0) -> dict[str, dict]:
    """``{model name: run}`` for one delay and seed, in :data:`MODEL_LABELS` order."""
    chosen = {run["config"]["model"]: run for run in _runs(results).values()
              if run["config"]["delay"] == delay and run["config"]["seed"] == seed}
    if not chosen:
        raise ValueError(f"no runs at delay {delay!r} and seed {seed!r}; delays present: "
                         f"{delays(results)}, seeds present: {seeds(results)}")
    return {name: chosen[name] for name in _model_order(chosen)}


def copy_sweep_explorer(results: dict, delay: int = 20, relative: bool = True,
                        smooth: int = 1, seed: int = 0):
    """Learning curves (left) and recall accuracy (right) of every model at one delay and seed.

    relative: plot the training loss divided by the memoryless baseline (1 = baseline).
    smooth: average this many consecutive points of the stored curve.
    Returns the Figure.
    """
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
        raise ValueError(f"smooth must be a positive integer, got {smooth!r}")
    chosen = runs_at(results, delay, seed)
    fig, (ax_loss, ax_recall) = plt.subplots(1, 2, figsize=(9.5, 3.6),
                                             gridspec_kw={"width_ratios": [1.7, 1]})
    baseline = None
    for n, (name, run) in enumerate(chosen.items()):
        curve = np.asarray(run["curve"], dtype=float)
        steps = np.asarray(run["curve_steps"], dtype=float)
        usable = len(curve) - len(curve) % smooth
        curve = curve[:usable].reshape(-1, smooth).mean(axis=1)
        steps = steps[:usable].reshape(-1, smooth)[:, 0]
        baseline = run["baseline"]
        ax_loss.plot(steps, curve / baseline if relative else curve, color=model_color(name),
                     label=MODEL_LABELS.get(name, name))
        ax_recall.bar(n, run["recall"], color=model_color(name))
    config = next(iter(chosen.values()))["config"]
    ax_loss.axhline(1.0 if relative else baseline, color="0.3", ls="--", lw=1.2,
                    label="memoryless baseline")
    ax_loss.set(xlabel="training step", ylim=(0, None),
                ylabel="loss / baseline" if relative else "cross-entropy",
                title=f"copy task, delay T = {delay}, {config['n_symbols']} symbols, seed {seed}")
    ax_loss.legend()
    chance = 1.0 / config["n_categories"]
    ax_recall.axhline(chance, color="0.3", ls="--", lw=1.2, label=f"chance {chance:.1%}")
    ax_recall.set_xticks(range(len(chosen)))
    ax_recall.set_xticklabels([MODEL_LABELS.get(m, m).replace(", ", "\n") for m in chosen],
                              fontsize=8)
    ax_recall.set(ylim=(0, 1), ylabel="recall accuracy", title="after training (fresh data)")
    ax_recall.legend(loc="upper left")
    return fig
