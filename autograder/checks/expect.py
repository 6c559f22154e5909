"""Staged expectations: type, then shape, then dtype, then device, then values.

Each failure says what differed, by how much and where, with a hint for the classic
mistake when the evidence points to one.
"""
from __future__ import annotations

from typing import Any

import torch

from autograder.checks.api import CheckFailed
from autograder.runtime import simdevice
from autograder.runtime.wire import Handle, Opaque

CPU_HINT = ("a tensor was created on the CPU regardless of the input's device: pass device=x.device "
            "(or use torch.zeros_like / x.new_zeros) when creating tensors")
DTYPE_HINT = "the dtype was silently changed: create new tensors with dtype=x.dtype and avoid .float()/.double()"


def fail(message: str) -> None:
    raise CheckFailed(message)


def describe(value: Any) -> str:
    if isinstance(value, (Handle, Opaque)):
        return f"a {value.type} ({value.repr})"
    return f"a {type(value).__name__}"


def expect_tensor(value: Any, *, what: str, shape: tuple[int, ...] | None = None,
                  dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Fail unless ``value`` is a torch.Tensor of the given shape, dtype and device."""
    if type(value) is not torch.Tensor and not simdevice.is_sim(value):
        extra = " (a Tensor subclass is not accepted)" if "Tensor" in describe(value) else ""
        fail(f"{what} should be a torch.Tensor, got {describe(value)}{extra}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}" + _shape_hint(tuple(value.shape), tuple(shape)))
    if dtype is not None and value.dtype != dtype:
        fail(f"{what} has dtype {value.dtype}, expected {dtype}: {DTYPE_HINT}")
    if device is not None and value.device != torch.device(device):
        hint = CPU_HINT if value.device.type == "cpu" else "keep the result on the input's device"
        fail(f"{what} is on device {value.device}, expected {torch.device(device)}: {hint}")
    return value


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) == 2 and got == want[::-1]:
        return " — it looks transposed (rows and columns swapped)"
    if len(got) == len(want) and sorted(got) == sorted(want):
        return " — the right sizes in the wrong order: a .T/transpose(0, 1) or reshape/view where a permute of specific dims was needed?"
    if got and want and torch.Size(got).numel() == torch.Size(want).numel():
        return " — same number of elements: a reshape/view where a permute was needed?"
    if len(got) != len(want):
        return f" — {len(got)} dims instead of {len(want)}: check your broadcasting (None/unsqueeze) and the dim you reduce over"
    return " — check your broadcasting (None/unsqueeze) and the dim you reduce over"


def values_of(t: torch.Tensor) -> torch.Tensor:
    """The values of a (possibly simulated-device) tensor as float64 on the CPU."""
    return simdevice.from_sim(t).detach().cpu().to(torch.float64)


def expect_close(value: Any, expected: torch.Tensor, *, what: str, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, atol: float | torch.Tensor = 1e-6,
                 rtol: float = 1e-5, mistakes: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Staged comparison of ``value`` with a float64 reference ``expected``.

    ``mistakes`` maps a message to what a classic mistake would have produced; when the
    student's values match one of those, the message is given as the hint.
    """
    value = expect_tensor(value, what=what, shape=tuple(expected.shape), dtype=dtype, device=device)
    got, want = values_of(value), expected.detach().to(torch.float64)
    tol = torch.as_tensor(atol, dtype=torch.float64) + rtol * want.abs()
    err = (got - want).abs()
    bad = ~(err <= tol)  # NaN never passes
    if not bad.any():
        return value
    nan = torch.isnan(got) & ~torch.isnan(want)
    excess = torch.where(torch.isnan(err), torch.full_like(err, float("inf")), err - tol)
    worst = tuple(int(i) for i in torch.unravel_index(torch.argmax(excess), want.shape)) if want.dim() else ()
    finite = torch.where(torch.isfinite(err), err, torch.zeros_like(err))
    rel = finite / want.abs().clamp_min(1e-300)
    tol_at = tol.expand_as(want)[worst] if tol.dim() else tol
    message = (f"{what} differs from the reference in {int(bad.sum())} of {want.numel()} elements; "
               f"worst at index {worst or '()'}: got {got[worst].item():.6g}, expected {want[worst].item():.6g} "
               f"(abs error {err[worst].item():.3g}, tolerance {float(tol_at):.3g}); "
               f"max abs error {finite.max().item():.3g}, max rel error {rel.max().item():.3g}")
    if nan.any():
        message += f"; NaN at {int(nan.sum())} positions (a division by zero?)"
    hint = _values_hint(got, want, tol, mistakes or {})
    fail(message + (f" — {hint}" if hint else ""))
    return value


def _values_hint(got: torch.Tensor, want: torch.Tensor, tol: torch.Tensor, mistakes: dict[str, torch.Tensor]) -> str:
    for message, wrong in mistakes.items():
        wrong = wrong.detach().to(torch.float64)
        if wrong.shape == got.shape and bool(((got - wrong).abs() <= tol).all()):
            return message
    if got.dim() >= 2 and got.shape[-1] == got.shape[-2] and bool(((got - want.mT).abs() <= tol).all()):
        return "the result looks transposed"
    finite = torch.isfinite(got).all()
    denom = float((want * want).sum())
    if finite and denom > 0:
        factor = float((got * want).sum()) / denom
        if abs(factor - 1) > 1e-3 and abs(factor) > 1e-12 and bool(((got - factor * want).abs() <= tol).all()):
            return f"off by a constant factor of {factor:.4g}: a missing or wrong scale?"
    return ""


def expect_equal(value: Any, expected: Any, *, what: str) -> None:
    if type(value) is not type(expected):
        fail(f"{what} should be a {type(expected).__name__}, got {describe(value)}")
    if value != expected:
        fail(f"{what} is {value!r}, expected {expected!r}")


def expect_raises(outcome: Any, exception: str, *, what: str) -> None:
    """Fail unless the outcome raised the named exception type."""
    if outcome.raised is None:
        fail(f"{what} should raise {exception}, but returned {describe(outcome.value)}")
    if outcome.raised.type != exception:
        fail(f"{what} should raise {exception}, but raised {outcome.raised.type}: {outcome.raised.message}")


def expect_unchanged(before: list, after: list | None, *, what: str) -> None:
    """Inputs are never modified in place."""
    for index, (old, new) in enumerate(zip(before, after or [])):
        if isinstance(old, torch.Tensor) and not torch.equal(values_of(old), values_of(new)):
            fail(f"{what} modified its argument {index} in place; work on a copy or out-of-place ops")


GRAPH_HINT = "the graph is broken: .detach(), .item(), .numpy() or re-wrapping with torch.tensor(...) cuts it"


def expect_grads(outcome: Any, expected: list[torch.Tensor], *, names: list[str], output_shape: tuple[int, ...],
                 rtol: float = 1e-4, atol_scale: float = 1e-5) -> None:
    """The gradients a ``run(..., grad_wrt=...)`` observed match float64 references."""
    expect_tensor(outcome.result(), what=f"{outcome.what}(...)", shape=output_shape)
    if outcome.grads is None:
        fail(f"no gradient reaches {' or '.join(names)} ({outcome.grad_error}) — {GRAPH_HINT}")
    for got, want, name in zip(outcome.grads, expected, names):
        if got is None:
            fail(f"no gradient reaches {name}: the result does not depend on it through the graph — {GRAPH_HINT}")
        scale = float(want.abs().max()) if want.numel() else 0.0
        expect_close(got, want, what=f"the gradient with respect to {name}", atol=atol_scale * scale + 1e-12, rtol=rtol)
