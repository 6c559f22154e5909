"""``torch.autograd.gradcheck`` run by the grader on student code that runs elsewhere.

The student's function is wrapped in an autograd Function whose forward and backward are
requests to the student's process: gradcheck's numerical differences and its comparison
run here, on the plain values that come back, so the verdict never depends on student code.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.autograd.gradcheck import GradcheckError

from autograder.checks.expect import GRAPH_HINT, expect_tensor, fail
from autograder.grading.student import Student
from autograder.runtime.wire import Handle


class _Remote(torch.autograd.Function):
    """Forward: the student's result; backward: the gradients the student's graph gives."""

    @staticmethod
    def forward(ctx, student: Student, target: str | Handle, attr: tuple, *inputs: torch.Tensor) -> torch.Tensor:
        ctx.student, ctx.target, ctx.attr = student, target, attr
        ctx.save_for_backward(*inputs)
        out = expect_tensor(student.run(target, *inputs, attr=attr).result(), what=f"{_name(target, attr)}(...)",
                            dtype=inputs[0].dtype)
        return out.detach().clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        inputs = ctx.saved_tensors
        outcome = ctx.student.run(ctx.target, *inputs, attr=ctx.attr, grad_wrt=tuple(range(len(inputs))),
                                  grad_output=grad_output.contiguous())
        outcome.result()
        if outcome.grads is None:
            fail(f"no gradient comes out of {outcome.what} ({outcome.grad_error}) — {GRAPH_HINT}")
        grads = [torch.zeros_like(x) if g is None else g.to(x.dtype) for g, x in zip(outcome.grads, inputs)]
        return (None, None, None, *grads)


def _name(target: Any, attr: tuple) -> str:
    return ".".join([target if isinstance(target, str) else target.type, *attr])


def expect_gradcheck(student: Student, target: str | Handle, *inputs: torch.Tensor, attr: tuple[str, ...] = (),
                     what: str | None = None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Fail unless the student's backward matches finite differences (float64 inputs, gradcheck's rules)."""
    what = what or f"{_name(target, attr)}(...)"
    leaves = [x.detach().to(torch.float64).requires_grad_(True) for x in inputs]
    try:
        torch.autograd.gradcheck(lambda *xs: _Remote.apply(student, target, attr, *xs), leaves, eps=eps,
                                 atol=atol, rtol=rtol, raise_exception=True)
    except GradcheckError as exc:
        first = str(exc).strip().splitlines()[0]
        fail(f"gradcheck fails for {what} in float64: the backward does not match finite differences ({first})")
