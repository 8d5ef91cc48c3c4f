"""The first code a sandboxed grading kernel runs, in place of ``ipykernel_launcher``.

It runs inside the sandbox (see :mod:`grader.execute.sandbox`) as a plain script: it must not import
``grader``, which the sandbox does not contain. Before any student code runs it

1. imports the installed ``course_utils`` (every module), numpy, torch and matplotlib, so that
   nothing a submission writes into the working directory can stand in for them;
2. records what every watched object is (the attributes of numpy, torch, ``course_utils``,
   builtins..., the code and defaults of their Python functions, the IPython shell's transformers,
   hooks and methods, the kernel's handlers);
3. installs an audit hook (which no Python code can remove) that reports, as they happen, the
   low-level routes to tampering: tracing and profiling hooks, ctypes, the garbage collector's
   object lists, another audit hook, opening the grader's channel or the process's memory;

then starts the IPython kernel. The grader asks for a :func:`report` before every test cell and at
the end: what changed since the start, whatever route changed it. Reports and audit events travel
through a pipe the grader reads outside the sandbox (``RNN_GRADER_CHANNEL``), not through the
kernel's own messages; a report that does not arrive is itself a finding.
"""

from __future__ import annotations

import json
import os
import sys
import types

CHANNEL_VARIABLE = "RNN_GRADER_CHANNEL"
PROBE_MODULE = "_rnn_grader_probe"

WATCHED_MODULES = (
    "builtins", "math", "operator", "functools", "warnings",
    "numpy", "numpy.linalg", "numpy.random", "numpy.testing", "numpy.core.numeric",
    "torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.autograd",
    "torch.linalg", "torch.testing", "torch.nn.utils",
)
WATCHED_CLASSES = ("torch.Tensor", "torch.nn.Module", "torch.nn.Parameter")
AUDIT_EVENTS = {
    "sys.settrace": "installed a tracing hook (sys.settrace)",
    "sys.setprofile": "installed a profiling hook (sys.setprofile)",
    "sys.addaudithook": "installed an audit hook",
    "gc.get_objects": "searched every live object (gc.get_objects)",
    "gc.get_referrers": "searched the objects that refer to another (gc.get_referrers)",
    "gc.get_referents": "walked an object's references (gc.get_referents)",
    "sys._current_frames": "read the frames of every thread (sys._current_frames)",
    "cpython.PyInterpreterState_New": "started a subinterpreter",
}
# State that ipykernel itself replaces on every request: not compared.
VOLATILE = frozenset({("builtins", "input"), ("getpass", "getpass")})
VOLATILE_HOOKS = frozenset({"sys.excepthook"})
# IPython and ipykernel attributes that change in every honest run: not compared.
VOLATILE_SHELL_ATTRIBUTES = frozenset({
    "_shell_context", "_logger", "_parent_header_global", "_parent_ident", "_parents",
    "_execution_count", "_cancel_on_sigint", "_aborting", "control_thread",
    "execution_count", "last_execution_succeeded", "last_execution_result", "_last_traceback",
    "_main_mod_cache", "_orig_sys_module_state", "_orig_sys_modules_main_mod",
    "_orig_sys_modules_main_name", "_reply_content", "_showtraceback", "_last_input_line",
    "_parent_header", "parent_header", "_parent", "_exiter", "exit_now", "rl_next_input",
    "custom_exceptions", "_call_pdb", "displayhook", "display_trap", "builtin_trap",
    "_user_ns_hidden", "meta", "_trait_values", "_trait_notifiers", "_trait_validators",
    "_cross_validation_lock", "_sphinxify_docstring", "_enable_html_pager", "db",
})


def _course_modules() -> list[str]:
    import pkgutil

    import course_utils

    names = ["course_utils"]
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        names.append(info.name)
    return names


def _preload() -> list[str]:
    """Import what the tests rely on from its installed location; return the watched modules."""
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    import importlib

    import matplotlib
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import course_utils  # noqa: F401  (first: it sets the OpenMP policy before torch loads)

    matplotlib.use("agg")
    names = [n for n in WATCHED_MODULES]
    for name in [*names, *_course_modules()]:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional module (an older numpy layout, say)
            continue
        if name not in names:
            names.append(name)
    return [n for n in names if n in sys.modules]


class Baseline:
    """Identities of everything a submission must not replace, taken before it runs."""

    def __init__(self, modules: list[str]):
        self.modules = {name: sys.modules[name] for name in modules}
        self.namespaces = {name: module.__dict__ for name, module in self.modules.items()}
        self.attributes = {name: dict(ns) for name, ns in self.namespaces.items()}
        self.code = {}
        for name, attributes in self.attributes.items():
            for attr, value in attributes.items():
                if isinstance(value, types.FunctionType):
                    self.code[(name, attr)] = _function_state(value)
        self.classes = {}
        for dotted in WATCHED_CLASSES:
            module, _, name = dotted.rpartition(".")
            self.classes[dotted] = _class_state(getattr(sys.modules[module], name))
        for name in modules:
            if name.startswith("course_utils"):
                for attr, value in self.attributes[name].items():
                    if isinstance(value, type) and value.__module__ == name:
                        self.classes[f"{name}.{attr}"] = _class_state(value)
        self.hooks = _hooks()
        self.shell = None

    def take_shell(self, shell, kernel) -> None:
        self.shell = (shell, kernel, _shell_state(shell, kernel))

    def changes(self, names: dict[str, str]) -> list[str]:
        found = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] was replaced")
            current = self.namespaces[name]
            for attr, value in self.attributes[name].items():
                if (name, attr) in VOLATILE:
                    continue
                now = current.get(attr, _MISSING)
                if now is _MISSING:
                    found.append(f"{name}.{attr} was deleted")
                elif now is not value and not _wrapped_by_torch(now, value):
                    found.append(f"{name}.{attr} was replaced")
        for (name, attr), state in self.code.items():
            if _function_state(self.attributes[name][attr]) != state:
                found.append(f"the code or defaults of {name}.{attr} were changed")
        for dotted, state in self.classes.items():
            module, _, name = dotted.rpartition(".")
            cls = self.attributes.get(module, {}).get(name) or _resolve(dotted)
            found += [f"{dotted}.{attr} {what}" for attr, what in _diff(state, _class_state(cls))]
        found += [f"{hook} was changed" for hook, (before, now) in
                  _pairs(self.hooks, _hooks()) if before != now and hook not in VOLATILE_HOOKS]
        if self.shell is not None:
            shell, kernel, state = self.shell
            found += [f"the IPython {part} was changed" for part, (before, now)
                      in _pairs(state, _shell_state(shell, kernel)) if before != now]
            if shell.user_ns.get("__builtins__", sys.modules["builtins"]) not in (
                    sys.modules["builtins"], sys.modules["builtins"].__dict__):
                found.append("the notebook's __builtins__ was replaced")
            for name, dotted in sorted(names.items()):
                module = self.modules.get(dotted)
                if module is not None and shell.user_ns.get(name, module) is not module:
                    found.append(f"the notebook's name {name} no longer refers to {dotted}")
        return found


_MISSING = object()


def _wrapped_by_torch(now, original) -> bool:
    """torch wraps some of its own functions when a part of it loads later (``torch._dynamo``
    wraps ``torch.manual_seed`` with ``torch._disable_dynamo``): the original, unchanged, inside
    a wrapper whose code lies in torch's own (read-only) package."""
    code = getattr(now, "__code__", None)
    torch = sys.modules.get("torch")
    if getattr(now, "__wrapped__", None) is not original or code is None or torch is None:
        return False
    package = os.path.dirname(os.path.realpath(torch.__file__))
    return os.path.realpath(code.co_filename).startswith(package + os.sep)


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(sys.modules[module], name)


def _function_state(function) -> tuple:
    return (id(function.__code__), id(function.__defaults__), id(function.__kwdefaults__),
            id(function.__globals__))


def _class_state(cls) -> dict[str, int]:
    state = {attr: id(value) for attr, value in vars(cls).items()}
    for attr, value in vars(cls).items():
        if isinstance(value, types.FunctionType):
            state[f"{attr}.__code__"] = id(value.__code__)
    return state


def _diff(before: dict, after: dict) -> list[tuple[str, str]]:
    found = []
    for attr, value in before.items():
        if attr not in after:
            found.append((attr, "was deleted"))
        elif after[attr] != value:
            found.append((attr, "was replaced"))
    return found


def _pairs(before: dict, after: dict):
    for key in before.keys() | after.keys():
        yield key, (before.get(key, _MISSING), after.get(key, _MISSING))


def _hooks() -> dict:
    import threading

    return {
        "sys.gettrace()": id(sys.gettrace()), "sys.getprofile()": id(sys.getprofile()),
        "threading's trace hook": id(getattr(threading, "_trace_hook", None)),
        "threading's profile hook": id(getattr(threading, "_profile_hook", None)),
        "sys.excepthook": id(sys.excepthook), "sys.displayhook": id(sys.displayhook),
        "sys.meta_path": _ids(sys.meta_path), "sys.path_hooks": _ids(sys.path_hooks),
    }


def _ids(items) -> tuple[int, ...]:
    return tuple(id(item) for item in items)


def _shell_state(shell, kernel) -> dict:
    """What a submission could change in IPython and ipykernel to alter how cells run, one entry
    per thing (compared by identity)."""
    manager = shell.input_transformer_manager
    state = {
        "input transformers": (_ids(shell.input_transformers_cleanup),
                               _ids(shell.input_transformers_post),
                               id(manager), _ids(manager.cleanup_transforms),
                               _ids(manager.line_transforms), _ids(manager.token_transformers)),
        "AST transformers": _ids(shell.ast_transformers),
        "custom exception handlers": _ids(shell.custom_exceptions),
        "compiler": id(shell.compile),
        "kernel's message handlers": tuple(sorted((k, id(v))
                                                  for k, v in kernel.shell_handlers.items())),
    }
    for event, callbacks in shell.events.callbacks.items():
        state[f"{event} callbacks"] = _ids(callbacks)
    for owner, label in ((shell, "shell"), (kernel, "kernel")):
        for cls in type(owner).__mro__:
            if cls.__module__.startswith(("IPython", "ipykernel")):
                for attr, value in _class_state(cls).items():
                    state[f"{label} class {cls.__name__}.{attr}"] = value
        for attr, value in vars(owner).items():
            # Methods and hooks set on the instance; data attributes change with every request.
            if callable(value) and attr not in VOLATILE_SHELL_ATTRIBUTES \
                    and not attr.startswith("_trait"):
                state[f"{label} attribute {attr}"] = id(value)
    return state


def main() -> None:
    channel_path = os.environ.pop(CHANNEL_VARIABLE)
    modules = _preload()
    channel = os.open(channel_path, os.O_WRONLY | os.O_CLOEXEC)
    high = 700 + (os.getpid() * 7919) % 200  # away from the small numbers code guesses first
    os.dup2(channel, high, inheritable=False)
    os.close(channel)
    channel = high

    def send(record: dict) -> None:
        try:
            os.write(channel, (json.dumps(record) + "\n").encode())
        except OSError:  # the channel was closed by the submission: the grader notices the gap
            pass

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])

    def audit(event: str, args: tuple) -> None:
        if event not in AUDIT_EVENTS and not event.startswith("ctypes.") and not (
                event in ("open", "os.listdir") and isinstance(args[0], str)
                and args[0].startswith((channel_path, "/proc/self/mem"))):
            return
        # While a cell runs IPython has already counted it: its number is one less (ipykernel
        # replies with execution_count - 1 for the same reason).
        send({"event": event, "count": app.shell.execution_count - 1})

    baselines: list[Baseline] = []

    def arm(nonce: str, names: dict | None = None) -> None:
        """The grader's first request, before any cell: the baseline, taken inside a request as
        every later report is, and the audit hook."""
        if baselines:
            send({"probe": str(nonce), "findings": ["the guard was armed twice"]})
            return
        import matplotlib.pyplot

        matplotlib.pyplot.switch_backend("agg")  # registers pyplot's IPython hook now, not later

        shell = app.shell
        baselines.append(Baseline(modules))
        baselines[0].take_shell(shell, app.kernel)
        sys.addaudithook(audit)
        send({"probe": str(nonce), "findings": []})

    def report(nonce: str, names: dict | None = None) -> None:
        if not baselines:
            send({"probe": str(nonce), "findings": ["the guard was never armed"]})
            return
        send({"probe": str(nonce), "findings": baselines[0].changes(dict(names or {}))})

    probe = types.ModuleType(PROBE_MODULE)
    probe.arm = arm
    probe.report = report
    sys.modules[PROBE_MODULE] = probe

    app.start()


if __name__ == "__main__":
    main()
