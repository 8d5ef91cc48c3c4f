"""How responsive is the notebook-08 dashboard? ``python -m benchmarks.dashboard``

Times, on the CPU, the two things a live update does: one redraw (snapshot -> figure -> PNG, what
the widget shows) and one block of training updates, for the notebook's configuration (a vanilla
RNN and an LSTM, hidden size 32, adding problem). Target: a redraw well under a second.
"""

from __future__ import annotations

import io
import time

import numpy as np
import torch

from course_utils.dashboard import GradientDashboard, plot_dashboard
from course_utils.models import SequenceModel
from course_utils.plotting import use_course_style

SEQ_LEN, HIDDEN, REPEATS = 40, 32, 5


def adding_batch(step, rng, batch_size=32):
    values = rng.uniform(size=(batch_size, SEQ_LEN))
    markers = np.zeros((batch_size, SEQ_LEN))
    rows = np.arange(batch_size)
    markers[rows, rng.integers(0, SEQ_LEN // 2, size=batch_size)] = 1.0
    markers[rows, rng.integers(SEQ_LEN // 2, SEQ_LEN, size=batch_size)] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    return torch.from_numpy(inputs), torch.from_numpy((values * markers).sum(1, keepdims=True)
                                                      .astype(np.float32))


def best_of(function, repeats=REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.set_num_threads(2)
    use_course_style()  # as notebook 08 does: its rcParams are part of what a redraw costs
    models = {kind: SequenceModel(kind, input_size=2, hidden_size=HIDDEN, output_size=1, seed=0)
              for kind in ("rnn", "lstm")}
    board = GradientDashboard(models, adding_batch,
                              adding_batch(0, np.random.default_rng(1), batch_size=128),
                              lr=5e-3, baseline=1 / 6)
    for _ in range(10):  # a history of probes, as after a few minutes of live training
        board.train(5)

    def redraw():
        plot_dashboard(board.snapshot(), use_pyplot=False).savefig(io.BytesIO(), format="png",
                                                                   dpi=80)

    redraw_s = best_of(redraw)
    train_s = best_of(lambda: board.train(20), repeats=2)
    print(f"{'step':<34}{'seconds':>9}{'vs 1 s target':>15}")
    print(f"{'redraw (snapshot -> PNG)':<34}{redraw_s:9.3f}{redraw_s / 1.0:14.2f}x")
    print(f"{'20 training updates + probe':<34}{train_s:9.3f}")
    print(f"{'one live update (both)':<34}{redraw_s + train_s:9.3f}")


if __name__ == "__main__":
    main()
