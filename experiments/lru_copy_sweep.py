"""The copy-memory sweep of notebook 09: a small LRU network far beyond notebook 07's delays.

Trains :class:`course_utils.lru.LRUNetwork` (linear recurrent units, Orvieto et al. 2023) on the
copy-memory task of notebook 07 -- the same task, symbols, batch size, optimiser and clipping as
``experiments/copy_sweep.py``, with 500 steps instead of 5000 -- at 07's delays and beyond them,
with three seeds, and writes one JSON file in the same layout as 07's sweep (read by
:mod:`course_utils.sweeps`)::

    python -m experiments.lru_copy_sweep                          # the committed sweep
    python -m experiments.lru_copy_sweep --jobs 16                # 16 processes, 1 thread each

The committed file was made on a shared two-core machine (three processes, one torch thread
each); it holds the delays that finished there, shortest first (the runs record it): 10 to 200.
A T = 200 run took about 1.8 times as long as a T = 80 run there; T = 500 did not finish in the
time available.
    python -m experiments.lru_copy_sweep --tiny --output /tmp/t.json   # seconds, for the tests

Resumable like 07's sweep: a run whose configuration is already in the file is skipped. Each run
records how and where it was made (torch version, threads, machine). The committed results live
in ``course_utils/data/lru_copy_sweep.json``.

Notebook 09 asks students to write the eigenvalue map, the ring initialisation and the
normalisation; the network is given them (see :mod:`course_utils.lru`), and this script passes
its own versions, below, as 07's sweep generates the task's data itself.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from course_utils import env, training  # env first: OpenMP settings before torch loads
from course_utils.lru import LRUNetwork
from experiments.copy_sweep import copy_sequences, load, memoryless_loss, save

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "course_utils" / "data" / "lru_copy_sweep.json"


# ----------------------------------------------------------------------------- the unit's parts


def eigenvalues(nu_log, theta_log):
    """lambda = exp(-exp(nu_log) + i exp(theta_log)): |lambda| < 1 for every finite nu_log."""
    import torch

    return torch.polar(torch.exp(-torch.exp(nu_log)), torch.exp(theta_log))


def ring(n: int, r_min: float, r_max: float, max_phase: float,
         rng: np.random.Generator) -> np.ndarray:
    """n eigenvalues uniform in area on the ring r_min <= |lambda| <= r_max, phase in [0, max_phase]."""
    radius = np.sqrt(rng.uniform(r_min ** 2, r_max ** 2, n))
    phase = rng.uniform(0.0, max_phase, n)
    return radius * np.exp(1j * phase)


def gamma(lam) -> np.ndarray:
    """sqrt(1 - |lambda|^2): white noise in, unit stationary variance out."""
    r = np.abs(lam)
    return np.sqrt((1 - r) * (1 + r))


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run (and so its results)."""

    delay: int
    seed: int
    model: str = "lru"
    n_symbols: int = 5
    n_categories: int = 8
    d_model: int = 64
    d_state: int = 64
    n_layers: int = 2
    r_min: float = 0.9
    r_max: float = 0.999
    max_phase: float = math.pi
    batch_size: int = 32
    lr: float = 2e-3
    clip_norm: float = 1.0
    steps: int = 500
    log_every: int = 50
    eval_size: int = 1000

    @property
    def key(self) -> str:
        return f"{self.model}/T{self.delay}/seed{self.seed}"


FULL = {"delays": (10, 20, 40, 80, 200, 500), "seeds": (0, 1, 2), "steps": 500}
TINY = {"delays": (3,), "seeds": (0,), "steps": 40, "d_model": 8, "d_state": 8, "n_layers": 1,
        "batch_size": 4, "log_every": 10, "eval_size": 16}


def build(config: RunConfig) -> LRUNetwork:
    n_classes = config.n_categories + 2
    return LRUNetwork(
        vocab_size=n_classes, output_size=n_classes, eigenvalues=eigenvalues,
        ring=lambda n, rng: ring(n, config.r_min, config.r_max, config.max_phase, rng),
        gamma=gamma, d_model=config.d_model, d_state=config.d_state, n_layers=config.n_layers,
        seed=config.seed)


def run(config: RunConfig, progress: bool = False) -> dict:
    """Train one network and return its results (JSON-ready)."""
    import torch

    if config.steps % config.log_every:
        raise ValueError(f"steps ({config.steps}) must be a multiple of log_every "
                         f"({config.log_every})")
    model = build(config)

    def make_batch(step, rng):
        return copy_sequences(config.batch_size, config.delay, config.n_symbols,
                              config.n_categories, rng)

    result = training.train_model(model, make_batch, steps=config.steps, loss="cross_entropy",
                                  optimizer="adam", lr=config.lr, clip_norm=config.clip_norm,
                                  seed=config.seed, progress=progress, description=config.key)
    eval_rng = np.random.default_rng([config.seed, config.delay, 2016])  # as 07's sweep
    inputs, targets = copy_sequences(config.eval_size, config.delay, config.n_symbols,
                                     config.n_categories, eval_rng)
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(inputs[i:i + 250]) for i in range(0, len(inputs), 250)])
        eval_loss = training.compute_loss(logits, targets).item()
        recalled = logits[:, -config.n_symbols:].argmax(-1).numpy() \
            == targets[:, -config.n_symbols:]
    losses = result.losses
    finite = len(losses) - (result.diverged_at is not None)
    windows = losses[:finite - finite % config.log_every].reshape(-1, config.log_every)
    baseline = memoryless_loss(config.delay, config.n_symbols, config.n_categories)
    moduli = np.concatenate([np.abs(lam) for lam in model.layer_eigenvalues()])
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
        "largest_modulus": float(moduli.max()),
        "seconds": round(result.seconds, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": _machine(),
    }


def _machine() -> str:
    """The processor and its core count, for the record of where a run was made."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def _run_in_worker(args):
    config, threads = args
    import torch

    torch.set_num_threads(threads)
    return config.key, run(config)


def sweep(planned: list[RunConfig], output: Path, jobs: int = 1, threads: int = 1,
          progress: bool = True) -> dict:
    """Run every planned configuration not already in ``output``; return the results."""
    from tqdm.auto import tqdm

    data = load(output)
    todo = [c for c in planned if data["runs"].get(c.key, {}).get("config") != asdict(c)]
    # Shortest first: an interrupted sweep has finished whole delays, every seed of each.
    todo.sort(key=lambda c: (c.delay, c.seed))
    bar = tqdm(total=len(todo), desc="LRU copy sweep", disable=not progress, unit="run")
    if jobs == 1:
        results = map(_run_in_worker, [(c, threads) for c in todo])
        pool = None
    else:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(jobs)
        results = pool.imap_unordered(_run_in_worker, [(c, threads) for c in todo])
    try:
        for key, result in results:
            data["runs"][key] = result
            save(data, output)
            bar.update()
            bar.set_postfix_str(key)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()
        bar.close()
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.lru_copy_sweep",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long sweep with a tiny network (what the tests rerun)")
    parser.add_argument("--delays", type=int, nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--jobs", type=int, default=1, help="processes in parallel")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    plan = dict(TINY if args.tiny else FULL)
    for name in ("delays", "seeds", "steps"):
        if getattr(args, name) is not None:
            plan[name] = getattr(args, name)
    if any(d < 1 for d in plan["delays"]):
        parser.error("delays must be >= 1")
    if plan["steps"] < 1:
        parser.error("steps must be >= 1")
    if args.jobs < 1 or args.threads < 1:
        parser.error("jobs and threads must be >= 1")
    env.seed_everything(0)
    overrides = {k: v for k, v in plan.items() if k not in ("delays", "seeds")}
    planned = [RunConfig(delay=int(d), seed=int(s), **overrides)
               for d in plan["delays"] for s in plan["seeds"]]
    data = sweep(planned, args.output, jobs=args.jobs, threads=args.threads,
                 progress=not args.quiet)
    for config in planned:
        result = data["runs"][config.key]
        print(f"{config.key:18s} loss/baseline {result['eval_ratio']:6.3f}   "
              f"recall {result['recall']:6.1%}   {result['seconds']:7.1f} s", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
