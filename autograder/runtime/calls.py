"""Carry out one request from a check against the student's namespace.

Runs next to student code: in the grading child, or in the student's own kernel for
self-check. It only *observes* (calls, gradients, banned calls, op counts, arguments
after the call) and reports plain data; every verdict is made by the check that asked.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import traceback
import warnings
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from autograder import fixtures
from autograder.runtime import simdevice
from autograder.runtime.wire import Handle, safe_repr, type_name

STDOUT_LIMIT = 4000


class Handles:
    """Objects kept on this side, referred to by id from the other side."""

    def __init__(self) -> None:
        self._objects: dict[int, Any] = {}

    def keep(self, obj: Any) -> Handle:
        handle_id = len(self._objects) + 1
        self._objects[handle_id] = obj
        return Handle(handle_id, type_name(obj), safe_repr(obj))

    def get(self, handle_id: int) -> Any:
        return self._objects[handle_id]


class _Recorder(TorchFunctionMode):
    """Counts torch calls made directly by student code and notes banned ones."""

    def __init__(self, banned: dict[int, str]) -> None:
        super().__init__()
        self.count = 0
        self.banned_called: list[str] = []
        self._banned = banned

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        name = self._banned.get(id(func)) or self._banned.get(id(getattr(func, "__func__", None)))
        if name and name not in self.banned_called:
            self.banned_called.append(name)
        return func(*args, **(kwargs or {}))


def resolve_banned(names: list[str]) -> dict[int, str]:
    """Map each banned dotted name (``torch.nn.functional.one_hot``) to its object's id."""
    found: dict[int, str] = {}
    for name in names:
        module_name, _, attr = name.rpartition(".")
        try:
            owner = importlib.import_module(module_name)
        except ImportError:  # e.g. torch.Tensor.log_softmax: the owner is a class
            parent, _, cls = module_name.rpartition(".")
            owner = getattr(importlib.import_module(parent), cls)
        obj = getattr(owner, attr)
        found[id(obj)] = name
        found[id(getattr(obj, "__func__", obj))] = name
    return found


def describe_exception(exc: BaseException) -> dict:
    """Type, message and the student's part of the traceback, as plain strings."""
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable message>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<submission")]
    where = "".join(traceback.format_list(frames[-3:]))
    return {"type": type(exc).__name__, "message": message[:2000], "where": where[:2000]}


def execute(namespace: dict, handles: Handles, request: dict) -> dict:
    """Perform a ``call`` request and return its outcome as plain data.

    request: ``target`` (a name in the namespace, or a Handle), ``attr`` (attribute path
    applied to it), ``args``, ``kwargs``, and options ``fixture`` (target names a trusted
    helper of :mod:`autograder.fixtures`, not a student name), ``simulate`` (run inside
    the simulated CUDA device even without sim arguments), ``call`` (False: just fetch the
    attribute), ``grad_wrt`` (indices of tensor args to differentiate with respect to),
    ``grad_output``, ``banned`` (dotted names), ``keep`` (return a handle, not the value),
    ``return_args`` and ``fill_after`` (``[index, value]``: write value into that argument
    after the call, then report the result again, to observe shared memory).
    """
    args, kwargs = list(request.get("args", [])), dict(request.get("kwargs", {}))
    grad_wrt = request.get("grad_wrt", [])
    for index in grad_wrt:
        args[index] = args[index].detach().requires_grad_(True)
    recorder = _Recorder(resolve_banned(request.get("banned", [])))
    simulated = request.get("simulate") or any(simdevice.is_sim(a) for a in [*args, *kwargs.values()])
    stdout = io.StringIO()
    outcome: dict[str, Any] = {"raised": None}
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stdout), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            target = _target(namespace, handles, request)
            with simdevice.simulated_device() if simulated else contextlib.nullcontext(), \
                    torch.enable_grad() if grad_wrt else contextlib.nullcontext(), recorder:
                value = target(*args, **kwargs) if request.get("call", True) else target
            outcome["value"] = handles.keep(value) if request.get("keep") else value
            if grad_wrt:
                outcome.update(_gradients(value, [args[i] for i in grad_wrt], request.get("grad_output")))
            if request.get("fill_after"):
                outcome["value"] = value.clone() if isinstance(value, torch.Tensor) else value
                index, fill = request["fill_after"]
                args[index][...] = fill
                outcome["value_after_fill"] = value
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included
            outcome["raised"] = describe_exception(exc)
    text = stdout.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    outcome["stdout"] = text[:STDOUT_LIMIT]
    outcome["banned_calls"] = recorder.banned_called
    outcome["op_count"] = recorder.count
    if request.get("return_args"):
        outcome["args_after"] = args
        outcome["kwargs_after"] = kwargs
    return outcome


def _target(namespace: dict, handles: Handles, request: dict) -> Any:
    target = request["target"]  # a name, or an object a handle resolved to
    if request.get("fixture"):
        obj = fixtures.resolve(str(target))
    else:
        obj = _lookup(namespace, target) if isinstance(target, str) else target
    for attr in request.get("attr", []):
        obj = getattr(obj, attr)
    return obj


def _lookup(namespace: dict, name: str) -> Any:
    if name not in namespace:
        raise NameError(f"name {name!r} is not defined")
    return namespace[name]


def _gradients(output: Any, inputs: list[torch.Tensor], grad_output: Any) -> dict:
    """Gradients of ``output`` with respect to ``inputs``, or why there are none."""
    if not isinstance(output, torch.Tensor):
        return {"grads": None, "grad_error": f"the result is a {type(output).__name__}, not a tensor"}
    if not output.requires_grad:
        return {"grads": None, "grad_error": "the result does not require grad: the graph is broken"}
    try:
        grads = torch.autograd.grad(output, inputs, grad_output, allow_unused=True)
    except RuntimeError as exc:
        return {"grads": None, "grad_error": str(exc).splitlines()[0]}
    return {"grads": list(grads), "grad_error": None}
