"""Simulated CUDA device for checking device placement on CPU-only machines.

Inside :func:`simulated_device`, tensors created "on cuda" become *sim tensors*:
wrapper tensors that report ``device == cuda:0`` to Python but hold real CPU data,
so data-dependent student code (``.item()``, ``if (x < 0).any()``, ``.cpu().numpy()``)
runs normally while device mistakes raise the same errors as on a real GPU.

Design: the C++ device of a sim tensor is CPU (autograd on a fake CUDA device aborts
a CPU-only build), and the CUDA view is presented at the Python level through
``__torch_function__``. Ops on sim tensors run on the wrapped CPU data through
``__torch_dispatch__``. While the context is active, a torch-function mode rewrites
``device="cuda"`` arguments, and a dispatch mode checks for sim/CPU mixing and turns
tensors allocated inside ops on sim inputs (e.g. by ``F.one_hot`` or backward
formulas) into sim tensors, as CUDA kernels would allocate them on the GPU.

Mixing a sim tensor with a non-scalar CPU tensor raises ``RuntimeError("Expected all
tensors to be on the same device, but found at least two devices, cuda:0 and cpu!")``
for every op (real CUDA words some non-elementwise ops differently); CPU index tensors,
``copy_`` and 0-dim CPU tensors are allowed as on CUDA. Autograd works through sim
tensors, ``.cuda()``/``.cpu()`` and ``nn.Module.to``.

Limitations: only ``cuda:0`` is simulated (any CUDA index maps to it); the modes are
thread-local; ``torch.cuda.*`` is untouched; in-place metadata ops (``t_``,
``unsqueeze_``, ``resize_``...) raise ``NotImplementedError``; raw storage access
(``data_ptr``, ``untyped_storage``, DLPack) is unsupported. Outside the context, sim
tensors still compute and convert, but mixing with CPU tensors is not checked.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode, _get_current_function_mode_stack
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_leaves, tree_map_only

__all__ = ["SIM_DEVICE", "to_sim", "from_sim", "is_sim", "simulated_device"]

SIM_DEVICE: torch.device = torch.device("cuda", 0)
_aten = torch.ops.aten


class _SimTensor(torch.Tensor):
    """Wrapper whose C++ device is CPU but which reports :data:`SIM_DEVICE`."""

    _data: torch.Tensor

    @staticmethod
    def __new__(cls, data: torch.Tensor, requires_grad: bool = False) -> _SimTensor:
        # a view of a normal tensor taken under inference_mode must not become an inference tensor
        with torch.inference_mode(False) if not data.is_inference() else contextlib.nullcontext():
            out = torch.Tensor._make_wrapper_subclass(
                cls, data.shape, strides=data.stride(), storage_offset=data.storage_offset(),
                dtype=data.dtype, layout=data.layout, device=data.device, requires_grad=requires_grad,
            )
        out._data = data
        return out

    def __tensor_flatten__(self) -> tuple[list[str], None]:
        return ["_data"], None

    @staticmethod
    def __tensor_unflatten__(inner: dict, meta: None, size: Any, stride: Any) -> _SimTensor:
        return _SimTensor(inner["_data"])

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        with torch._C.DisableTorchFunctionSubclass():
            return _handle(func, args, kwargs or {})

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        inputs = (args, kwargs or {})
        unwrapped = tree_map_only(_SimTensor, lambda t: t._data, inputs)
        # An op that returns one of its inputs (in-place ops, out=) must return the original object.
        originals = {id(u): t for t, u in zip(tree_leaves(inputs), tree_leaves(unwrapped))
                     if isinstance(t, torch.Tensor)}

        def rewrap(t: torch.Tensor) -> torch.Tensor:
            if id(t) not in originals:
                return _SimTensor(t)
            t = originals[id(t)]
            if is_sim(t) and (t.shape != t._data.shape or t.stride() != t._data.stride()):
                raise NotImplementedError(f"simulated device: in-place metadata change {func}")
            return t

        return tree_map_only(torch.Tensor, rewrap, func(*unwrapped[0], **unwrapped[1]))


def is_sim(t: Any) -> bool:
    """Whether ``t`` is a simulated-device tensor."""
    return isinstance(t, _SimTensor)


def to_sim(t: torch.Tensor) -> torch.Tensor:
    """A sim tensor holding a copy of ``t``'s data; a grad-requiring leaf if ``t`` requires grad."""
    return _SimTensor(from_sim(t).detach().clone(), requires_grad=t.requires_grad)


def from_sim(t: torch.Tensor) -> torch.Tensor:
    """The CPU data of a sim tensor (shared, no autograd history); plain tensors pass through."""
    return t._data if is_sim(t) else t


class _ToSim(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        return _SimTensor(t.clone())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return from_sim(grad)


class _FromSim(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        return t._data.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad if is_sim(grad) else _SimTensor(grad)


def _device_type(device: Any) -> str | None:
    """The device type a ``device=`` argument names (an int is a CUDA index), else None."""
    if isinstance(device, int):
        return "cuda"
    return torch.device(device).type if isinstance(device, (str, torch.device)) else None


def _is_cuda(device: Any) -> bool:
    return _device_type(device) == "cuda"


def _device(t: torch.Tensor) -> torch.device:
    return SIM_DEVICE if is_sim(t) else t.device


def _as_sim(t: torch.Tensor) -> torch.Tensor:
    return t if is_sim(t) else _ToSim.apply(t)


def _as_cpu(t: torch.Tensor) -> torch.Tensor:
    return _FromSim.apply(t) if is_sim(t) else t


def _to(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``Tensor.to`` with cuda targets mapped to sim tensors and cpu targets to plain ones."""
    args_l = list(args)
    if args_l and isinstance(args_l[0], torch.Tensor):
        other = args_l.pop(0)
        args_l[:0] = [_device(other), other.dtype]
    positional = bool(args_l) and not isinstance(args_l[0], torch.dtype)
    target = _device_type(args_l[0] if positional else kwargs.get("device"))
    if target == "cuda":  # convert dtype/layout on the CPU data, then wrap
        if positional:
            args_l[0] = "cpu"
        else:
            kwargs = {**kwargs, "device": "cpu"}
        return _as_sim(torch.Tensor.to(self, *args_l, **kwargs))
    out = torch.Tensor.to(self, *args_l, **kwargs)
    return _as_cpu(out) if target == "cpu" else out


def _numpy(self: torch.Tensor, *, force: bool = False) -> Any:
    if force:
        return self._data.detach().numpy(force=True)
    raise TypeError(f"can't convert {SIM_DEVICE} device type tensor to numpy. "
                    "Use Tensor.cpu() to copy the tensor to host memory first.")


def _repr(self: torch.Tensor, **kwargs: Any) -> str:
    with _disable_current_modes():
        text = repr(self._data)
    if self.grad_fn is not None:
        text = f"{text[:-1]}, grad_fn=<{self.grad_fn.name()}>)"
    elif self.requires_grad:
        text = f"{text[:-1]}, requires_grad=True)"
    match = re.search(r",\s*\w+=", text)
    at = match.start() if match else len(text) - 1
    return f"{text[:at]}, device='{SIM_DEVICE}'{text[at:]}"


def _deepcopy(self: torch.Tensor, memo: dict) -> torch.Tensor:
    out = memo[id(self)] = _SimTensor(self._data.clone(), requires_grad=self.requires_grad)
    attrs = {k: v for k, v in self.__dict__.items() if k != "_data"}  # e.g. nn.Parameter's flag
    out.__dict__.update(copy.deepcopy(attrs, memo))
    return out


def _format(self: torch.Tensor, spec: str) -> str:
    return format(self.item() if self.dim() == 0 else _repr(self), spec)


def _set_data(self: torch.Tensor, value: torch.Tensor) -> None:
    if is_sim(self) != is_sim(value):
        raise RuntimeError("Attempted to call `variable.set_data(tensor)`, but `variable` and "
                           "`tensor` have incompatible tensor type.")
    torch.Tensor.data.__set__(self, value)
    if is_sim(self):
        self._data = value._data


_OVERRIDES = {
    torch.Tensor.to: _to,
    torch.Tensor.type_as: _to,
    torch.Tensor.cpu: lambda t, **kw: _to(t, "cpu", **kw),
    torch.Tensor.cuda: lambda t, device=None, **kw: _to(t, "cuda", **kw),
    torch.Tensor.data.__set__: _set_data,
    # makes nn.Module.to/cpu/cuda replace parameters instead of assigning `.data` across devices
    torch._has_compatible_shallow_copy_type: lambda a, b: (
        is_sim(a) == is_sim(b) and torch._has_compatible_shallow_copy_type(a, b)),
    # Module.to(device=...) parses its arguments here: the device must come back as given
    torch._C._nn._parse_to: torch._C._nn._parse_to,
}
_SIM_OVERRIDES = {
    torch.Tensor.device.__get__: lambda t: SIM_DEVICE,
    torch.Tensor.is_cuda.__get__: lambda t: True,
    torch.Tensor.is_cpu.__get__: lambda t: False,
    torch.Tensor.get_device: lambda t: SIM_DEVICE.index,
    torch.Tensor.data.__get__: lambda t: t.detach(),
    torch.Tensor.numpy: _numpy,
    torch.Tensor.__array__: lambda t, *a, **kw: _numpy(t),
    torch.Tensor.tolist: lambda t: t._data.tolist(),
    torch.Tensor.__repr__: _repr,
    torch.Tensor.__format__: _format,
    torch.Tensor.__deepcopy__: _deepcopy,
}


def _handle(func: Any, args: tuple, kwargs: dict) -> Any:
    """Torch-function level behaviour of the simulated device (device reporting and moves)."""
    if func in _OVERRIDES:
        return _OVERRIDES[func](*args, **kwargs)
    if args and is_sim(args[0]) and func in _SIM_OVERRIDES:
        return _SIM_OVERRIDES[func](*args, **kwargs)
    device_type = _device_type(kwargs.get("device"))
    if device_type == "cuda":
        return tree_map_only(torch.Tensor, _as_sim, func(*args, **{**kwargs, "device": "cpu"}))
    out = func(*args, **kwargs)
    return tree_map_only(torch.Tensor, _as_cpu, out) if device_type == "cpu" else out


_INDEX_OPS = {_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default,
              _aten._index_put_impl_.default}
_CROSS_DEVICE_OPS = {_aten.copy_.default, _aten.copy.default, _aten._to_copy.default,
                     _aten.lift_fresh.default}


def _check_devices(func: Any, args: tuple, tensors: list[torch.Tensor]) -> None:
    """Raise as real CUDA would for an op on sim tensors that mixes in non-scalar CPU tensors."""
    if func in _CROSS_DEVICE_OPS:
        return
    if func in _INDEX_OPS:  # CUDA accepts CPU indices, but not CUDA indices into a CPU tensor
        self, indices = args[0], [i for i in args[1] if i is not None]
        if not is_sim(self) and any(is_sim(i) for i in indices):
            raise RuntimeError("indices should be either on cpu or on the same device as the "
                               f"indexed tensor ({self.device})")
        tensors = [self, *args[2:3]]
    # 0-dim CPU tensors are allowed, as CUDA kernels accept CPU scalars
    other = next((t for t in tensors if not is_sim(t) and t.dim() > 0), None)
    if other is not None:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {SIM_DEVICE} and {other.device}!")


class _SimDispatchMode(TorchDispatchMode):
    """Checks device mixing; makes tensors allocated while a sim call runs sim tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.sim_calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        if self.sim_calls and (not tensors or func is _aten.lift_fresh.default):
            out = func(*args, **kwargs)
            return tree_map_only(torch.Tensor, lambda t: t if is_sim(t) else _SimTensor(t), out)
        if any(is_sim(t) for t in tensors):
            _check_devices(func, args, tensors)
        return func(*args, **kwargs)


# TorchDispatchMode wraps __torch_dispatch__ so that torch.compile skips it, which imports
# torch._dynamo (most of a second) on first use. Nothing here is compiled: call it directly.
_dispatch = getattr(_SimDispatchMode.__torch_dispatch__, "__wrapped__", None)
if _dispatch is not None:
    _dispatch.__dynamo_disable = _dispatch


class _SimFunctionMode(TorchFunctionMode):
    """Routes torch calls through :func:`_handle`, flagging calls that involve the sim device."""

    def __init__(self, dispatch_mode: _SimDispatchMode) -> None:
        super().__init__()
        self.dispatch_mode = dispatch_mode

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        sim_call = _is_cuda(kwargs.get("device")) or any(map(is_sim, tree_leaves((args, kwargs))))
        self.dispatch_mode.sim_calls += sim_call
        try:
            with torch._C.DisableTorchFunctionSubclass():
                return _handle(func, args, kwargs)
        finally:
            self.dispatch_mode.sim_calls -= sim_call


@contextlib.contextmanager
def simulated_device() -> Iterator[None]:
    """Simulate ``cuda:0`` on the CPU for the code run inside (re-entrant, thread-local)."""
    if any(isinstance(mode, _SimFunctionMode) for mode in _get_current_function_mode_stack()):
        yield
        return
    dispatch_mode = _SimDispatchMode()
    with dispatch_mode, _SimFunctionMode(dispatch_mode):
        yield
