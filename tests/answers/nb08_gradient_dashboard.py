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
            "state ratio upside down": _edit(("norms[0] < self.vanish_below * norms[-1]",
                                              "norms[-1] < self.vanish_below * norms[0]")),
            "states miss NaN": _edit(
                ("not np.all(np.isfinite(norms)) or norms.max() > self.explode_above",
                 "norms.max() > self.explode_above")),
            "norms kept as tensors": _edit(("parameter.grad.detach().norm().item()",
                                            "parameter.grad.detach().norm()")),
        },
        messages={"misses NaN": "a NaN in the recurrent gradient is an explosion",
                  "state ratio upside down": "norms[0] / norms[-1] = 1e-8 is vanishing",
                  "norms kept as tensors": "param_norms should hold Python floats"},
        correct={
            "not-at-most test catches NaN": _edit(
                ("not np.isfinite(norm) or norm > self.explode_above",
                 "not norm <= self.explode_above"),
                ("not np.all(np.isfinite(norms)) or norms.max() > self.explode_above",
                 "not np.all(norms <= self.explode_above)")),
            "written from scratch": '''import math
from collections import defaultdict


class GradientMonitor:
    def __init__(self, model, vanish_below=1e-6, explode_above=1e2):
        self.model, self.low, self.high = model, vanish_below, explode_above
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

    def record_states(self, step, state_grads):
        norms = np.array([float(torch.linalg.vector_norm(torch.as_tensor(g).double()))
                          for g in state_grads], dtype=np.float64)
        self.state_norms.append(norms)
        worst = max(norms, key=lambda v: math.inf if math.isnan(v) else v)
        if self._verdict(worst) == "exploding":
            self.alerts.append((step, "exploding", "states"))
        elif norms[0] < self.low * norms[-1]:
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
