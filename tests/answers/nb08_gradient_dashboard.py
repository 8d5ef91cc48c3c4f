"""Wrong and correct answers for 08_gradient_dashboard.

Most wrong monitors are the solution with one mistake edited in, so each variant differs from a
correct answer in exactly the way its name says.
"""

from tests.harness import Answers, read, source_path, strip_solution_markers

ASSIGNMENT = "08_gradient_dashboard"

_SOLUTION = strip_solution_markers(next(
    cell.source for cell in read(source_path(ASSIGNMENT)).cells
    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "gradient_monitor"))


def _edit(*replacements: tuple[str, str]) -> str:
    source = _SOLUTION
    for old, new in replacements:
        if old not in source:
            raise ValueError(f"the GradientMonitor solution no longer contains {old!r}")
        source = source.replace(old, new)
    return source


EXERCISES = {
    "gradient_monitor": Answers(
        wrong={
            "watches weight_ih": _edit(('"weight_hh" not in name', '"weight_ih" not in name')),
            "misses NaN": _edit(("not np.isfinite(norm) or norm > self.explode_above",
                                 "norm > self.explode_above")),
            "norm of the weights, not the gradient": _edit(
                ("parameter.grad.detach().norm()", "parameter.detach().norm()")),
            "overwrites the history": _edit(("self.param_norms.setdefault(name, []).append(norm)",
                                             "self.param_norms[name] = [norm]")),
            "inclusive thresholds": _edit(("norm > self.explode_above", "norm >= self.explode_above"),
                                          ("norm < self.vanish_below", "norm <= self.vanish_below")),
            "inclusive explosion threshold": _edit(("norm > self.explode_above",
                                                    "norm >= self.explode_above")),
            "default vanish_below 1e-5": _edit(("vanish_below=1e-6, explode_above",
                                                "vanish_below=1e-5, explode_above")),
            "default explode_above 1e3": _edit(("explode_above=1e2,", "explode_above=1e3,")),
            "state ratio upside down": _edit(("norms[0] < self.decay_below * norms[-1]",
                                              "norms[-1] < self.decay_below * norms[0]")),
            "vanishing rule on absolute norms": _edit(("norms[0] < self.decay_below * norms[-1]",
                                                       "norms[0] < self.decay_below")),
            "vanishing ratio divided, not multiplied": _edit(
                ("norms[0] < self.decay_below * norms[-1]", "norms[0] < self.decay_below / norms[-1]")),
            "inclusive vanishing ratio": _edit(("norms[0] < self.decay_below * norms[-1]",
                                                "norms[0] <= self.decay_below * norms[-1]")),
            "explosion rule on absolute norms (the largest state norm)": _edit(
                ("norms[0] > self.growth_above * norms[-1]", "norms.max() > self.growth_above")),
            "growth ratio divided, not multiplied": _edit(
                ("norms[0] > self.growth_above * norms[-1]", "norms[0] > self.growth_above / norms[-1]")),
            "inclusive growth ratio": _edit(("norms[0] > self.growth_above * norms[-1]",
                                             "norms[0] >= self.growth_above * norms[-1]")),
            "both alerts on one weight (if, not elif)": _edit(
                ("            elif norm < self.vanish_below:", "            if norm < self.vanish_below:")),
            "both alerts where only one belongs (if, not elif)": _edit(
                ("        elif self.decaying_calls >= self.patience:",
                 "        if self.decaying_calls >= self.patience:")),
            "no persistence": _edit(("self.growing_calls >= self.patience", "growing"),
                                    ("self.decaying_calls >= self.patience", "decaying")),
            "a streak that never resets": _edit(
                ("self.growing_calls + 1 if growing else 0", "self.growing_calls + growing"),
                ("self.decaying_calls + 1 if decaying else 0", "self.decaying_calls + decaying")),
            "one call too many (> patience)": _edit(
                ("self.growing_calls >= self.patience", "self.growing_calls > self.patience"),
                ("self.decaying_calls >= self.patience", "self.decaying_calls > self.patience")),
            "default patience 2": _edit(("patience=3):", "patience=2):")),
            "default growth_above 1e3": _edit(("growth_above=1e2, patience", "growth_above=1e3, patience")),
            "default decay_below 1e-5": _edit(("decay_below=1e-6, growth_above",
                                               "decay_below=1e-5, growth_above")),
            "states miss NaN": _edit(
                ("not np.all(np.isfinite(norms)) or self.growing_calls >= self.patience",
                 "self.growing_calls >= self.patience")),
            "norms kept as tensors": _edit(("parameter.grad.detach().norm().item()",
                                            "parameter.grad.detach().norm()")),
        },
        messages={"misses NaN": "a NaN in the recurrent gradient is an explosion",
                  "state ratio upside down": "norms[0] / norms[-1] = 1e-8 at three calls in a row",
                  "no persistence": "one decaying call is not an alert yet",
                  "explosion rule on absolute norms (the largest state norm)":
                      "flat 1e6 three times, then growth 1e8 three times",
                  "norms kept as tensors": "param_norms should hold Python floats"},
        correct={
            "not-at-most test catches NaN": _edit(
                ("not np.isfinite(norm) or norm > self.explode_above",
                 "not norm <= self.explode_above"),
                ("not np.all(np.isfinite(norms)) or self.growing_calls >= self.patience",
                 "not np.all(np.abs(norms) < np.inf) or self.growing_calls >= self.patience")),
            "written from scratch, persistence read from the history": '''import math
from collections import defaultdict


class GradientMonitor:
    def __init__(self, model, vanish_below=1e-6, explode_above=1e2,
                 decay_below=1e-6, growth_above=1e2, patience=3):
        self.model, self.low, self.high = model, vanish_below, explode_above
        self.decay, self.growth, self.patience = decay_below, growth_above, patience
        self.param_norms, self.state_norms, self.alerts = defaultdict(list), [], []

    def _verdict(self, value):
        if math.isnan(value) or math.isinf(value) or value > self.high:
            return "exploding"
        return "vanishing" if value < self.low else None

    def record(self, step):
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                value = float(torch.linalg.vector_norm(p.grad))
                self.param_norms[name].append(value)
                kind = self._verdict(value) if "weight_hh" in name else None
                if kind:
                    self.alerts.append((step, kind, name))

    def _lasting(self, holds):
        recent = self.state_norms[-self.patience:]
        return len(recent) == self.patience and all(holds(n[0], n[-1]) for n in recent)

    def record_states(self, step, state_grads):
        norms = np.array([float(torch.linalg.vector_norm(torch.as_tensor(g).double()))
                          for g in state_grads], dtype=np.float64)
        self.state_norms.append(norms)
        if not all(math.isfinite(v) for v in norms) or \
                self._lasting(lambda first, last: first > self.growth * last):
            self.alerts.append((step, "exploding", "states"))
        elif self._lasting(lambda first, last: first < self.decay * last):
            self.alerts.append((step, "vanishing", "states"))
''',
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n'},
        correct={"b": 'knowledge_check = "b"\n', "upper case": 'knowledge_check = "B"\n'},
    ),
}
