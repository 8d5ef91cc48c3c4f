"""Fused recurrent modules vs a Python loop over cells: the speed behind notebooks 06 and 07.

    .venv/bin/python -m benchmarks.fused_vs_loop [--repeats 30] [--length 30]

Notebook 06 teaches with hand-written cells stepped in a Python loop; notebook 07 trains with
PyTorch's fused ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``. This measures one training step (forward,
cross-entropy at every step, backward) of each, on the copy task's shapes (batch 32, hidden 64,
one-hot inputs of 10 tokens, sequence length T + 2K = 30), with two torch threads, and prints the
median times side by side and their ratio (loop / fused). Both versions use the same weights; the
outputs are checked to agree.
On a machine shared with other work the timings are pessimistic; the load average is printed.
"""

from __future__ import annotations  # noqa: I001  (course_utils before torch, on purpose)

import argparse
import os
import statistics
import time

from course_utils import env  # noqa: F401  (first: sets the OpenMP wait policy before torch)

import torch

CELLS = {"rnn": (torch.nn.RNN, torch.nn.RNNCell), "gru": (torch.nn.GRU, torch.nn.GRUCell),
         "lstm": (torch.nn.LSTM, torch.nn.LSTMCell)}


def make_pair(kind: str, n_in: int, hidden: int):
    fused_class, cell_class = CELLS[kind]
    torch.manual_seed(0)
    fused = fused_class(n_in, hidden, batch_first=True)
    cell = cell_class(n_in, hidden)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(fused, f"{name}_l0"))
    return fused, cell


def run_fused(fused, x):
    outputs, _ = fused(x)
    return outputs


def run_loop(cell, x):
    batch, hidden = x.shape[0], cell.hidden_size
    h = torch.zeros(batch, hidden)
    c = torch.zeros(batch, hidden)
    outputs = []
    for t in range(x.shape[1]):
        if isinstance(cell, torch.nn.LSTMCell):
            h, c = cell(x[:, t], (h, c))
        else:
            h = cell(x[:, t], h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def step_time(forward, module, readout, x, targets, repeats: int) -> float:
    params = [*module.parameters(), *readout.parameters()]
    times = []
    for _ in range(repeats + 3):  # the first steps warm up the allocator
        started = time.perf_counter()
        logits = readout(forward(module, x))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 targets.reshape(-1))
        grads = torch.autograd.grad(loss, params)
        times.append(time.perf_counter() - started)
        del grads
    return statistics.median(times[3:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fused_vs_loop",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 10, (args.batch, args.length), generator=gen)
    x = torch.nn.functional.one_hot(tokens, 10).float()
    targets = torch.randint(0, 10, (args.batch, args.length), generator=gen)
    readout = torch.nn.Linear(args.hidden, 10)
    print(f"batch {args.batch}, length {args.length}, hidden {args.hidden}, 2 threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':6s} {'fused (ms/step)':>16} {'loop (ms/step)':>15} {'loop / fused':>13}")
    for kind in CELLS:
        fused, cell = make_pair(kind, 10, args.hidden)
        with torch.no_grad():
            difference = (run_fused(fused, x) - run_loop(cell, x)).abs().max().item()
        if difference > 1e-5:
            raise RuntimeError(f"{kind}: fused and looped outputs differ by {difference:.1e}")
        fused_time = step_time(run_fused, fused, readout, x, targets, args.repeats)
        loop_time = step_time(run_loop, cell, readout, x, targets, args.repeats)
        print(f"{kind:6s} {1e3 * fused_time:16.2f} {1e3 * loop_time:15.2f} "
              f"{loop_time / fused_time:12.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
