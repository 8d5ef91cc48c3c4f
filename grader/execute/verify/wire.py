"""Reading what the student's kernel hands back: plain data only, size-capped, schema-checked.

The student's side (:mod:`grader.execute.verify.student_side`) answers in JSON in which arrays are
``.npy`` bytes (read with ``allow_pickle=False``, numeric dtypes only) and every other object is a
tagged value; nothing is unpickled and nothing is evaluated. Whatever the submission did to its
kernel, what comes out of :func:`decode` is made of Python's own ``None``, ``bool``, ``int``,
``float``, ``complex``, ``str``, ``list``, ``tuple``, ``dict``, numpy arrays and scalars, torch
tensors and dtypes, and the verifier's own objects (an argument handed back, a handle): a ``str``
subclass that lies to comparisons cannot come through.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_MESSAGE_CHARS = 256 * 2**20  # one answer of the student's kernel
MAX_ARRAY_BYTES = 128 * 2**20
MAX_DEPTH = 40
MAX_ITEMS = 1_000_000  # list items, dict entries and array elements of one answer, together
MAX_TEXT_CHARS = 1_000_000
MAX_INT_DIGITS = 4_000
NUMERIC_KINDS = "biufc"
TORCH_DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                "uint8", "bool", "complex64", "complex128")


class WireError(ValueError):
    """The student's kernel answered something that is not plain data of the agreed form."""


def parse(text: str) -> dict:
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
        raise WireError("an answer too large or not text")
    try:
        message = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError) as error:
        raise WireError(f"an answer that is not JSON ({error})") from None
    if not isinstance(message, dict):
        raise WireError("an answer that is not a JSON object")
    return message


def _no_constant(name: str):
    raise WireError(f"a bare {name} in JSON")


def array(text: Any) -> np.ndarray:
    """An ``.npy`` file, base64-encoded: a numeric array, or WireError."""
    if not isinstance(text, str) or len(text) > MAX_ARRAY_BYTES * 4 // 3 + 1024:
        raise WireError("an array that is too large or not text")
    try:
        raw = base64.b64decode(text, validate=True)
        value = np.load(io.BytesIO(raw), allow_pickle=False)
    except (binascii.Error, ValueError, OSError, EOFError) as error:
        raise WireError(f"an array that is not .npy data ({error})") from None
    if not isinstance(value, np.ndarray) or type(value) is not np.ndarray:
        raise WireError("an array that is not an ndarray")
    if value.dtype.kind not in NUMERIC_KINDS or value.dtype.fields is not None:
        raise WireError(f"an array of dtype {value.dtype} (only numbers and booleans)")
    return value


class Decoder:
    """Turns one answer's tagged JSON into values; ``leaves`` are the verifier's own arguments
    (returned by identity when the student's code returned them), ``handle`` makes the proxy
    for an object that stays in the student's kernel, ``tensor`` finishes a returned tensor
    (autograd), ``exception`` builds the verifier's exception from a type's MRO names."""

    def __init__(self, leaves: list, handle: Callable[[dict], Any],
                 tensor: Callable[[Any, dict], Any] | None = None):
        self.leaves = leaves
        self.handle = handle
        self.tensor = tensor
        self.items = 0

    def _count(self, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise WireError(f"an answer with more than {MAX_ITEMS:,} items")

    def decode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("an answer nested too deeply")
        if value is None or type(value) is bool:
            return value
        if type(value) is str:
            if len(value) > MAX_TEXT_CHARS:
                raise WireError("a string that is too long")
            return str(value)
        if type(value) is not dict:
            raise WireError(f"an untagged {type(value).__name__}")
        tag = value.get("t")
        decoder = self._BY_TAG.get(tag) if type(tag) is str else None
        if decoder is None:
            raise WireError(f"an unknown tag {str(tag)[:40]!r}")
        return decoder(self, value, depth)

    def _int(self, value: dict, depth: int) -> int:
        digits = value.get("v")
        if type(digits) is not str or len(digits) > MAX_INT_DIGITS:
            raise WireError("an integer that is not digits")
        try:
            return int(digits)
        except ValueError:
            raise WireError("an integer that is not digits") from None

    def _complex(self, value: dict, depth: int) -> complex:
        parts = value.get("v")
        if type(parts) is not list or len(parts) != 2:
            raise WireError("a complex number that is not two floats")
        return complex(self._float(parts[0]), self._float(parts[1]))

    def _sequence(self, value: dict, depth: int) -> list | tuple:
        items = value.get("v")
        if type(items) is not list:
            raise WireError(f"a {value['t']} without items")
        self._count(len(items))
        decoded = [self.decode(item, depth + 1) for item in items]
        return decoded if value["t"] == "list" else tuple(decoded)

    def _dict(self, value: dict, depth: int) -> dict:
        keys, items = value.get("k"), value.get("v")
        if type(keys) is not list or type(items) is not list or len(keys) != len(items):
            raise WireError("a dict whose keys and values do not pair up")
        self._count(len(keys))
        result = {}
        for key, item in zip(keys, items, strict=True):
            key = self.decode(key, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise WireError("a dict key that cannot be hashed") from None
            result[key] = self.decode(item, depth + 1)
        return result

    def _nd(self, value: dict, depth: int) -> np.ndarray:
        decoded = array(value.get("b"))
        self._count(decoded.size)
        return decoded

    def _npscalar(self, value: dict, depth: int) -> Any:
        decoded = array(value.get("b"))
        if decoded.shape != ():
            raise WireError("a numpy scalar that is not 0-d")
        return decoded[()]

    def _torch_dtype(self, value: dict, depth: int) -> Any:
        import torch

        if value.get("v") not in TORCH_DTYPES:
            raise WireError("an unknown torch dtype")
        return getattr(torch, value["v"])

    def _np_dtype(self, value: dict, depth: int) -> np.dtype:
        try:
            dtype = np.dtype(str(value.get("v")))
        except TypeError:
            raise WireError("an unknown numpy dtype") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
            raise WireError("a numpy dtype that is not numeric")
        return dtype

    def _handle_of(self, value: dict, depth: int) -> Any:
        if type(value.get("id")) is not int or value.get("kind") not in (
                "class", "callable", "object"):
            raise WireError("a handle without an id")
        return self.handle({"id": value["id"], "kind": value["kind"],
                            "type": str(value.get("type", ""))[:100]})

    _BY_TAG = {
        "int": _int,
        "float": lambda self, value, depth: self._float(value.get("v")),
        "complex": _complex,
        "list": _sequence,
        "tuple": _sequence,
        "dict": _dict,
        "nd": _nd,
        "npscalar": _npscalar,
        "arg": lambda self, value, depth: self._leaf(value.get("i")),
        "view": lambda self, value, depth: self._view(value),
        "tensor": lambda self, value, depth: self._tensor(value),
        "torch_dtype": _torch_dtype,
        "np_dtype": _np_dtype,
        "handle": _handle_of,
    }

    @staticmethod
    def _float(text: Any) -> float:
        if type(text) is not str or len(text) > 40:
            raise WireError("a float that is not a number")
        try:
            return float(text)
        except ValueError:
            raise WireError("a float that is not a number") from None

    def _leaf(self, index: Any):
        if type(index) is not int or not 0 <= index < len(self.leaves):
            raise WireError("a reference to an argument that was not passed")
        return self.leaves[index]

    def _view(self, value: dict) -> np.ndarray:
        """An array that shares memory with an argument: a view of the verifier's own argument
        when it fits inside it, else a copy of the data sent along."""
        data = array(value.get("b"))
        leaf = self._leaf(value.get("i"))
        offset, shape, strides = value.get("offset"), value.get("shape"), value.get("strides")
        if (isinstance(leaf, np.ndarray) and leaf.flags.c_contiguous and type(offset) is int
                and type(shape) is list and type(strides) is list and len(shape) == len(strides)
                and all(type(n) is int and n >= 0 for n in shape)
                and all(type(s) is int for s in strides) and data.shape == tuple(shape)):
            low = offset + sum(min(0, (n - 1) * s) for n, s in zip(shape, strides, strict=True) if n)
            high = offset + sum(max(0, (n - 1) * s) for n, s in zip(shape, strides, strict=True) if n)
            if 0 <= low and high + data.dtype.itemsize <= leaf.nbytes and data.size:
                try:
                    return np.ndarray(tuple(shape), data.dtype, buffer=leaf, offset=offset,
                                      strides=tuple(strides))
                except (TypeError, ValueError):
                    pass  # not expressible as a view of the argument: the copy below
        return data

    def _tensor(self, value: dict):
        import torch

        dtype = value.get("dtype")
        if dtype not in TORCH_DTYPES:
            raise WireError("a tensor of an unknown dtype")
        data = array(value.get("b"))
        self._count(data.size)
        view = value.get("view")
        if view is not None:
            leaf = self._leaf(view.get("i") if type(view) is dict else None)
            size, stride, offset = view.get("size"), view.get("stride"), view.get("offset")
            if (isinstance(leaf, torch.Tensor) and type(offset) is int and type(size) is list
                    and type(stride) is list and list(data.shape) == size):
                try:
                    return leaf.as_strided(size, stride, leaf.storage_offset() + offset)
                except (RuntimeError, TypeError):
                    pass  # outside the argument's storage: the copy below
        tensor = torch.from_numpy(data.copy()).to(getattr(torch, dtype))
        if self.tensor is not None:
            return self.tensor(tensor, value)
        return tensor


BUILTIN_EXCEPTIONS = {
    name: kind for name, kind in vars(__import__("builtins")).items()
    if isinstance(kind, type) and issubclass(kind, Exception)
}


def exception(spec: Any) -> Exception:
    """The verifier's exception for one the student's code raised: the first type of its MRO
    that is a builtin exception (or numpy's LinAlgError), with its message as text. Never a
    type of the submission's; never anything evaluated."""
    if type(spec) is not list or len(spec) != 2 or type(spec[0]) is not list:
        raise WireError("an exception without type and message")
    names, message = spec
    message = str(message)[:4000] if type(message) is str else ""
    for name in names[:50]:
        if name == "LinAlgError":
            return np.linalg.LinAlgError(message)
        kind = BUILTIN_EXCEPTIONS.get(name) if type(name) is str else None
        if kind is not None:
            try:
                return kind(message)
            except TypeError:  # needs more arguments (UnicodeDecodeError...): its base instead
                continue
    return RuntimeError(message)


WARNING_TYPES = {name: kind for name, kind in BUILTIN_EXCEPTIONS.items()
                 if issubclass(kind, Warning)}


def warning(spec: Any) -> tuple[type[Warning], str]:
    if type(spec) is not list or len(spec) != 2 or type(spec[0]) is not list:
        raise WireError("a warning without category and message")
    names, message = spec
    for name in names[:50]:
        if type(name) is str and name in WARNING_TYPES:
            return WARNING_TYPES[name], str(message)[:2000]
    return UserWarning, str(message)[:2000]
