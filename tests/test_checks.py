import re
import sys
import warnings

import numpy as np
import pytest

from course_utils import checks


def message_of(call, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_check_close_passes_on_matching_values():
    checks.check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12], name="f(x)")
    checks.check_close(0.25, 0.25, name="f(0)")


def test_check_close_reports_expected_got_and_where():
    x = np.array([0.0, 1.0, 2.0])
    text = message_of(checks.check_close, np.array([1.0, 0.0, 9.0]), [1.0, 0.0, 3.0],
                      name="g(x)", inputs=x, hint="look at g")
    assert "g(x): wrong value at x = 2." in text
    assert "expected: 3." in text and "got:      9." in text and "suspect:  look at g" in text


def test_check_close_names_a_recognised_mistake_before_the_hint():
    x = np.array([0.5, 1.0])
    text = message_of(checks.check_close, 1 - x**2, 1 - np.tanh(x) ** 2, name="d",
                      mistakes={"1 - x**2": 1 - x**2}, hint="generic")
    assert "suspect:  1 - x**2" in text and "generic" not in text


def test_check_close_catches_shape_nan_and_non_numeric():
    assert "wrong shape" in message_of(checks.check_close, np.zeros(3), np.zeros(4), name="f")
    assert "non-finite" in message_of(checks.check_close, np.array([np.nan]), [0.0], name="f")
    assert "not numeric" in message_of(checks.check_close, None, [0.0], name="f")


def test_check_array_type_shape_and_dtype():
    arr = np.zeros((2, 3))
    assert checks.check_array(arr, name="f", shape=(2, 3)) is arr
    assert "numpy array" in message_of(checks.check_array, [0.0], name="f")
    assert "wrong shape" in message_of(checks.check_array, arr, name="f", shape=(3, 2))
    assert "floating-point" in message_of(checks.check_array, arr > 0, name="f")
    checks.check_array(arr > 0, name="mask", floating=False)


def test_call_without_warnings_returns_or_fails():
    assert checks.call_without_warnings(np.add, 1, 2, name="add") == 3

    def noisy():
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)
        return 0

    text = message_of(checks.call_without_warnings, noisy, name="noisy()")
    assert "RuntimeWarning: overflow encountered" in text and "suspect:" in text


def test_check_not_mutated():
    before = np.arange(3.0)
    checks.check_not_mutated(before, before.copy(), name="f")
    assert "modified its input" in message_of(checks.check_not_mutated, before, before + 1,
                                              name="f")


def test_check_raises():
    def strict(k):
        if k > 1:
            raise ValueError("k too large")
        return k

    assert isinstance(checks.check_raises(ValueError, strict, 2, name="strict"), ValueError)
    assert "should raise ValueError" in message_of(checks.check_raises, ValueError, strict, 0,
                                                   name="strict")


@pytest.mark.parametrize("answer", ["b", "B", " c "])
def test_check_choice_accepts_one_letter(answer):
    assert checks.check_choice(answer, "abcd", name="q") == answer.strip().lower()


@pytest.mark.parametrize("answer", ["bc", "e", "", None, 2])
def test_check_choice_rejects_everything_else(answer):
    assert "one letter" in message_of(checks.check_choice, answer, "abcd", name="q")


def test_check_true():
    checks.check_true(True, "fine", expected=1, got=1)
    text = message_of(checks.check_true, False, "broken", expected=1, got=2, suspect="s")
    assert text.splitlines()[0] == "broken" and "suspect:  s" in text


def test_notebook_tracebacks_hide_the_checks_own_frames():
    """IPython (JupyterLab, nbgrader's feedback) skips frames whose locals hold
    ``__tracebackhide__``: a failing check shows the test cell's line, then the message, not the
    checks' internals (only the frame that raises stays, IPython never hides the last one)."""
    from IPython.core.ultratb import AutoFormattedTB

    def test_cell():
        checks.check_close(np.array([1.0, 2.0]), [1.0, 3.0], name="f(x)", hint="look at f")

    try:
        test_cell()
    except AssertionError:
        etype, value, tb = sys.exc_info()
    text = "\n".join(AutoFormattedTB(mode="Context").structured_traceback(etype, value, tb))
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "test_cell()" in text and "skipping hidden" in text
    assert "in check_close" not in text and "_matching_mistake" not in text
    assert text.count("course_utils/checks.py") == 1 and "suspect:  look at f" in text
