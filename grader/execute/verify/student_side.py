"""The only grader code that runs in the student's kernel while tests are verified.

Its source is sent into the kernel once (it must not import ``grader``, which a sandboxed kernel
does not contain) and installed as the module ``_rnn_grader_serve``. The verifier (see
:mod:`grader.execute.verify.proxies`) sends it requests, each an ``execute_request`` whose code calls
:func:`serve` with a pickled request: call this function of the student's with these inputs, read
this attribute, ... While a test cell runs, :func:`serve` waits in the kernel for requests, which
arrive as the answers to its ``input()`` calls on the kernel's stdin channel; it runs the
student's code on the inputs and hands back plain data (JSON, arrays as ``.npy`` bytes) as the
prompt of its next ``input()``; a function the test passed in (``central_difference(f, x)``) is called back in
the verifier the same way.

Nothing here is trusted: the student's code may replace any of it. What it sends back is only ever
read as data by the verifier, which decides every verdict. No expected value, reference or test
line is ever sent here, only the inputs the student's code is called with.
"""

import base64
import builtins
import io
import json
import pickle
import sys
import warnings

import numpy as np

MODULE_NAME = "_rnn_grader_serve"
MAX_EVENTS = 200_000

_objects = {}  # handle id -> object of the student's kernel
_next_handle = [1]
_graphs = {}  # call id -> (outputs, leaves): kept for vector-Jacobian products
_events = []  # operations on recorded arrays during the current call
_recording = [False]


_stdin = []  # (kernel, ident, parent) of the serving request: input requests sent directly


def _ask(message):
    """Send ``message`` to the verifier through the stdin channel; its answer, decoded.

    The request goes out as ipykernel's ``input()`` sends it, without flushing stdout and
    stderr first (a round trip through the kernel's output thread for every request)."""
    prompt = json.dumps(message, allow_nan=False)
    if not _stdin:
        text = builtins.input(prompt)
    else:
        import zmq

        kernel, ident, parent = _stdin[0]
        socket = kernel.stdin_socket
        while True:  # stale replies, as ipykernel purges them
            try:
                socket.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:
                break
        kernel.session.send(socket, "input_request", {"prompt": prompt, "password": False},
                            parent, ident=ident)
        while True:
            readable, _, failed = zmq.select([socket], [], [socket], 0.05)
            if readable or failed:
                ident_in, reply = kernel.session.recv(socket)
                if reply is not None:
                    break
        text = reply["content"].get("value", "")
    return _Inputs(base64.b64decode(text)).load() if text else None


# ----------------------------------------------------------------------------- decoding inputs


class _VerifierObject:
    """An object of the test's (a function it passes in, a torch module): every use is a request
    back to the verifier, which answers with a copy of the result."""

    def __init__(self, token):
        object.__setattr__(self, "_token", token)

    def _use(self, op, name=None, args=(), kwargs=None):
        answer = _ask({"callback": self._token, "op": op, "name": name,
                       "args": _encode([list(args), kwargs or {}], [])})
        if "raise" in answer:
            raise _exception(answer["raise"])
        return answer["value"]

    def __call__(self, *args, **kwargs):
        return self._use("call", args=args, kwargs=kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._use("getattr", name)

    def __getitem__(self, key):
        return self._use("getitem", args=(key,))

    def __len__(self):
        return self._use("len")

    def __iter__(self):
        return iter(self._use("iter"))


def _exception(spec):
    kind = getattr(builtins, spec[0], None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = RuntimeError
    return kind(spec[1])


class _Recorded(np.ndarray):
    """An input the test wraps to watch how it is used (e.g. a matrix-product spy): every numpy
    operation it enters is logged by kind and operand shapes, for the verifier to replay."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _log("u", ufunc.__name__, method, inputs)
        plain = [x.view(np.ndarray) if isinstance(x, _Recorded) else x for x in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        return result.view(_Recorded) if isinstance(result, np.ndarray) else result

    def __array_function__(self, func, types, args, kwargs):
        _log("f", f"{func.__module__}.{func.__name__}", "", args)
        return super().__array_function__(func, types, args, kwargs)


def _describe(value):
    if isinstance(value, np.ndarray):
        return ["A", list(value.shape), value.dtype.str, isinstance(value, _Recorded)]
    if isinstance(value, (list, tuple)):
        return ["L", [_describe(v) for v in value]]
    if isinstance(value, (int, float, np.number)):
        return ["s", float(value)]
    return ["o"]


def _log(kind, name, method, operands):
    if _recording[0] and len(_events) < MAX_EVENTS:
        _events.append([kind, name, method, [_describe(v) for v in operands]])


class _Inputs(pickle.Unpickler):
    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.leaves = []  # arrays and tensors, in the verifier's order
        self.generators = []
        self.grad_leaves = []
        self.seen = {}  # the verifier's index -> the object made for it (sent twice, made once)

    def persistent_load(self, pid):
        kind = pid[0]
        if kind == "handle":
            return _objects[pid[1]]
        if kind == "verifier":
            return _VerifierObject(pid[1])
        if kind == "again":
            return self.seen[pid[1]]
        if kind == "array":
            value = np.load(io.BytesIO(pid[2]), allow_pickle=False)
            if pid[3]:
                value = value.view(_Recorded)
            self.leaves.append(value)
            self.seen[pid[1]] = value
            return value
        if kind == "tensor":
            import torch

            _, index, data, dtype, requires_grad, parameter, grad = pid
            value = torch.from_numpy(np.load(io.BytesIO(data), allow_pickle=False).copy())
            value = value.to(getattr(torch, dtype))
            if parameter:
                value = torch.nn.Parameter(value, requires_grad=requires_grad)
                if grad is not None:
                    value.grad = torch.from_numpy(
                        np.load(io.BytesIO(grad), allow_pickle=False).copy()).to(value.dtype)
            elif requires_grad:
                value.requires_grad_(True)
            if requires_grad:
                self.grad_leaves.append(value)
            self.leaves.append(value)
            self.seen[index] = value
            return value
        if kind == "generator":
            generator = np.random.Generator(getattr(np.random, pid[2]["bit_generator"])())
            generator.bit_generator.state = pid[2]
            self.generators.append(generator)
            self.seen[pid[1]] = generator
            return generator
        raise pickle.UnpicklingError(f"unknown input kind {kind!r}")


# ----------------------------------------------------------------------------- encoding results


def _npy(value):
    buffer = io.BytesIO()
    np.save(buffer, np.array(value, copy=True, order="C"), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _handle(value):
    handle = _next_handle[0]
    _next_handle[0] += 1
    _objects[handle] = value
    kind = "class" if isinstance(value, type) else "callable" if callable(value) else "object"
    return {"t": "handle", "id": handle, "kind": kind, "type": type(value).__name__[:100]}


def _encode(value, leaves, outputs=None, depth=0):
    """Plain data for ``value``: JSON with tagged arrays, tensors and handles."""
    torch = sys.modules.get("torch")
    if depth > 20:
        return _handle(value)
    for index, leaf in enumerate(leaves):
        if value is leaf:
            return {"t": "arg", "i": index}
    if value is None or isinstance(value, (bool, str)):
        return value if type(value) in (bool, str) or value is None else (
            bool(value) if isinstance(value, bool) else str(value))
    if isinstance(value, int) and not isinstance(value, np.integer):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, float) and not isinstance(value, np.floating):
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, complex):
        return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
    if isinstance(value, (np.generic,)) and value.dtype.kind in "biufc":
        return {"t": "npscalar", "b": _npy(np.asarray(value))}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        for index, leaf in enumerate(leaves):
            if isinstance(leaf, np.ndarray) and np.shares_memory(value, leaf):
                offset = (value.__array_interface__["data"][0]
                          - leaf.__array_interface__["data"][0])
                return {"t": "view", "i": index, "offset": offset, "shape": list(value.shape),
                        "strides": list(value.strides), "dtype": value.dtype.str,
                        "b": _npy(value)}
        return {"t": "nd", "b": _npy(value)}
    if torch is not None and isinstance(value, torch.Tensor):
        tag = {"t": "tensor", "dtype": str(value.dtype).replace("torch.", ""),
               "b": _npy(value.detach().cpu().to(
                   torch.float32 if value.dtype == torch.bfloat16 else value.dtype).numpy()),
               "requires_grad": bool(value.requires_grad)}
        for index, leaf in enumerate(leaves):
            if isinstance(leaf, torch.Tensor) and value.untyped_storage().data_ptr() == \
                    leaf.untyped_storage().data_ptr() and leaf.numel() and value.numel():
                tag["view"] = {"i": index, "size": list(value.shape),
                               "stride": list(value.stride()),
                               "offset": value.storage_offset()}
        if value.requires_grad and outputs is not None and "view" not in tag:
            tag["output"] = len(outputs)
            outputs.append(value)
        return tag
    if torch is not None and isinstance(value, torch.dtype):
        return {"t": "torch_dtype", "v": str(value).replace("torch.", "")}
    if isinstance(value, np.dtype):
        return {"t": "np_dtype", "v": value.str}
    if isinstance(value, (list, tuple)) and len(value) <= 100_000:
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "v": [_encode(v, leaves, outputs, depth + 1) for v in value]}
    if isinstance(value, dict) and len(value) <= 100_000:
        return {"t": "dict", "k": [_encode(k, leaves, None, depth + 1) for k in value],
                "v": [_encode(v, leaves, outputs, depth + 1) for v in value.values()]}
    return _handle(value)


def _warning(caught):
    names = [c.__name__ for c in getattr(caught.category, "__mro__", ())]
    return [names, str(caught.message)[:2000]]


def _failure(error):
    names = [c.__name__ for c in type(error).__mro__]
    return {"raise": [names, str(error)[:4000]]}


# ----------------------------------------------------------------------------- requests


def serve():
    """Answer the verifier's requests until it says stop: each answer goes out as the prompt of
    the input request that waits for the next request (one round trip per request)."""
    _stdin.clear()
    try:
        kernel = sys.modules["IPython"].get_ipython().kernel
        _stdin.append((kernel, kernel._get_shell_context_var(kernel._shell_parent_ident),
                       kernel.get_parent("shell")))
    except (AttributeError, KeyError, TypeError):
        pass  # another ipykernel: input() itself
    message = {"ready": True}
    while True:
        request = _ask(message)
        if not isinstance(request, dict) or request.get("kind") == "stop":
            return
        try:
            answer = _answer(request)
        except BaseException as error:  # the answer says what went wrong, as data
            answer = _failure(error)
        message = {"result": answer}


def _answer(request):
    kind = request["kind"]
    if kind == "lookup":
        namespace = sys.modules["__main__"].__dict__
        found = {}
        for name in request["names"]:
            if name in namespace:
                found[name] = _encode(namespace[name], [])
        return {"value": found}
    if kind == "vjp":
        import torch

        outputs, leaves = _graphs[request["call"]]
        grads = [None if g is None else torch.as_tensor(g).to(o.dtype)
                 for g, o in zip(request["grads"], outputs, strict=False)]
        pairs = [(o, g) for o, g in zip(outputs, grads, strict=False) if g is not None]
        got = torch.autograd.grad([o for o, _ in pairs], leaves, [g for _, g in pairs],
                                  retain_graph=True, allow_unused=True)
        return {"value": [None if g is None else _encode(g, []) for g in got]}
    if kind == "release":
        for handle in request["handles"]:
            _objects.pop(handle, None)
        _graphs.clear()
        return {"value": None}
    unpickler = _Inputs(request["payload"])
    target, args, kwargs = unpickler.load()
    obj = _objects[target]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = _run(kind, obj, request, args, kwargs, unpickler)
    answer["warnings"] = [_warning(c) for c in caught[:100]]
    answer["after"] = [_encode_leaf(leaf) for leaf in unpickler.leaves]
    answer["generators"] = [_generator_state(g) for g in unpickler.generators]
    return answer


def _run(kind, obj, request, args, kwargs, unpickler):
    torch = sys.modules.get("torch")
    grad_mode = torch.set_grad_enabled(request.get("grad", True)) if torch else None
    _events.clear()
    _recording[0] = True
    try:
        with np.errstate(**request.get("errstate", {})):
            if grad_mode is not None:
                with grad_mode:
                    value = _do(kind, obj, request, args, kwargs)
            else:
                value = _do(kind, obj, request, args, kwargs)
    except Exception as error:
        _recording[0] = False
        return _failure(error)
    finally:
        _recording[0] = False
    outputs = []
    encoded = _encode(value, unpickler.leaves, outputs)
    answer = {"value": encoded, "events": list(_events)}
    if outputs:
        _graphs[request["call"]] = (outputs, unpickler.grad_leaves)
    return answer


def _do(kind, obj, request, args, kwargs):
    if kind == "call":
        return obj(*args, **kwargs)
    if kind == "getattr":
        return getattr(obj, request["name"])
    if kind == "setattr":
        setattr(obj, request["name"], args[0])
        return None
    if kind == "getitem":
        return obj[args[0]]
    if kind == "len":
        return len(obj)
    if kind == "bool":
        return bool(obj)
    if kind == "iter":
        return list(obj)
    if kind == "repr":
        return repr(obj)[:4000]
    raise ValueError(f"unknown request {kind!r}")


def _encode_leaf(leaf):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(leaf, torch.Tensor):
        return _npy(leaf.detach().cpu().numpy())
    return _npy(np.asarray(leaf).view(np.ndarray))


def _generator_state(generator):
    state = generator.bit_generator.state
    return json.loads(json.dumps(state, default=int))
