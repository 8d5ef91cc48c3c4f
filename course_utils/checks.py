"""Assertions for notebook test cells (introduced in notebook 01).

Each check raises ``AssertionError`` with a message in three parts, in the spirit of CS231n and
deeplearning.ai checks::

    tanh_derivative(x): wrong value at x = 2.0
      expected: 0.0706508
      got:      -3
      suspect:  1 - x**2 -- the derivative needs tanh(x), not x

``mistakes`` maps a description of a common mistake to the value that mistake produces; when the
student's result matches one of them, the message names it. The expected values themselves always
come from an independent oracle computed in the test cell (autograd, a closed form, finite
differences), never from this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_choice",
    "check_close",
    "check_not_mutated",
    "check_raises",
    "check_tensor",
    "check_true",
    "call_without_warnings",
    "fail",
]


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray) or np.isscalar(value):
        arr = np.asarray(value)
        if arr.ndim == 0:
            return np.array2string(arr, precision=7)
        text = np.array2string(arr, precision=6, threshold=12, edgeitems=3, max_line_width=88)
        return f"{text}  (shape {arr.shape}, dtype {arr.dtype})"
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "..."


def fail(what: str, expected: Any, got: Any, suspect: str | None = None) -> None:
    """Raise the course's standard three-part ``AssertionError``."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    lines = [what, f"  expected: {_show(expected)}", f"  got:      {_show(got)}"]
    if suspect:
        lines.append(f"  suspect:  {suspect}")
    raise AssertionError("\n".join(lines))


def check_true(condition: bool, what: str, *, expected: Any, got: Any,
               suspect: str | None = None) -> None:
    """Fail with the standard message unless ``condition`` holds."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    if not condition:
        fail(what, expected, got, suspect)


def check_array(got: Any, *, name: str, shape: tuple[int, ...] | None = None,
                floating: bool = True) -> np.ndarray:
    """Check that ``got`` is a numpy array with the given shape (and a float dtype); return it."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    if not isinstance(got, np.ndarray):
        fail(f"{name}: should return a numpy array", "numpy.ndarray", type(got).__name__,
             "return an array for array input (np.tanh, np.exp and friends keep arrays arrays; "
             "math.tanh or a Python loop do not)")
    if shape is not None and got.shape != tuple(shape):
        fail(f"{name}: wrong shape", tuple(shape), got.shape,
             "keep the input's shape: operate elementwise, no reductions or reshapes")
    if floating and not np.issubdtype(got.dtype, np.floating):
        fail(f"{name}: should return floating-point values", "a float dtype", got.dtype,
             "a comparison such as x > 0 gives booleans; convert with .astype(float) or np.where")
    return got


def _matching_mistake(got: np.ndarray, mistakes: Mapping[str, Any] | None,
                      rtol: float, atol: float) -> str | None:
    for description, value in (mistakes or {}).items():
        candidate = np.asarray(value)
        if candidate.shape == got.shape and np.allclose(got, candidate, rtol=rtol, atol=atol,
                                                        equal_nan=True):
            return description
    return None


def check_close(got: Any, expected: Any, *, name: str, rtol: float = 1e-7, atol: float = 1e-12,
                inputs: Any = None, input_name: str = "x",
                mistakes: Mapping[str, Any] | None = None, hint: str | None = None) -> None:
    """Check ``got`` against ``expected`` elementwise (``np.allclose`` semantics, NaN never equal).

    ``inputs`` (same shape as ``expected``) lets the message show where the worst mismatch sits.
    Complex values (notebook 09) are compared as complex numbers: ``|got - expected|`` against
    ``atol + rtol * |expected|``, so a lost imaginary part is a wrong value.
    """
    __tracebackhide__ = True  # IPython shows the message, not this frame
    complex_valued = np.iscomplexobj(expected) or np.iscomplexobj(got)
    dtype = complex if complex_valued else float
    expected_arr = np.asarray(expected, dtype=dtype)
    try:
        if got is None or isinstance(got, (str, bytes)):
            raise TypeError(type(got).__name__)
        got_arr = np.asarray(got, dtype=dtype)
    except (TypeError, ValueError):
        fail(f"{name}: the result is not numeric", expected_arr, got,
             "return numbers (a float or a numpy array), not None or a string")
    if got_arr.shape != expected_arr.shape:
        fail(f"{name}: wrong shape", expected_arr.shape, got_arr.shape,
             "keep the input's shape: operate elementwise, no reductions or reshapes")
    finite = np.isfinite(expected_arr)
    if np.any(finite & ~np.isfinite(got_arr)):
        bad = np.flatnonzero(finite & ~np.isfinite(got_arr))[0]
        where = _where(inputs, bad, input_name)
        fail(f"{name}: non-finite result{where}", expected_arr.flat[bad], got_arr.flat[bad],
             _matching_mistake(got_arr, mistakes, rtol, atol) or hint or
             "an intermediate overflowed (inf/inf or inf*0 gives nan); "
             "rewrite the formula so no intermediate can overflow")
    close = np.isclose(got_arr, expected_arr, rtol=rtol, atol=atol)
    if not np.all(close):
        error = np.where(close, 0.0, np.abs(got_arr - expected_arr))
        worst = int(np.nanargmax(np.where(np.isnan(error), np.inf, error)))
        where = _where(inputs, worst, input_name)
        fail(f"{name}: wrong value{where}", expected_arr.flat[worst], got_arr.flat[worst],
             _matching_mistake(got_arr, mistakes, rtol, atol) or hint)


def _where(inputs: Any, flat_index: int, input_name: str) -> str:
    if inputs is None:
        return ""
    arr = np.asarray(inputs)
    if arr.ndim == 0:
        return f" at {input_name} = {_show(arr)}"
    return f" at {input_name} = {_show(arr.flat[flat_index])}"


def call_without_warnings(fn: Callable[..., Any], *args: Any, name: str,
                          suspect: str | None = None, **kwargs: Any) -> Any:
    """Call ``fn`` and fail if it emits any warning (overflow, invalid value, ...)."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    if caught:
        first = caught[0]
        fail(f"{name}: emitted a warning", "no warning",
             f"{first.category.__name__}: {first.message}",
             suspect or "an intermediate overflowed; rearrange so that only exp of a "
                        "non-positive number is ever computed")
    return result


def check_not_mutated(before: Any, after: Any, *, name: str) -> None:
    """Fail if an input array changed during a call (compare a copy taken before the call)."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    if not np.array_equal(np.asarray(before), np.asarray(after), equal_nan=True):
        fail(f"{name}: modified its input array", "the input unchanged", "the input was changed",
             "in-place operations (+=, *=, out=, x[...] = ...) write into the caller's array; "
             "work on a copy or build a new array")


def check_raises(exception: type[BaseException], fn: Callable[..., Any], *args: Any, name: str,
                 suspect: str | None = None, **kwargs: Any) -> BaseException:
    """Fail unless ``fn(*args, **kwargs)`` raises ``exception``; return the exception raised."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    try:
        result = fn(*args, **kwargs)
    except exception as error:
        return error
    fail(f"{name}: should raise {exception.__name__}", exception.__name__,
         f"returned {_show(result)}", suspect)
    raise AssertionError("unreachable")  # fail() always raises; keeps type checkers honest


def check_choice(answer: Any, options: str, *, name: str) -> str:
    """Validate a multiple-choice answer: one letter out of ``options``; return it lower-cased.

    Says only whether the *format* is right; which letter is right is a hidden test.
    """
    __tracebackhide__ = True  # IPython shows the message, not this frame
    letters = options.lower()
    if not isinstance(answer, str) or answer.strip().lower() not in letters or \
            len(answer.strip()) != 1:
        fail(f"{name}: answer with one letter", f"one of {', '.join(letters)!s}", answer,
             f'assign a string, e.g. {name} = "{letters[0]}"')
    return answer.strip().lower()


def check_tensor(got: Any, *, name: str, shape: tuple[int, ...] | None = None,
                 floating: bool = True):
    """Check that ``got`` is a torch tensor with the given shape (and a float dtype); return it
    detached, ready for :func:`check_close` (added for notebook 06)."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    import torch

    if not isinstance(got, torch.Tensor):
        fail(f"{name}: should return a torch tensor", "torch.Tensor", type(got).__name__,
             "use torch operations (torch.sigmoid, torch.tanh, @) on the tensors you are given; "
             "numpy functions or .numpy() leave torch and autograd behind")
    if shape is not None and tuple(got.shape) != tuple(shape):
        fail(f"{name}: wrong shape", tuple(shape), tuple(got.shape),
             "check which axis is the batch and which the features; a transposed weight "
             "(W instead of W.T) or a reduction changes the shape")
    if floating and not got.dtype.is_floating_point:
        fail(f"{name}: should hold floating-point values", "a float dtype", got.dtype,
             "a comparison gives booleans and integer arithmetic gives integers; use floats")
    return got.detach()
