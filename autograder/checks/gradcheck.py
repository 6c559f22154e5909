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
    def forward(ctx, student: Student, target: str | Handle, attr: tuple, what: str, *inputs: torch.Tensor) -> torch.Tensor:
        ctx.student, ctx.target, ctx.attr, ctx.what = student, target, attr, what
        ctx.save_for_backward(*inputs)
        out = expect_tensor(student.run(target, *inputs, attr=attr).result(), what=what, dtype=torch.float64)
        return out.detach().clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        inputs = ctx.saved_tensors
        wrt = tuple(i for i, x in enumerate(inputs) if x.is_floating_point())
        outcome = ctx.student.run(ctx.target, *inputs, attr=ctx.attr, grad_wrt=wrt, grad_output=grad_output.contiguous())
        outcome.result()
        if outcome.grads is None:
            fail(f"no gradient comes out of {ctx.what} ({outcome.grad_error}) — {GRAPH_HINT}")
        grads: list = [None] * len(inputs)
        for index, grad in zip(wrt, outcome.grads):
            grads[index] = torch.zeros_like(inputs[index]) if grad is None else grad.to(inputs[index].dtype)
        return (None, None, None, None, *grads)


def _name(target: Any, attr: tuple) -> str:
    return ".".join([target if isinstance(target, str) else target.type, *attr])


def expect_gradcheck(student: Student, target: str | Handle, *inputs: torch.Tensor, attr: tuple[str, ...] = (),
                     what: str | None = None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Fail unless the student's backward matches finite differences (gradcheck's rules): floating
    inputs become float64 leaves; others (integer labels) are passed as they are."""
    what = what or f"{_name(target, attr)}(...)"
    leaves = [x.detach().to(torch.float64).requires_grad_(True) if x.is_floating_point() else x for x in inputs]
    try:
        torch.autograd.gradcheck(lambda *xs: _Remote.apply(student, target, attr, what, *xs), leaves, eps=eps,
                                 atol=atol, rtol=rtol, raise_exception=True)
    except GradcheckError as exc:
        first = str(exc).strip().splitlines()[0]
        fail(f"gradcheck fails for {what} in float64: the backward does not match finite differences ({first})")
