"""A live gradient-flow dashboard (introduced in notebook 08).

:class:`GradientDashboard` trains several sequence models side by side on one task and, every
``steps`` updates, probes each of them on a fixed batch:

* the loss curve, against the memoryless baseline;
* ``||dL/dh_t||`` for every ``t`` (one backward pass through ``SequenceModel.unroll``), stacked over
  training into a heatmap;
* the eigenvalues of the recurrent matrix (for an LSTM/GRU, of its candidate block) against the
  unit circle;
* the alerts of a gradient monitor, when one is given (the one students write in notebook 08: any
  factory ``monitor(model)`` returning an object with ``record(step)``, ``record_states(step,
  grads)`` and ``alerts``).

Everything the figure shows comes from :meth:`GradientDashboard.snapshot`, plain data that
:func:`plot_dashboard` and :func:`plot_training_moment` draw; the widget is a thin loop around them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .models import SequenceModel
from .training import compute_loss, train_model

CANDIDATE_BLOCK = {"rnn": "h", "lstm": "g", "gru": "n"}


@dataclass
class _Trace:
    name: str
    model: SequenceModel
    optimizer: torch.optim.Optimizer
    monitor: object | None
    losses: list[float] = field(default_factory=list)
    probe_steps: list[int] = field(default_factory=list)
    state_norms: list[np.ndarray] = field(default_factory=list)
    eigenvalues: list[np.ndarray] = field(default_factory=list)
    diverged_at: int | None = None

    @property
    def steps_done(self) -> int:
        return len(self.losses)


class GradientDashboard:
    """Train ``models`` side by side on batches from ``make_batch`` and record gradient flow.

    models: ``{name: SequenceModel}`` (single-layer).
    make_batch: ``make_batch(step, rng) -> (inputs, targets)``, as for ``training.train_model``.
    probe_batch: a fixed ``(inputs, targets)`` on which gradients are measured.
    loss: ``"mse"``, ``"cross_entropy"`` or a callable (see ``training.compute_loss``).
    baseline: the loss of the best memoryless predictor, drawn as a line (or None).
    monitor: a factory ``monitor(model)``; a factory that raises ``NotImplementedError`` (an
        exercise not done yet) is noted and the dashboard runs without it.
    """

    def __init__(self, models: dict[str, SequenceModel], make_batch: Callable, probe_batch: tuple,
                 *, loss: str | Callable = "mse", lr: float = 1e-3, clip_norm: float | None = 1.0,
                 baseline: float | None = None, monitor: Callable | None = None,
                 seed: int = 0) -> None:
        if not models:
            raise ValueError("give at least one model")
        for name, model in models.items():
            if not isinstance(model, SequenceModel) or model.num_layers != 1:
                raise ValueError(f"model {name!r} must be a single-layer SequenceModel")
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if clip_norm is not None and clip_norm <= 0:
            raise ValueError(f"clip_norm must be positive or None, got {clip_norm}")
        self.make_batch, self.loss, self.lr, self.clip_norm = make_batch, loss, lr, clip_norm
        self.probe_inputs, self.probe_targets = probe_batch
        self.baseline, self.seed = baseline, seed
        self.notes: list[str] = []
        self.traces = [_Trace(name, model, torch.optim.Adam(model.parameters(), lr=lr),
                              self._make_monitor(monitor, name, model))
                       for name, model in models.items()]
        self.probe()

    def _make_monitor(self, factory, name, model):
        if factory is None:
            return None
        try:
            return factory(model)
        except NotImplementedError:
            self.notes.append(f"{name}: no gradient monitor yet (GradientMonitor is not written)")
            return None

    def train(self, steps: int) -> None:
        """``steps`` more updates for every model that has not diverged, then one probe."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        for trace in self.traces:
            if trace.diverged_at is not None:
                continue
            offset = trace.steps_done
            hook = None
            if trace.monitor is not None:
                def hook(step, model, monitor=trace.monitor, offset=offset):
                    monitor.record(offset + step)
            result = train_model(trace.model, self.make_batch, steps=steps, loss=self.loss,
                                 optimizer=trace.optimizer, clip_norm=self.clip_norm,
                                 seed=self.seed + offset, progress=False, on_backward=hook)
            trace.losses.extend(float(v) for v in result.losses)
            if result.diverged_at is not None:
                trace.diverged_at = offset + result.diverged_at
        self.probe()

    def probe(self) -> None:
        """Measure ``||dL/dh_t||`` and the recurrent spectrum of every model on the probe batch."""
        for trace in self.traces:
            outputs, states = trace.model.unroll(self.probe_inputs)
            loss = compute_loss(outputs, self.probe_targets, self.loss)
            grads = torch.autograd.grad(loss, states)
            trace.state_norms.append(np.array([g.norm().item() for g in grads]))
            if trace.monitor is not None:
                trace.monitor.record_states(trace.steps_done, grads)
            block = trace.model.recurrent_blocks()[CANDIDATE_BLOCK[trace.model.kind]]
            trace.eigenvalues.append(torch.linalg.eigvals(block.double()).numpy())
            trace.probe_steps.append(trace.steps_done)

    def snapshot(self) -> dict:
        """Everything the figures show, as plain numpy data."""
        models = []
        for trace in self.traces:
            alerts = list(getattr(trace.monitor, "alerts", []) or [])
            models.append({
                "name": trace.name, "kind": trace.model.kind,
                "losses": np.array(trace.losses), "probe_steps": np.array(trace.probe_steps),
                "state_norms": np.array(trace.state_norms), "eigenvalues": list(trace.eigenvalues),
                "alerts": alerts, "diverged_at": trace.diverged_at,
            })
        return {"baseline": self.baseline, "models": models, "notes": list(self.notes)}

    def figure(self):
        return plot_dashboard(self.snapshot())

    def widget(self):
        """Start/pause training live; the figure redraws after every ``steps per update``.

        Training runs in a background thread, so the kernel stays free to receive the Pause
        click; each redraw replaces the PNG of an ``ipywidgets.Image``.
        """
        import ipywidgets

        run = ipywidgets.ToggleButton(description="Train", icon="play", value=False)
        steps = ipywidgets.IntSlider(value=20, min=5, max=200, step=5,
                                     description="steps per update")
        status = ipywidgets.HTML()
        image = ipywidgets.Image(format="png")
        busy = threading.Lock()

        def redraw():
            buffer = io.BytesIO()
            plot_dashboard(self.snapshot(), use_pyplot=False).savefig(buffer, format="png",
                                                                       dpi=80)
            image.value = buffer.getvalue()
            done = ", ".join(f"{t.name}: {t.steps_done} steps" for t in self.traces)
            status.value = f"<code>{done}</code>"

        def loop():
            with busy:
                while run.value:
                    self.train(steps.value)
                    redraw()
            run.description, run.icon = "Train", "play"

        def toggled(change):
            if change["new"] and not busy.locked():
                run.description, run.icon = "Pause", "pause"
                threading.Thread(target=loop, daemon=True).start()

        run.observe(toggled, names="value")
        redraw()
        return ipywidgets.VBox([ipywidgets.HBox([run, steps, status]), image])


def _relative_db(norms: np.ndarray) -> np.ndarray:
    """log10 of each row relative to its last entry (the state nearest the loss)."""
    last = norms[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(last > 0, norms / np.where(last > 0, last, 1.0), np.nan)
        return np.log10(np.maximum(ratio, 1e-300))


def plot_dashboard(snapshot: dict, max_alerts: int = 8, use_pyplot: bool = True):
    """Draw a :meth:`GradientDashboard.snapshot`: losses with the baseline and alerts on top,
    then per model the gradient heatmap over training and the recurrent spectrum.

    ``use_pyplot=False`` builds a bare ``Figure`` (safe outside the main thread, never shown by
    the notebook's inline backend on its own)."""
    models = snapshot["models"]
    if not models:
        raise ValueError("the snapshot has no models")
    size = (11, 3.0 * (len(models) + 1))
    # A fixed grid, not constrained layout (which the course style turns on): the layout solver
    # took half of every live redraw, and it spread this grid's rows far apart.
    fig = (plt.figure(figsize=size, layout="none") if use_pyplot
           else Figure(figsize=size, layout="none"))
    grid = fig.add_gridspec(len(models) + 1, 3, width_ratios=(1.6, 1.0, 0.9), left=0.07,
                            right=0.98, bottom=0.6 / size[1], top=1 - 0.35 / size[1],
                            hspace=0.55, wspace=0.3)
    ax_loss = fig.add_subplot(grid[0, :2])
    for model in models:
        if len(model["losses"]):
            ax_loss.semilogy(np.arange(1, len(model["losses"]) + 1), model["losses"],
                             label=model["name"], lw=1.2)
    if snapshot.get("baseline") is not None:
        ax_loss.axhline(snapshot["baseline"], color="k", ls="--", lw=1, label="baseline")
    ax_loss.set(title="training loss", xlabel="update")
    if ax_loss.get_legend_handles_labels()[0]:
        # framed: the course style's frameless legend let the curves run through the labels
        ax_loss.legend(loc="upper right", frameon=True, framealpha=0.9)
    ax_text = fig.add_subplot(grid[0, 2])
    ax_text.axis("off")
    lines = list(snapshot.get("notes", []))
    for model in models:
        if model["diverged_at"] is not None:
            lines.append(f"{model['name']}: diverged at update {model['diverged_at']}")
        lines += [f"{model['name']}: step {s}: {kind} ({name})"
                  for s, kind, name in model["alerts"][-max_alerts:]]
    ax_text.text(0, 1, "\n".join(lines) if lines else "no alerts", va="top", family="monospace",
                 fontsize=8, wrap=True)
    ax_text.set_title("monitor alerts", loc="left")
    for row, model in enumerate(models, start=1):
        ax_heat = fig.add_subplot(grid[row, :2])
        norms = model["state_norms"]
        image = ax_heat.imshow(_relative_db(norms), aspect="auto", origin="lower", cmap="magma",
                               vmin=-8, vmax=1, interpolation="nearest",
                               extent=(-0.5, norms.shape[1] - 0.5, -0.5, len(norms) - 0.5))
        ax_heat.set(title=f"{model['name']}: log10 ||dL/dh_t|| / ||dL/dh_T||",
                    xlabel="time step t", ylabel="probe (over training)")
        ax_heat.grid(False)
        fig.colorbar(image, ax=ax_heat, pad=0.01)
        _draw_spectrum(fig.add_subplot(grid[row, 2]), model)
    return fig


def _draw_spectrum(ax, model: dict) -> None:
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    ax.plot(circle.real, circle.imag, color="0.5", lw=0.8)
    history = model["eigenvalues"]
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 1, max(len(history), 2)))
    if history:  # one scatter for the whole history: far cheaper to draw than one per probe
        points = np.concatenate(history)
        ax.scatter(points.real, points.imag, s=6,
                   color=np.repeat(colours[:len(history)], [len(v) for v in history], axis=0))
    block = CANDIDATE_BLOCK.get(model["kind"], "h")
    ax.set(title=f"eig(W_h{block}), early→late", aspect="equal")


def plot_training_moment(snapshot: dict, probe: int = -1):
    """The gradient profile ``||dL/dh_t||`` of every model at one probe of the training, on a log
    axis, next to the recurrent spectra at that moment (the explorer of notebook 08)."""
    models = snapshot["models"]
    if not models:
        raise ValueError("the snapshot has no models")
    n_probes = min(len(m["state_norms"]) for m in models)
    if not -n_probes <= probe < n_probes:
        raise ValueError(f"probe must index one of the {n_probes} probes, got {probe}")
    fig, (ax_profile, ax_spectrum) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained",
                                                  gridspec_kw={"width_ratios": (1.7, 1)})
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    ax_spectrum.plot(circle.real, circle.imag, color="0.5", lw=0.8)
    for model in models:
        norms = model["state_norms"][probe]
        ax_profile.semilogy(np.arange(len(norms)), norms, marker=".", label=model["name"])
        values = model["eigenvalues"][probe]
        ax_spectrum.scatter(values.real, values.imag, s=8, label=model["name"])
    step = models[0]["probe_steps"][probe]
    ax_profile.set(title=f"||dL/dh_t|| after {step} updates", xlabel="time step t")
    ax_profile.legend()
    ax_spectrum.set(title="recurrent eigenvalues", aspect="equal")
    return fig
