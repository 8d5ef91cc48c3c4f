"""One backward pass against one backward per time step, for ``||dL/dh_t||`` at every t.

    python -m benchmarks.gradient_probe [--repeats N] [--lengths 50 100 200]

Measures, for a vanilla ``nn.RNN`` (hidden size 128, CPU, float32), the time and the peak memory
of two ways to get the norm of the gradient at every hidden state ``h_0 .. h_T`` of one loss:

* **one pass** -- ``course_utils.probes.state_gradient_norms``: one forward, one backward that
  returns the gradient at every state;
* **per step** -- the approach a common tutorial demonstrates: one forward, then one backward
  per time step (``loss.backward(retain_graph=True)``, reading one state's gradient each time).

Both run in this one command, each in a fresh child process so that its peak resident memory is
its own, and the table prints them side by side with the speed-up. The course's target is a
speed-up of at least 0.5 * T (50x at T = 100): the per-step approach walks the graph T + 1 times.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

HIDDEN = 128
INPUT = 32
BATCH = 16
LENGTHS = (50, 100, 200)


def _model_and_inputs(length: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = nn.RNN(INPUT, HIDDEN)
    inputs = torch.randn(length, BATCH, INPUT, generator=torch.Generator().manual_seed(1))
    return model, inputs


def one_pass(model, inputs):
    from course_utils import probes

    return probes.state_gradient_norms(model, inputs)


def per_step(model, inputs):
    """The same stepped forward, then one full backward per time step: T + 1 walks of the graph."""
    import numpy as np
    import torch

    weights = (model.weight_ih_l0, model.weight_hh_l0, model.bias_ih_l0, model.bias_hh_l0)
    h = torch.zeros(inputs.shape[1], HIDDEN, requires_grad=True)
    states = [h]
    for x_t in inputs:
        h = torch.rnn_tanh_cell(x_t, h, *weights)
        states.append(h)
    loss = states[-1].sum()
    norms = []
    for state in states:
        model.zero_grad()
        state.retain_grad()
        state.grad = None
        loss.backward(retain_graph=True)
        norms.append(state.grad.double().norm().item())  # float64: squares of 1e-24 underflow
    return np.array(norms)


APPROACHES = {"one pass": one_pass, "per step": per_step}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _measure(approach: str, length: int, repeats: int) -> tuple[float, list]:
    """Best wall time in seconds, and the norms (to cross-check the two approaches)."""
    model, inputs = _model_and_inputs(length)
    run = APPROACHES[approach]
    norms = run(model, inputs)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(model, inputs)
        times.append(time.perf_counter() - start)
    return min(times), norms.tolist()


def _peak_memory(approach: str, length: int) -> float | None:
    """Peak resident memory (MiB) one run adds, in a process that has only warmed up on T = 2.

    Writing 5 to /proc/self/clear_refs resets the high-water mark VmHWM (Linux); None elsewhere.
    """
    model, inputs = _model_and_inputs(length)
    run = APPROACHES[approach]
    run(model, inputs[:2])
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        before = _rss_kib("VmRSS")
        run(model, inputs)
        return max(_rss_kib("VmHWM") - before, 0) / 1024
    except (OSError, RuntimeError):
        return None


def _in_fresh_process(function, *args):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (best kept)")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.lengths) < 1:
        parser.error("--repeats and every length must be >= 1")

    print(f"nn.RNN, hidden {HIDDEN}, input {INPUT}, batch {BATCH}, float32, CPU, 1 thread; "
          f"best of {args.repeats}")
    header = (f"{'T':>5} {'one pass':>10} {'per step':>10} {'speed-up':>9} {'0.5*T':>6} "
              f"{'peak MiB one':>13} {'peak MiB per':>13}  max rel diff")
    print(header)
    print("-" * len(header))
    for length in args.lengths:
        (t_one, n_one), (t_per, n_per) = (
            _in_fresh_process(_measure, approach, length, args.repeats) for approach in APPROACHES)
        m_one, m_per = (_in_fresh_process(_peak_memory, approach, length)
                        for approach in APPROACHES)
        diff = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(n_one, n_per, strict=True))
        speed_up = t_per / t_one
        mark = "ok" if speed_up >= 0.5 * length else "BELOW TARGET"

        def mib(value):
            return "n/a" if value is None else f"{value:.1f}"

        print(f"{length:5d} {t_one * 1e3:8.1f}ms {t_per * 1e3:8.1f}ms {speed_up:8.1f}x "
              f"{0.5 * length:6.0f} {mib(m_one):>13} {mib(m_per):>13}  {diff:.1e}  {mark}")
    print("\nmax rel diff: the largest relative difference between the two approaches' norms.")


if __name__ == "__main__":
    main()
