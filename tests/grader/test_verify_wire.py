"""What the verifier accepts from a student's kernel (grader.execute.verify.wire): plain data only."""

from __future__ import annotations

import base64
import io
import json
import pickle

import numpy as np
import pytest

from grader.execute.verify import session, wire


def npy(value, allow_pickle=False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, value, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


def decode(value, leaves=()):
    return wire.Decoder(list(leaves), lambda spec: ("handle", spec["id"])).decode(value)


def test_plain_values_come_back_as_the_builtin_types():
    value = decode({"t": "tuple", "v": ["b", {"t": "int", "v": "3"}, {"t": "float", "v": "nan"},
                                       {"t": "dict", "k": ["a"], "v": [None]}, True]})
    assert type(value) is tuple and type(value[0]) is str and type(value[1]) is int
    assert np.isnan(value[2]) and value[3] == {"a": None} and value[4] is True


def test_arrays_are_npy_without_pickles_and_numeric_only():
    got = decode({"t": "nd", "b": npy(np.arange(6.0).reshape(2, 3))})
    assert type(got) is np.ndarray and got.shape == (2, 3)
    with pytest.raises(wire.WireError):
        decode({"t": "nd", "b": npy(np.array([object()], dtype=object), allow_pickle=True)})
    with pytest.raises(wire.WireError):
        decode({"t": "nd", "b": npy(np.array(["text"]))})
    with pytest.raises(wire.WireError):
        decode({"t": "nd", "b": base64.b64encode(pickle.dumps(np.zeros(3))).decode()})


def test_numpy_scalars_keep_their_type():
    assert type(decode({"t": "npscalar", "b": npy(np.asarray(np.float64(0.5)))})) is np.float64
    assert type(decode({"t": "npscalar", "b": npy(np.asarray(np.int64(3)))})) is np.int64


def test_anything_else_is_refused():
    for bad in (3, 2.5, [1], {"t": "pickle", "v": "gASV"}, {"t": "int", "v": "1e5"},
                {"t": "float", "v": "__import__('os')"}, {"t": "dict", "k": [1], "v": []}):
        with pytest.raises(wire.WireError):
            decode(bad)
    with pytest.raises(wire.WireError):
        wire.parse("NaN")
    with pytest.raises(wire.WireError):
        wire.parse('{"a": NaN}')


def test_nesting_and_size_are_capped():
    deep = "x"
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError):
        decode(deep)
    with pytest.raises(wire.WireError):
        wire.parse("x" * (wire.MAX_MESSAGE_CHARS + 1))


def test_an_argument_handed_back_is_the_verifiers_own_object():
    mine = np.zeros(4)
    assert decode({"t": "arg", "i": 0}, [mine]) is mine
    view = decode({"t": "view", "i": 0, "offset": 8, "shape": [2], "strides": [8],
                   "dtype": "<f8", "b": npy(np.zeros(2))}, [mine])
    assert np.shares_memory(view, mine)
    with pytest.raises(wire.WireError):
        decode({"t": "arg", "i": 1}, [mine])


def test_exceptions_and_warnings_are_builtin_types_named_by_the_mro():
    error = wire.exception([["MyError", "ValueError", "Exception"], "k > t"])
    assert type(error) is ValueError and str(error) == "k > t"
    assert type(wire.exception([["Evil", "object"], "x"])) is RuntimeError
    assert type(wire.exception([["KeyboardInterrupt", "BaseException"], "x"])) is RuntimeError
    assert wire.warning([["RuntimeWarning", "Warning"], "overflow"]) == (RuntimeWarning,
                                                                        "overflow")


def test_a_test_cell_binds_only_what_it_does_not_define():
    source = ("_x = np.ones(3)\n"
              "def _helper(a, rng=None):\n"
              "    return rng\n"
              "for _k in range(2):\n"
              "    checks.check_close(tanh_derivative(_x), _helper(_k), name='t')\n"
              "checks.check_true(knowledge_check == 'b', 'w', expected=1, got=2)\n")
    assert session.used_names(source) == ["checks", "knowledge_check", "np", "range",
                                          "tanh_derivative"]
    assert json.loads(json.dumps(session.used_names("this is not python ("))) == []
