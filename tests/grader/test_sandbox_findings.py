"""The kernel guard's findings are evidence in the grader's words: a finding is untrusted data
from the submission's process, worded only from a fixed list of codes and named only from the
grader's own lists (grader.execute.sandbox.describe_finding). The end-to-end forgery is in
tests/test_sandbox.py (the "forger" submission)."""

from __future__ import annotations

import pytest

from grader.execute import sandbox
from grader.execute.sandbox import describe_finding

SECRET = b"assert np.allclose(tanh_derivative(x), expected)".hex()
UNKNOWN = "a change the grader cannot describe"


@pytest.fixture(autouse=True)
def watched(monkeypatch):
    monkeypatch.setattr(sandbox, "_WATCHED", {
        "modules": frozenset({"numpy", "course_utils", "course_utils.checks", "builtins"}),
        "attributes": frozenset({"numpy.allclose", "course_utils.checks.check_close"}),
        "classes": frozenset({"torch.nn.Module.__call__"})})


@pytest.mark.parametrize("finding, words", [
    ({"code": "attribute_replaced", "object": "course_utils.checks.check_close"},
     "course_utils.checks.check_close was replaced"),
    ({"code": "attribute_deleted", "object": "numpy.allclose"}, "numpy.allclose was deleted"),
    ({"code": "code_changed", "object": "numpy.allclose"},
     "the code or defaults of numpy.allclose were changed"),
    ({"code": "class_attribute_replaced", "object": "torch.nn.Module.__call__"},
     "torch.nn.Module.__call__ was replaced"),
    ({"code": "hook_changed", "object": "sys.meta_path"}, "sys.meta_path was changed"),
    ({"code": "shell_changed", "object": "AST transformers"},
     "the IPython AST transformers were changed"),
    ({"code": "name_rebound", "object": "np"}, "the notebook's name np no longer refers to numpy"),
    ({"code": "module_replaced", "object": "numpy"}, "sys.modules['numpy'] was replaced"),
])
def test_a_genuine_finding_is_worded_by_the_grader(finding, words):
    assert describe_finding(finding, {"np": "numpy"}) == words


@pytest.mark.parametrize("finding", [
    f"x0000{SECRET} was changed",  # the forgery the pattern-matched text let through
    {"code": "hook_changed", "object": f"x0000{SECRET}"},
    {"code": "shell_changed", "object": "<img src=x onerror=alert(1)>"},
    {"code": f"x0000{SECRET}", "object": ""},
    {"code": "name_rebound", "object": f"x0000{SECRET}"},
    {"code": "module_replaced", "object": f"numpy.x0000{SECRET}"},
    {"code": "attribute_replaced", "object": f"x0000{SECRET}"},
    {"code": "attribute_replaced", "object": ["numpy.allclose"]},
    None, 42, ["attribute_replaced"],
])
def test_a_forged_finding_carries_no_text_of_the_kernel(finding):
    words = describe_finding(finding, {"np": "numpy"})
    assert words == UNKNOWN


def test_a_made_up_attribute_of_a_watched_module_is_named_by_its_module_only():
    words = describe_finding({"code": "attribute_replaced", "object": f"numpy.x0000{SECRET}"},
                             {})
    assert words == "an attribute of numpy was replaced"
    words = describe_finding({"code": "code_changed",
                              "object": f"course_utils.checks.{SECRET}"}, {})
    assert words == "the code or defaults of an attribute of course_utils.checks were changed"
