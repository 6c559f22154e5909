"""04_optim: items, public checks (small fixed examples) and the helpers the hidden checks share."""
from __future__ import annotations

from typing import Any

import torch

from autograder.checks import Item, check, describe, expect_close, expect_raises, fail, values_of
from autograder.grading.student import Raised, Student, StudentRaised
from autograder.runtime.wire import Handle

# The recorder sees torch functions only, and torch.optim.SGD (its class, step, and the functional
# torch.optim._functional.sgd) runs plain tensor ops (add_, mul_, clone) that hand-written code runs
# too, so no op identifies it. MomentumSGD is therefore constructed and stepped through fixtures that
# trace Python calls (``optim.traced``, ``optim.step_with_grads``) and note when code of
# torch/optim/sgd.py or torch/optim/_functional.py runs; `_run_traced` reports that as a banned call.
SGD_BANS = ("torch.optim.SGD", "torch.optim._functional.sgd")

# Training items get more time than the default 10 s. Reference, all checks of the item, one core:
# train_epoch 0.16 s idle (0.2-5.8 s on a 2-core machine at load 9); fit_two_clusters (6 trainings)
# 0.3-0.6 s idle, up to 1.8 s at load 9.
ITEMS = [
    Item("make_optimizer", 3),
    Item("fit_line", 3),
    Item("train_epoch", 3, timeout=20.0),
    Item("evaluate_accuracy", 3),
    Item("fit_two_clusters", 4, timeout=20.0),
    Item("MomentumSGD", 4, banned=SGD_BANS),
]

STOCK = {"sgd": "torch.optim.sgd.SGD", "adam": "torch.optim.adam.Adam", "rmsprop": "torch.optim.rmsprop.RMSprop"}
T = torch.tensor


# -- helpers shared with the hidden checks -------------------------------------------------

def expect_float(value: Any, *, what: str) -> float:
    """A Python number (float, or int), not a tensor."""
    if isinstance(value, torch.Tensor):
        fail(f"{what} should be a Python float, got a tensor: convert with .item()")
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        fail(f"{what} should be a Python float, got {describe(value)}")
    return float(value)


def raise_with_hints(what: str, raised: Raised, hints: dict[str, str]) -> None:
    """Fail with what student code raised, and the hint for a classic mistake its message shows."""
    if raised.type == "NotImplementedError":
        raise StudentRaised(what, raised)
    found = [hint for marker, hint in hints.items() if marker in raised.message]
    fail(f"{what} raised {raised}" + "".join(f"\n  hint: {h}" for h in found))


def sgd_uses(traced_result: dict) -> list[str]:
    """The banned names a ``optim.traced`` result shows: torch.optim.SGD, its functional form."""
    code = traced_result["sgd_code"]
    names = []
    if traced_result["is_sgd"] or any(c.startswith("torch.optim.sgd.SGD.") for c in code):
        names.append("torch.optim.SGD")
    if any(not c.startswith("torch.optim.sgd.SGD.") for c in code):
        names.append("torch.optim._functional.sgd")
    return names


STEP_HINTS = {
    "NoneType": "skip parameters whose .grad is None (`if p.grad is None: continue`)",
    "leaf Variable that requires grad": "update the parameters under torch.no_grad()",
    "does not require grad": "call the closure under torch.enable_grad(): step itself runs under no_grad",
    "Expected all tensors to be on the same device": "create the momentum buffer with torch.zeros_like(p) or p.grad.clone()",
}


def _run_traced(student: Student, fixture: str, *args: Any, what: str, simulate: bool, **kwargs: Any) -> dict:
    """Run an ``optim`` fixture that traces student code; note torch.optim.SGD code that ran as banned."""
    result = student.fixture(fixture, *args, simulate=simulate, **kwargs)
    student.banned_seen += [name for name in sgd_uses(result) if name not in student.banned_seen]
    if result["raised"] is not None:
        raise_with_hints(what, Raised(**result["raised"]), STEP_HINTS)
    return result


def momentum_sgd(student: Student, params: Handle, simulate: bool = False, **options: Any) -> Handle:
    """The student's ``MomentumSGD(params, **options)``, kept next to student code."""
    cls = student.run("MomentumSGD", call=False).result()
    if not isinstance(cls, Handle):
        fail(f"MomentumSGD should be a class (a subclass of torch.optim.Optimizer), got {describe(cls)}")
    opt = _run_traced(student, "optim.traced", cls, "", params, what="MomentumSGD(...)", simulate=simulate,
                      **options)["value"]
    if not isinstance(opt, Handle):
        fail(f"MomentumSGD(...) should build an optimizer, got {describe(opt)}")
    return opt


def optimizer_step(student: Student, opt: Handle, params: Handle, grads: list[torch.Tensor | None] | None,
                   closure: Handle | None = None, simulate: bool = False) -> tuple[Any, list[torch.Tensor]]:
    """Set the parameters' ``.grad`` (unless grads is None), call ``opt.step()`` (with the closure, if
    any); what step returned and the parameters' values after it."""
    what = "MomentumSGD.step(closure)" if closure is not None else "MomentumSGD.step()"
    result = _run_traced(student, "optim.step_with_grads", opt, params, grads, closure, what=what, simulate=simulate)
    return result["value"], result["params"]


# -- make_optimizer --------------------------------------------------------------------------

def small_model(student: Student) -> Handle:
    return student.fixture("common.sequential", [["Linear", 3, 4], ["ReLU"], ["Linear", 4, 2]])


@check("make_optimizer", "values")
def make_optimizer_gives_stock_optimizers(student, inputs):
    """"sgd", "adam" and "rmsprop" give torch.optim.SGD, Adam and RMSprop with the given lr."""
    for name, lr in (("sgd", 0.5), ("adam", 0.01), ("rmsprop", 0.002)):
        model = small_model(student)
        opt = student.call("make_optimizer", name, student.fixture("optim.parameter_iterator", model), lr)
        info = student.fixture("optim.describe_optimizer", opt, model)
        if info["class"] != STOCK[name]:
            fail(f"make_optimizer({name!r}, params, {lr}) gave a {info['class']}, expected a {STOCK[name]}")
        if [g["lr"] for g in info["groups"]] != [lr]:
            fail(f"make_optimizer({name!r}, params, {lr}) has learning rates {[g['lr'] for g in info['groups']]}, "
                 f"expected [{lr}]: pass lr=lr")


@check("make_optimizer", "errors")
def make_optimizer_rejects_unknown_name(student, inputs):
    """An unknown name raises ValueError."""
    outcome = student.run("make_optimizer", "adagrad", student.fixture("optim.parameter_iterator", small_model(student)), 0.1)
    expect_raises(outcome, "ValueError", what="make_optimizer('adagrad', params, 0.1)")


# -- fit_line ---------------------------------------------------------------------------------

@check("fit_line", "values")
def fit_line_small_example(student, inputs):
    """Three steps on y = 2x: w and the losses follow gradient descent from w = 0.1."""
    x, y = T([0.0, 0.5, 1.0]), T([0.0, 1.0, 2.0])
    # loss(w) = mean(x^2) (w - 2)^2 = 5/12 (w - 2)^2, so each step with lr 0.5 scales w - 2 by 7/12.
    w, losses = student.call("fit_line", x, y, steps=3, lr=0.5)
    expected_losses = T([5 / 12 * (1.9 * (7 / 12) ** k) ** 2 for k in range(3)], dtype=torch.float64)
    if not isinstance(losses, list) or len(losses) != 3:
        fail(f"fit_line(x, y, steps=3) should return a list of 3 losses, got {describe(losses)}")
    expect_close(T([expect_float(v, what="each loss") for v in losses], dtype=torch.float64), expected_losses,
                 what="the losses of fit_line(x, y, steps=3, lr=0.5)", atol=1e-6, rtol=1e-5,
                 mistakes={"losses[i] is the loss before step i (record it before optimizer.step())":
                           T([5 / 12 * (1.9 * (7 / 12) ** k) ** 2 for k in range(1, 4)], dtype=torch.float64)})
    got = expect_float(w, what="w")
    if abs(got - (2 - 1.9 * (7 / 12) ** 3)) > 1e-5:
        fail(f"fit_line(x, y, steps=3, lr=0.5) gave w = {got:.6g}, expected {2 - 1.9 * (7 / 12) ** 3:.6g}")


@check("fit_line", "shapes")
def fit_line_returns_float_and_list(student, inputs):
    """fit_line returns (w: float, losses: list of `steps` floats)."""
    result = student.call("fit_line", T([0.2, 0.4, 0.9, 1.0]), T([0.5, 0.7, 1.7, 2.1]), steps=5)
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"fit_line should return a tuple (w, losses), got {describe(result)}")
    expect_float(result[0], what="w")
    if not isinstance(result[1], list) or len(result[1]) != 5:
        fail(f"losses should be a list of 5 floats for steps=5, got {describe(result[1])}")
    for value in result[1]:
        expect_float(value, what="each loss")


# -- train_epoch ------------------------------------------------------------------------------

@check("train_epoch", "values")
def train_epoch_small_example(student, inputs):
    """Linear(1, 1), MSE, SGD(lr=0.05), batches of 2 and 1: parameters and the size-weighted mean loss."""
    model = student.fixture("common.sequential", [["Linear", 1, 1]], {"0.weight": T([[0.5]]), "0.bias": T([0.0])})
    loader = student.fixture("common.loader", T([[1.0], [2.0], [3.0]]), T([[2.0], [4.0], [6.0]]), 2)
    opt = student.fixture("common.optimizer", "SGD", model, lr=0.05)
    loss = expect_float(student.call("train_epoch", model, loader, student.fixture("common.loss", "mse"), opt),
                        what="train_epoch(...)")
    # batch losses 5.625 (2 samples) and 9.9225 (1 sample): (2 * 5.625 + 9.9225) / 3
    expect_close(T(loss, dtype=torch.float64), T(7.0575, dtype=torch.float64), what="the mean loss train_epoch returned", atol=1e-5,
                 mistakes={"each batch's loss must be weighted by its size (the last batch is smaller)":
                           T((5.625 + 9.9225) / 2, dtype=torch.float64)})
    params = student.fixture("common.tensors_of", model)["parameters"]
    expect_close(torch.cat([params["0.weight"].flatten(), params["0.bias"]]), T([1.82, 0.54], dtype=torch.float64),
                 what="[weight, bias] after the epoch", atol=1e-5)


# -- evaluate_accuracy ------------------------------------------------------------------------

def identity_classifier(student: Student) -> Handle:
    return student.fixture("common.sequential", [["Linear", 2, 2]], {"0.weight": torch.eye(2), "0.bias": torch.zeros(2)})


@check("evaluate_accuracy", "values")
def evaluate_accuracy_small_example(student, inputs):
    """Logits equal to the inputs: 4 of 5 samples right, in batches of 2, 2 and 1."""
    loader = student.fixture("common.loader", T([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0], [5.0, 4.0]]),
                             T([0, 1, 1, 1, 0]), 2)
    accuracy = expect_float(student.call("evaluate_accuracy", identity_classifier(student), loader),
                            what="evaluate_accuracy(...)")
    if abs(accuracy - 0.8) > 1e-6:
        hint = (": the mean of per-batch accuracies weighs the last, smaller batch too much; count correct samples"
                if abs(accuracy - 5 / 6) < 1e-6 else "")
        fail(f"evaluate_accuracy gave {accuracy:.6g}, expected 0.8 (4 of 5 samples){hint}")


@check("evaluate_accuracy", "api")
def evaluate_accuracy_restores_train_mode(student, inputs):
    """A model in train mode is back in train mode afterwards."""
    model = identity_classifier(student)
    loader = student.fixture("common.loader", T([[1.0, 0.0], [0.0, 1.0]]), T([0, 1]), 2)
    expect_float(student.call("evaluate_accuracy", model, loader), what="evaluate_accuracy(...)")
    if not all(student.fixture("common.tensors_of", model)["training"].values()):
        fail("the model was in train mode before evaluate_accuracy and is not afterwards: restore its previous mode")


# -- fit_two_clusters -------------------------------------------------------------------------

def two_clusters(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n points: labels 0/1, Gaussian around (0.2, 0.2) and (0.8, 0.8) with std 0.1."""
    y = torch.randint(0, 2, (n,), generator=generator)
    centres = T([[0.2, 0.2], [0.8, 0.8]])
    return centres[y] + 0.1 * torch.randn(n, 2, generator=generator), y


@check("fit_two_clusters", "convergence")
def fit_two_clusters_separates_clusters(student, inputs):
    """Trained on 200 points, the model (in eval mode) classifies 500 fresh points with accuracy >= 0.97."""
    generator = torch.Generator().manual_seed(4)
    x, y = two_clusters(200, generator)
    model = student.call("fit_two_clusters", x, y)
    if not isinstance(model, Handle):
        fail(f"fit_two_clusters should return an nn.Module, got {describe(model)}")
    if any(student.fixture("common.tensors_of", model)["training"].values()):
        fail("fit_two_clusters returned a model in train mode: call model.eval() before returning it")
    x_test, y_test = two_clusters(500, generator)
    logits = student.call(model, x_test)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (500, 2):
        fail(f"model(x[500, 2]) should give logits [500, 2], got {describe(logits)} "
             f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else ''}")
    accuracy = float((values_of(logits).argmax(1) == y_test).double().mean())
    if accuracy < 0.97:
        fail(f"accuracy {accuracy:.3f} on fresh points, expected at least 0.97: train longer or use the "
             "BatchNorm + RMSprop recipe")


# -- MomentumSGD ------------------------------------------------------------------------------

@check("MomentumSGD", "values")
def momentum_sgd_two_steps_example(student, inputs):
    """lr=0.1, momentum=0.9, weight_decay=0.1: two steps from [1, -2] with fixed gradients."""
    params = student.fixture("optim.leaf_tensors", [T([1.0, -2.0], dtype=torch.float64)])
    opt = momentum_sgd(student, params, lr=0.1, momentum=0.9, weight_decay=0.1)
    # step 1: d = g + 0.1 p = [1.1, 0.3] = buf;  step 2: buf = 0.9 buf + (g + 0.1 p) = [0.579, 2.067]
    for grad, expected in (([1.0, 0.5], [0.89, -2.03]), ([-0.5, 2.0], [0.8321, -2.2367])):
        _, (got,) = optimizer_step(student, opt, params, [T(grad, dtype=torch.float64)])
        expect_close(got, T(expected, dtype=torch.float64), what=f"the parameter after the step with grad {grad}",
                     atol=1e-12, rtol=1e-9)


@check("MomentumSGD", "values")
def momentum_sgd_plain_by_default(student, inputs):
    """MomentumSGD(params, lr) without momentum or weight decay is plain SGD: p - lr * grad."""
    params = student.fixture("optim.leaf_tensors", [T([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)])
    opt = momentum_sgd(student, params, lr=0.5)
    for expected in ([[0.5, 2.0], [3.5, 4.0]], [[0.0, 2.0], [4.0, 4.0]]):
        _, (got,) = optimizer_step(student, opt, params, [T([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)])
        expect_close(got, T(expected, dtype=torch.float64), what="the parameter after a plain SGD step",
                     atol=1e-12, rtol=1e-9)
