"""The verifier's side: test cells run unchanged in a clean kernel, the student's names are proxies.

Imported in the verifier kernel (see :mod:`grader.execute.verify.session`), which never runs a line of the
submission: it runs the notebook's setup cell and test cells as the grader has them, and every name
a test cell uses that the verifier does not define itself (``tanh_derivative``, ``GradientMonitor``,
``knowledge_check``, ``plain``) is bound, before the cell, to what the student's kernel answers for
it: plain data (a string, numbers, arrays) or a proxy. Calling a proxy sends the inputs to the
student's kernel (pickled: the verifier's data going in is not a risk) and reads back plain data
(:mod:`grader.execute.verify.wire`): the result, the arguments after the call (copied back into the
verifier's own objects, so "input not modified" is checked on data), the warnings it emitted
(re-emitted here), the exception it raised (re-raised as the same builtin type), the operations a
test's spy array went through (replayed here through the spy's own class).

A function the test passes in (``central_difference(f, x)``), a torch module
(``GradientMonitor(model)``), any object that is not plain data, stays here: the student's side
gets a stand-in whose every use comes back as a request answered with a copy of the result. A
returned tensor that requires grad is tied into this kernel's autograd graph by
:class:`RemoteGrad`, whose backward asks the student's kernel for the vector-Jacobian product its
own autograd computes.
"""

from __future__ import annotations

import base64
import functools
import io
import itertools
import json
import pickle
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import wire

SERVE = "_rnn_grader_serve"
# Library modules whose functions, classes and objects travel by reference (the student's kernel
# imports its own copy); everything else that is not plain data stays in the verifier.
LIBRARIES = ("numpy", "torch", "math", "builtins", "collections", "copyreg", "functools",
             "operator", "_operator", "cmath", "fractions", "decimal")
STUDENT_STREAM_CHARS = 0  # what the student's code prints while a test calls it is not shown


class StudentError(RuntimeError):
    """The student's kernel could not answer (it died, stopped answering, broke the protocol)."""


def _student_side_source() -> str:
    return (Path(__file__).with_name("student_side.py")).read_text(encoding="utf-8")


class Channel:
    """The verifier's connection to the student's kernel: one request at a time, answered through
    the stdin channel (see student_side), with callbacks into this kernel on the way."""

    def __init__(self, connection: dict, timeout: float = 300.0):
        from jupyter_client.blocking import BlockingKernelClient

        self.client = BlockingKernelClient()
        self.client.load_connection_info(connection)
        self.client.start_channels(iopub=False, hb=True)
        self.timeout = timeout
        self.installed = False
        self.serving: str | None = None  # msg id of the student's serving loop, when running
        self.calls = itertools.count(1)
        self.verifier_objects: dict[int, Any] = {}
        self.handles: dict[int, Handle] = {}

    def close(self) -> None:
        self.client.stop_channels()

    # ------------------------------------------------------------------ requests

    def _install(self) -> None:
        code = ("import sys as _s, types as _t\n"
                f"_m = _t.ModuleType({SERVE!r})\n"
                f"exec(compile({_student_side_source()!r}, {SERVE!r}, 'exec'), _m.__dict__)\n"
                f"_s.modules[{SERVE!r}] = _m\n"
                "del _s, _t, _m\n")
        reply = self._execute(code)
        if reply.get("status") != "ok":
            raise StudentError("the grader's helper could not be installed in the student's "
                               f"kernel ({reply.get('ename')}: {reply.get('evalue')})")
        self.installed = True

    def request(self, request: dict) -> dict:
        """Send ``request`` to the student's side; its answer (parsed JSON, not yet decoded).
        The first request of a test cell starts the student's serving loop (:meth:`finish`
        ends it)."""
        if not self.installed:
            self._install()
        if self.serving is None:
            # stop_on_error=False: a serving loop that ended in an error must not make the
            # kernel abort the next one.
            self.serving = self.client.execute(f"__import__({SERVE!r}).serve()", silent=True,
                                               store_history=False, allow_stdin=True,
                                               stop_on_error=False)
            ready = self._next_prompt()
            if "ready" not in ready:
                raise StudentError("the student's kernel did not start the grader's helper")
        self.client.input(self._encode_reply(request))
        while True:
            message = self._next_prompt()
            if "callback" in message:
                self.client.input(self._callback(message))
            elif "result" in message:
                if type(message["result"]) is not dict:
                    raise StudentError("the student's kernel answered without a result")
                return message["result"]
            else:
                raise wire.WireError("an input request that is neither a result nor a callback")

    def finish(self) -> None:
        """End the student's serving loop (after a test cell): the student's kernel is idle
        again when this returns."""
        if self.serving is None:
            return
        serving, self.serving = self.serving, None
        try:
            self.client.input(self._encode_reply({"kind": "stop"}))
            self._wait(serving, prompts=False)
        except StudentError:
            pass  # a kernel that died or broke the protocol: nothing is waiting any more

    def _encode_reply(self, value: Any) -> str:
        return base64.b64encode(self._pickle(value)[0]).decode("ascii")

    def _next_prompt(self) -> dict:
        """The next input request of the serving loop, parsed; StudentError when the loop ended
        instead (the student's code broke it, the kernel died) or the time ran out."""
        content = self._wait(self.serving, prompts=True)
        return wire.parse(content.get("prompt", ""))

    def _execute(self, code: str) -> dict:
        msg_id = self.client.execute(code, silent=True, store_history=False, allow_stdin=False,
                                     stop_on_error=False)
        return self._wait(msg_id, prompts=False)

    def _wait(self, msg_id: str, prompts: bool) -> dict:
        """The next input request of ``msg_id`` (``prompts``) or its execute reply."""
        import zmq

        client = self.client
        shell, stdin = client.shell_channel, client.stdin_channel
        poller = zmq.Poller()
        poller.register(shell.socket, zmq.POLLIN)
        poller.register(stdin.socket, zmq.POLLIN)
        deadline = time.monotonic() + self.timeout
        quiet_since = time.monotonic()
        try:
            while True:
                ready = dict(poller.poll(1000))
                if stdin.socket in ready:
                    message = client.get_stdin_msg(timeout=0)
                    quiet_since = time.monotonic()
                    if message["parent_header"].get("msg_id") == msg_id:
                        if prompts:
                            return message["content"]
                        client.input("")  # an input() after stop: answered empty
                if shell.socket in ready:
                    reply = client.get_shell_msg(timeout=0)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        if prompts:
                            self.serving = None
                            content = reply["content"]
                            raise StudentError(
                                "the student's kernel stopped answering the grader's requests "
                                f"({content.get('ename', content.get('status'))}: "
                                f"{str(content.get('evalue', ''))[:200]})")
                        return reply["content"]
                if not ready:
                    if time.monotonic() > deadline:
                        self.interrupt()  # the next request must not queue behind this one
                        raise StudentError(f"the student's code ran longer than "
                                           f"{self.timeout:g} s")
                    if time.monotonic() - quiet_since > 3 and not client.hb_channel.is_beating():
                        self.serving = None
                        raise StudentError("the student's kernel died")
        except KeyboardInterrupt:
            self.interrupt()
            raise

    def interrupt(self) -> None:
        """Stop what the student's code is doing (the verifier's cell was interrupted)."""
        message = self.client.session.msg("interrupt_request", {})
        self.client.control_channel.send(message)

    def _callback(self, message: dict) -> str:
        """A use of one of the verifier's objects by the student's code: do it here, answer with
        a copy of the result (or the exception's type and message)."""
        try:
            target = self.verifier_objects[message["callback"]]
            decoder = wire.Decoder([], self._handle)
            args, kwargs = decoder.decode(message.get("args"))
            op, name = message.get("op"), message.get("name")
            if op == "call" and callable(target):
                value = target(*args, **kwargs)
            elif op == "getattr" and type(name) is str and not name.startswith("_") and \
                    _library_object(target):
                value = getattr(target, name)
            elif op == "getitem" and _library_object(target):
                value = target[args[0]]
            elif op == "len" and _library_object(target):
                value = len(target)
            elif op == "iter" and _library_object(target):
                value = list(target)
            else:
                raise TypeError(f"this object of the test's does not support {op}")
            if isinstance(value, types.GeneratorType):
                value = list(value)
            answer = {"value": value}
        except Exception as error:  # the student's code sees the test's exception
            answer = {"raise": [type(error).__name__ if type(error).__module__ == "builtins"
                                else "RuntimeError", str(error)[:2000]]}
        return self._encode_reply(answer)

    # ------------------------------------------------------------------ data going in

    def _pickle(self, value: Any) -> tuple[bytes, Inputs]:
        buffer = io.BytesIO()
        inputs = Inputs(buffer, self)
        inputs.dump(value)
        return buffer.getvalue(), inputs

    def _handle(self, spec: dict) -> Any:
        handle = self.handles.get(spec["id"])
        if handle is None:
            kind = {"class": RemoteClass, "callable": RemoteCallable}.get(spec["kind"], Handle)
            handle = kind(self, spec["id"], spec["type"])
            self.handles[spec["id"]] = handle
        return handle

    # ------------------------------------------------------------------ using the student's objects

    def lookup(self, names: list[str]) -> dict[str, Any]:
        answer = self.request({"kind": "lookup", "names": list(names)})
        found = wire.Decoder([], self._handle).decode(
            {"t": "dict", "k": list(answer.get("value", {}).keys()),
             "v": list(answer.get("value", {}).values())}) if type(
                 answer.get("value")) is dict else {}
        if "raise" in answer:
            raise wire.exception(answer["raise"])
        return {name: value for name, value in found.items() if name in names}

    def use(self, kind: str, handle: int, args: tuple = (), kwargs: dict | None = None,
            name: str | None = None) -> Any:
        """Do ``kind`` (call, getattr, getitem, ...) to the student's object ``handle``."""
        import torch

        call = next(self.calls)
        payload, inputs = self._pickle((handle, list(args), dict(kwargs or {})))
        answer = self.request({
            "kind": kind, "call": call, "payload": payload, "name": name,
            "grad": torch.is_grad_enabled(),
            "errstate": {k: v for k, v in np.geterr().items() if k != "call"}})
        self._copy_back(inputs, answer)
        self._replay(inputs, answer.get("events", []))
        for spec in answer.get("warnings", [])[:100]:
            category, message = wire.warning(spec)
            warnings.warn(message, category, stacklevel=3)
        if "raise" in answer:
            raise wire.exception(answer["raise"])
        outputs: list = []
        decoder = wire.Decoder(inputs.leaves, self._handle,
                               lambda tensor, tag: outputs.append((tensor, tag)) or tensor)
        value = decoder.decode(answer.get("value"))
        if any(tag.get("output") is not None for _, tag in outputs):
            value = self._attach(call, value, outputs, inputs)
        return value

    def _copy_back(self, inputs: Inputs, answer: dict) -> None:
        """The arguments as the student's code left them, copied into the verifier's own objects
        (only where they differ: a tensor written to needlessly would fail autograd's checks)."""
        import torch

        after = answer.get("after", [])
        if type(after) is not list or len(after) != len(inputs.leaves):
            raise wire.WireError("the arguments after the call do not match those sent")
        for leaf, text in zip(inputs.leaves, after, strict=True):
            value = wire.array(text)
            if isinstance(leaf, torch.Tensor):
                current = leaf.detach().cpu().numpy()
                if value.shape == current.shape and value.dtype == current.dtype and \
                        value.tobytes() != current.tobytes():
                    with torch.no_grad():
                        leaf.copy_(torch.from_numpy(value.copy()))
            elif isinstance(leaf, np.ndarray):
                if value.shape == leaf.shape and value.dtype == leaf.dtype and \
                        value.tobytes() != np.ascontiguousarray(leaf).tobytes() and \
                        leaf.flags.writeable:
                    np.copyto(leaf, value.view(type(leaf)) if type(leaf) is not np.ndarray
                              else value)
        states = answer.get("generators", [])
        if type(states) is not list or len(states) != len(inputs.generators):
            raise wire.WireError("the generators after the call do not match those sent")
        for generator, state in zip(inputs.generators, states, strict=True):
            if type(state) is not dict or state.get("bit_generator") != \
                    generator.bit_generator.state["bit_generator"]:
                raise wire.WireError("a generator state of another kind")
            try:
                generator.bit_generator.state = _plain_state(state)
            except (TypeError, ValueError, KeyError) as error:
                raise wire.WireError(f"an invalid generator state ({error})") from None

    def _replay(self, inputs: Inputs, events: Any) -> None:
        """The numpy operations the student's code did with a test's spy array, done again here
        on stand-in arrays of the same shapes, through the spy's own class."""
        if not inputs.spies or not events:
            return
        if type(events) is not list or len(events) > 200_000:
            raise wire.WireError("an operation log that is not a list")
        spy = inputs.spies[0]
        filler = np.random.default_rng(0)
        for event in events:
            if type(event) is not list or len(event) != 4:
                raise wire.WireError("an operation log entry of another form")
            kind, name, method, operands = event
            operands = [_stand_in(o, spy, filler) for o in operands] if type(
                operands) is list else []
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if kind == "u" and isinstance(getattr(np, str(name), None), np.ufunc) and \
                            method in ("__call__", "reduce", "accumulate", "outer", "reduceat"):
                        getattr(getattr(np, name), method)(*operands)
                    elif kind == "f":
                        function = _numpy_function(str(name))
                        if function is not None:
                            function(*operands)
                except (ValueError, TypeError, IndexError, np.linalg.LinAlgError,
                        FloatingPointError, ZeroDivisionError):
                    pass  # the spy has seen the operation; its stand-in result is not needed

    def _attach(self, call: int, value: Any, outputs: list, inputs: Inputs) -> Any:
        """Tensors the student's code returned that require grad, tied to the verifier's inputs
        through RemoteGrad (a returned tensor that requires grad but depends on no input is a
        leaf of its own)."""
        import torch

        tied = [(tensor, tag) for tensor, tag in outputs if tag.get("output") is not None]
        sources = inputs.grad_leaves
        replacements: dict[int, Any] = {}
        if sources and torch.is_grad_enabled():
            results = RemoteGrad.apply(_Backward(self, call, [t for t, _ in tied]), *sources)
            results = results if isinstance(results, tuple) else (results,)
            for (tensor, _), result in zip(tied, results, strict=True):
                replacements[id(tensor)] = result
        else:
            for tensor, _ in tied:
                replacements[id(tensor)] = tensor.requires_grad_(True)
        return _replace(value, replacements)

    def release(self) -> None:
        """Forget the objects both sides kept for earlier cells."""
        self.verifier_objects.clear()
        if self.handles:
            handles, self.handles = list(self.handles), {}
            try:
                self.request({"kind": "release", "handles": handles})
            except StudentError:
                pass  # a dead kernel keeps nothing


def _library_object(target: Any) -> bool:
    """Objects of library classes (a torch module, a generator it returned) may be read by the
    student's code; a test's own functions and objects may only be called."""
    if isinstance(target, (types.FunctionType, types.MethodType, types.BuiltinMethodType)):
        return False
    return type(target).__module__.split(".")[0] in LIBRARIES


def _plain_state(state: dict) -> dict:
    return json.loads(json.dumps(state))


def _numpy_function(dotted: str):
    parts = dotted.split(".")
    if not parts or parts[0] != "numpy":
        return None
    target: Any = np
    for part in parts[1:]:
        if part.startswith("_") and part not in ("_core",):
            return None
        target = getattr(target, part, None)
        if target is None:
            return None
    return target if callable(target) else None


def _stand_in(description: Any, spy: type, filler) -> Any:
    if type(description) is not list or not description:
        return None
    if description[0] == "A" and len(description) == 4:
        shape, dtype, recorded = description[1], description[2], description[3]
        if type(shape) is not list or not all(type(n) is int and 0 <= n <= 10_000 for n in shape)\
                or int(np.prod(shape)) > 10_000_000:
            raise wire.WireError("an operation on an array of an implausible shape")
        try:
            dtype = np.dtype(str(dtype))
        except TypeError:
            raise wire.WireError("an operation on an array of an unknown dtype") from None
        if dtype.kind not in wire.NUMERIC_KINDS:
            raise wire.WireError("an operation on an array that is not numeric")
        array = filler.normal(size=shape).astype(dtype) + (np.eye(*shape[-2:]) if len(
            shape) >= 2 and dtype.kind in "fc" else 0)
        return array.view(spy) if recorded else array
    if description[0] == "L" and len(description) == 2 and type(description[1]) is list:
        return [_stand_in(d, spy, filler) for d in description[1]]
    if description[0] == "s" and len(description) == 2:
        return float(description[1]) if type(description[1]) in (int, float) else 0.0
    return None


def _replace(value: Any, replacements: dict[int, Any]) -> Any:
    if id(value) in replacements:
        return replacements[id(value)]
    if type(value) is list:
        return [_replace(v, replacements) for v in value]
    if type(value) is tuple:
        return tuple(_replace(v, replacements) for v in value)
    if type(value) is dict:
        return {k: _replace(v, replacements) for k, v in value.items()}
    return value


class Inputs(pickle.Pickler):
    """Pickles the inputs of one request: arrays and tensors as ``.npy`` bytes (kept in order,
    to read the arguments back after the call), generators by state, library objects by
    reference, and every other object of the verifier's (functions, modules, objects of the
    test's) as a stand-in whose uses come back here."""

    def __init__(self, file, channel: Channel):
        super().__init__(file, protocol=4)
        self.channel = channel
        self.leaves: list = []
        self.grad_leaves: list = []
        self.generators: list = []
        self.spies: list[type] = []
        self.seen: dict[int, int] = {}
        self.keep: list = []  # objects whose id() is in seen stay alive while pickling

    def persistent_id(self, obj: Any):  # noqa: C901 - one decision per kind of object
        import torch

        if obj is None or type(obj) in (bool, int, float, complex, str, bytes, tuple, list,
                                        dict, set, frozenset, slice, range):
            return None
        if isinstance(obj, Handle):
            return ("handle", object.__getattribute__(obj, "_id"))
        if id(obj) in self.seen:
            return ("again", self.seen[id(obj)])
        if isinstance(obj, torch.Tensor):
            index = self._remember(obj)
            data = _npy(obj.detach().cpu().numpy())
            grad = obj.grad if isinstance(obj, torch.nn.Parameter) else None
            if obj.requires_grad:
                self.grad_leaves.append(obj)
            self.leaves.append(obj)
            return ("tensor", index, data, str(obj.dtype).replace("torch.", ""),
                    bool(obj.requires_grad), isinstance(obj, torch.nn.Parameter),
                    None if grad is None else _npy(grad.detach().cpu().numpy()))
        if isinstance(obj, np.ndarray) and obj.dtype.kind in wire.NUMERIC_KINDS:
            index = self._remember(obj)
            spy = type(obj) is not np.ndarray and type(obj).__module__ not in (
                "numpy", "numpy.ma.core")
            if spy:
                self.spies.append(type(obj))
            self.leaves.append(obj)
            return ("array", index, _npy(obj.view(np.ndarray)), spy)
        if isinstance(obj, np.random.Generator):
            index = self._remember(obj)
            self.generators.append(obj)
            return ("generator", index, _plain_state(obj.bit_generator.state))
        if isinstance(obj, (np.generic, np.dtype, torch.dtype, torch.Size, torch.device)):
            return None
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
            module = getattr(obj, "__module__", None) or ""
            if module.split(".")[0] in LIBRARIES and getattr(obj, "__self__", None) in (
                    None, sys.modules.get(module)) or isinstance(obj, types.BuiltinFunctionType)\
                    and isinstance(getattr(obj, "__self__", None), types.ModuleType):
                return None  # np.sin, math.exp, float: the student's kernel has its own
        token = id(obj)
        self.channel.verifier_objects[token] = obj
        self.keep.append(obj)
        return ("verifier", token)

    def _remember(self, obj: Any) -> int:
        index = len(self.seen)
        self.seen[id(obj)] = index
        self.keep.append(obj)
        return index


def _npy(value: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(value, copy=True, order="C"), allow_pickle=False)
    return buffer.getvalue()


class _Backward:
    """What RemoteGrad's backward needs: whom to ask, which call's outputs, their templates."""

    def __init__(self, channel: Channel, call: int, outputs: list):
        self.channel, self.call, self.outputs = channel, call, outputs


def _remote_grad():
    import torch

    class RemoteGrad(torch.autograd.Function):
        """Outputs of the student's code in the verifier's autograd graph: the forward pass
        already happened in the student's kernel; the backward pass asks it for the
        vector-Jacobian product, computed by its own autograd, as data."""

        @staticmethod
        def forward(ctx, backward: _Backward, *sources):
            ctx.backward = backward
            ctx.shapes = [(s.shape, s.dtype) for s in sources]
            ctx.set_materialize_grads(False)
            return tuple(t.detach().clone() for t in backward.outputs)

        @staticmethod
        def backward(ctx, *grads):
            backward = ctx.backward
            request = {"kind": "vjp", "call": backward.call,
                       "grads": [None if g is None else g.detach().cpu().numpy()
                                 for g in grads]}
            answer = backward.channel.request(request)
            if "raise" in answer:
                raise wire.exception(answer["raise"])
            values = wire.Decoder([], backward.channel._handle).decode(
                {"t": "list", "v": answer.get("value", [])})
            if len(values) != len(ctx.shapes):
                raise wire.WireError("a gradient for another number of inputs")
            result = []
            for value, (shape, dtype) in zip(values, ctx.shapes, strict=True):
                if value is None:
                    result.append(None)
                elif not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(shape):
                    raise wire.WireError("a gradient of another shape than its input")
                else:
                    result.append(value.to(dtype))
            return (None, *result)

    return RemoteGrad


class _LazyRemoteGrad:
    def __getattr__(self, name):
        global RemoteGrad
        RemoteGrad = _remote_grad()
        return getattr(RemoteGrad, name)


RemoteGrad: Any = _LazyRemoteGrad()


# ----------------------------------------------------------------------------- proxies


class Handle:
    """An object that stays in the student's kernel: attributes and items are read as data."""

    __slots__ = ("_channel", "_id", "_type", "__weakref__")

    def __init__(self, channel: Channel, handle: int, type_name: str):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_id", handle)
        object.__setattr__(self, "_type", type_name)

    def _use(self, kind, args=(), kwargs=None, name=None):
        return object.__getattribute__(self, "_channel").use(
            kind, object.__getattribute__(self, "_id"), args, kwargs, name)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._use("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._use("setattr", (value,), name=name)

    def __getitem__(self, key):
        return self._use("getitem", (key,))

    def __len__(self):
        return self._use("len")

    def __bool__(self) -> bool:
        return self._use("bool") is True

    def __iter__(self):
        return iter(self._use("iter"))

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_type')} in the student's kernel>"


class RemoteCallable(Handle):
    """A function of the student's: each call runs in the student's kernel."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._use("call", args, kwargs)


class RemoteClass(RemoteCallable):
    """A class of the student's: instances live in the student's kernel, as handles."""

    __slots__ = ()


# ----------------------------------------------------------------------------- the verifier


_channel: Channel | None = None
_bound: dict[str, Any] = {}


def connect(connection: dict, timeout: float = 300.0) -> None:
    """Called once by the grader in the verifier kernel: where the student's kernel is."""
    global _channel
    if _channel is not None:
        _channel.close()
    _channel = Channel(connection, timeout)


def finish() -> None:
    """After a test cell: the student's kernel stops serving and is idle again."""
    if _channel is not None:
        _channel.finish()


def bind(names: list[str]) -> None:
    """Before a test cell: each name it uses that the verifier does not define is bound to what
    the student's kernel has under that name (data or a proxy); names bound for the previous
    cell are unbound first. A name the student's kernel lacks stays unbound (NameError)."""
    namespace = sys.modules["__main__"].__dict__
    for name, value in _bound.items():
        if namespace.get(name) is value:
            del namespace[name]
    _bound.clear()
    if _channel is None:
        return
    _channel.release()
    wanted = [n for n in names if n not in namespace and not hasattr(__builtins__, n)
              and n not in _builtin_names()]
    if not wanted:
        return
    for name, value in _channel.lookup(wanted).items():
        namespace[name] = value
        _bound[name] = value


@functools.lru_cache(maxsize=1)
def _builtin_names() -> frozenset[str]:
    import builtins

    return frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "exit", "quit"}

