"""Plain data across the process boundary: encoding, decoding and framing.

Only plain data crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
lists, tuples and dicts of them, ``torch.Tensor`` and ``numpy.ndarray`` (raw bytes with
dtype, size, strides and device recorded), dtypes and devices. Anything else stays on the
side that holds it, behind a :class:`Handle`. Nothing is ever unpickled: a message is a
JSON tree plus raw byte buffers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import socket
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from autograder.runtime import simdevice

MAX_MESSAGE_BYTES = 1 << 30
_LEN = struct.Struct("!Q")

# Captured before any student code runs, so patching torch.Tensor does not change them.
_as_strided = torch.as_strided
_TensorBase = torch._C.TensorBase
_PLAIN_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)


@dataclass(frozen=True)
class Handle:
    """An object that stayed in the process that created it."""

    id: int
    type: str
    repr: str


@dataclass(frozen=True)
class Opaque:
    """A value that could not cross and was not kept (no handle table)."""

    type: str
    repr: str


def type_name(obj: Any) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    qualname = getattr(cls, "__qualname__", cls.__name__)
    return qualname if module in ("builtins", "__main__", "submission") else f"{module}.{qualname}"


def safe_repr(obj: Any, limit: int = 200) -> str:
    try:
        text = repr(obj)
    except BaseException:  # student objects may raise anything from __repr__
        text = f"<{type_name(obj)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def storage_span(t: torch.Tensor) -> int:
    """Number of storage elements a tensor reaches from its storage offset."""
    if t.numel() == 0:
        return 0
    return 1 + sum((n - 1) * s for n, s in zip(t.shape, t.stride()))


class Encoder:
    """Turns an object into a JSON tree plus byte buffers."""

    def __init__(self, keep: Callable[[Any], Handle] | None = None) -> None:
        self.buffers: list[bytes] = []
        self._keep = keep

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        if kind is complex:
            return {"$complex": [repr(obj.real), repr(obj.imag)]}
        if kind is list:
            return [self.encode(v) for v in obj]
        if kind in (tuple, torch.Size):
            return {"$tuple": [self.encode(v) for v in obj]}
        if kind is dict:
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if kind in _PLAIN_TENSOR_TYPES or simdevice.is_sim(obj):
            return {"$tensor": self._tensor(obj)}
        if kind is np.ndarray and obj.dtype.kind in "biufc":
            return {"$ndarray": self._ndarray(obj)}
        if isinstance(obj, np.generic) and kind.__module__ == "numpy" and obj.dtype.kind in "biufc":
            return {"$npscalar": [obj.dtype.str, self.encode(obj.item())]}
        if kind is torch.dtype:
            return {"$dtype": str(obj).removeprefix("torch.")}
        if kind is torch.device:
            return {"$device": str(obj)}
        if kind is Handle:  # a request refers to a kept object; a reply hands one over
            return {"$handle": [obj.id, obj.type, obj.repr]} if self._keep is not None else {"$ref": obj.id}
        if self._keep is not None:
            handle = self._keep(obj)
            return {"$handle": [handle.id, handle.type, handle.repr]}
        return {"$opaque": [type_name(obj), safe_repr(obj)]}

    def _buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def _tensor(self, t: torch.Tensor) -> dict:
        simulated = simdevice.is_sim(t)
        plain = simdevice.from_sim(t) if simulated else _TensorBase.detach(t)
        node = {
            "dtype": str(plain.dtype).removeprefix("torch."),
            "size": list(plain.shape),
            "stride": list(plain.stride()),
            "device": str(simdevice.SIM_DEVICE) if simulated else str(plain.device),
            "sim": simulated,
            "requires_grad": bool(_TensorBase.requires_grad.__get__(t)),
            "parameter": type(t) is torch.nn.Parameter,
        }
        if plain.device.type != "meta":
            span = storage_span(plain)
            flat = _as_strided(plain, (span,), (1,), plain.storage_offset()).contiguous().cpu()
            node["data"] = self._buffer(flat.view(torch.uint8).numpy().tobytes() if span else b"")
        grad = _TensorBase.grad.__get__(t) if _TensorBase.is_leaf.__get__(t) else None
        if grad is not None:
            node["grad"] = self._tensor(grad)
        return node

    def _ndarray(self, a: np.ndarray) -> dict:
        if any(s < 0 for s in a.strides):
            a = np.ascontiguousarray(a)
        data = self._buffer(np.ascontiguousarray(a).tobytes())
        return {"dtype": a.dtype.str, "shape": list(a.shape), "strides": list(a.strides), "data": data}


class Decoder:
    """Rebuilds objects from a JSON tree and its buffers; every value is built fresh."""

    def __init__(self, buffers: list[bytes], resolve: Callable[[int], Any] | None = None) -> None:
        self.buffers = buffers
        self._resolve = resolve

    def decode(self, node: Any) -> Any:
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v) for v in node]
        if type(node) is not dict or len(node) != 1:
            raise ValueError("malformed message")
        ((tag, body),) = node.items()
        if tag == "$float":
            return float(body)
        if tag == "$complex":
            return complex(float(body[0]), float(body[1]))
        if tag == "$tuple":
            return tuple(self.decode(v) for v in body)
        if tag == "$dict":
            return {self.decode(k): self.decode(v) for k, v in body}
        if tag == "$tensor":
            return self._tensor(body)
        if tag == "$ndarray":
            return self._ndarray(body)
        if tag == "$npscalar":
            return np.dtype(body[0]).type(self.decode(body[1]))
        if tag == "$dtype":
            return _dtype(body)
        if tag == "$device":
            return torch.device(body)
        if tag == "$handle":
            return Handle(int(body[0]), str(body[1]), str(body[2]))
        if tag == "$opaque":
            return Opaque(str(body[0]), str(body[1]))
        if tag == "$ref" and self._resolve is not None:
            return self._resolve(int(body))
        raise ValueError(f"malformed message: unknown tag {tag!r}")

    def _tensor(self, node: dict) -> torch.Tensor:
        dtype = _dtype(node["dtype"])
        size, stride = tuple(node["size"]), tuple(node["stride"])
        device = torch.device(node["device"])
        if device.type == "meta":
            t = torch.empty_strided(size, stride, dtype=dtype, device="meta")
        else:
            raw = bytearray(self.buffers[node["data"]])
            flat = torch.frombuffer(raw, dtype=torch.uint8).view(dtype) if raw else None
            t = _as_strided(flat, size, stride, 0) if raw else torch.empty_strided(size, stride, dtype=dtype)
            if node["sim"]:
                t = simdevice.to_sim(t)
            elif device.type != "cpu":
                t = _as_strided(flat.to(device), size, stride, 0) if raw else t.to(device)
        if node["requires_grad"]:
            t.requires_grad_(True)
        if node["parameter"]:
            t = torch.nn.Parameter(t, requires_grad=node["requires_grad"])
        if "grad" in node:
            t.grad = self._tensor(node["grad"])
        return t

    def _ndarray(self, node: dict) -> np.ndarray:
        dtype = np.dtype(node["dtype"])
        if dtype.kind not in "biufc":
            raise ValueError(f"unsupported array dtype {node['dtype']!r}")
        shape, strides = tuple(node["shape"]), tuple(node["strides"])
        values = np.frombuffer(bytearray(self.buffers[node["data"]]), dtype=dtype).reshape(shape)
        if values.strides == strides or values.size == 0:
            return values
        span = sum((n - 1) * s for n, s in zip(shape, strides)) + dtype.itemsize
        out = np.ndarray(shape, dtype=dtype, buffer=bytearray(span), strides=strides)
        out[...] = values
        return out


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if type(dtype) is not torch.dtype:
        raise ValueError(f"unknown dtype {name!r}")
    return dtype


def encode(obj: Any, keep: Callable[[Any], Handle] | None = None) -> tuple[Any, list[bytes]]:
    encoder = Encoder(keep)
    return encoder.encode(obj), encoder.buffers


def decode(tree: Any, buffers: list[bytes], resolve: Callable[[int], Any] | None = None) -> Any:
    return Decoder(buffers, resolve).decode(tree)


def roundtrip(obj: Any, keep: Callable[[Any], Handle] | None = None,
              resolve: Callable[[int], Any] | None = None) -> Any:
    """What the other side would see of ``obj``; used where no process boundary exists."""
    tree, buffers = encode(obj, keep)
    return decode(json.loads(json.dumps(tree)), buffers, resolve)


# -- framing: 8-byte length, JSON header, the raw buffers, then (with a key) a MAC -----

@dataclass(frozen=True)
class Frame:
    tree: Any
    buffers: list[bytes]
    fds: list[int]
    seq: int


def _mac(key: bytes, header: bytes, buffers: list[bytes]) -> bytes:
    mac = hmac.new(key, header, hashlib.sha256)
    for buf in buffers:
        mac.update(buf)
    return mac.digest()


def send(sock: socket.socket, tree: Any, buffers: list[bytes] = (), fds: list[int] = (), *,
         seq: int = 0, key: bytes | None = None) -> None:
    """One message; with ``key``, authenticated by an HMAC over its header (with seq) and buffers."""
    header = json.dumps({"tree": tree, "buffers": [len(b) for b in buffers], "seq": seq}).encode()
    head = _LEN.pack(len(header)) + header
    if fds:
        socket.send_fds(sock, [head], list(fds))
    else:
        sock.sendall(head)
    for buf in buffers:
        sock.sendall(buf)
    if key is not None:
        sock.sendall(_mac(key, header, list(buffers)))


def recv(sock: socket.socket, with_fds: bool = False, *, key: bytes | None = None) -> Frame:
    """One message; ``EOFError`` when the peer is gone, ``ValueError`` when it is malformed or forged."""
    fds: list[int] = []
    if with_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, _LEN.size, 4)
        if not data:
            raise EOFError("peer closed")
        first = data + _recv_exact(sock, _LEN.size - len(data))
    else:
        first = _recv_exact(sock, _LEN.size)
    (length,) = _LEN.unpack(first)
    if length > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    raw = _recv_exact(sock, length)
    header = json.loads(raw)
    sizes = header["buffers"]
    if sum(sizes) > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    buffers = [_recv_exact(sock, n) for n in sizes]
    if key is not None and not hmac.compare_digest(_recv_exact(sock, 32), _mac(key, raw, buffers)):
        raise ValueError("a message failed authentication (forged?)")
    return Frame(header["tree"], buffers, fds, int(header["seq"]))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 22))
        if not chunk:
            raise EOFError("peer closed")
        chunks += chunk
    return bytes(chunks)
