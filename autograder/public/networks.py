"""03_nn: items and public checks (small fixed examples students can run themselves).

The helpers here (model structure, a watched ``manual_sgd_step`` call, Xavier bounds) are
shared with the hidden checks.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from autograder.checks import Item, check, describe, expect_close, expect_tensor, fail, values_of
from autograder.grading.student import Outcome, Student
from autograder.runtime.wire import Handle

# nn.CrossEntropyLoss, nn.NLLLoss, nn.LogSoftmax and nn.MSELoss are classes, not torch functions:
# constructing them is invisible to the recorder, but their forward calls the F.* function listed
# here, which is seen. The torch._C._nn entries are the kernels behind F.*, callable directly.
MSE_BANNED = ("torch.nn.functional.mse_loss", "torch._C._nn.mse_loss")
CROSS_ENTROPY_BANNED = (
    "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "torch.nn.functional.log_softmax",
    "torch.log_softmax", "torch._log_softmax", "torch.special.log_softmax", "torch.Tensor.log_softmax",
    "torch._C._nn.cross_entropy_loss", "torch._C._nn.nll_loss", "torch._C._nn.nll_loss_nd",
)

# manual_sgd_step bans torch.optim. An optimizer's step() is not a torch function the recorder can
# see, so each call is watched with torch.optim's global step hook instead (see sgd_step below).
ITEMS = [
    Item("two_layer_sequential", 3),
    Item("count_parameters", 3),
    Item("mse", 3, banned=MSE_BANNED),
    Item("cross_entropy", 3, banned=CROSS_ENTROPY_BANNED),
    Item("manual_sgd_step", 3),
    Item("classifier", 3),
    Item("init_xavier_", 3),
]

T = torch.tensor
SEQUENTIAL = "torch.nn.modules.container.Sequential"
SOFTMAXES = ("Softmax", "LogSoftmax", "Softmax2d", "Sigmoid")


# -- model structure ----------------------------------------------------------------------

def children(state: dict) -> list[tuple[str, str]]:
    """(name, type) of the top-level layers, in order."""
    return [(name, kind) for name, kind in state["modules"].items() if name and "." not in name]


def layer_hint(got: list[str], want: list[str]) -> str:
    if got and got[-1] in SOFTMAXES:
        return (f"it ends with {got[-1]}: return raw logits; nn.CrossEntropyLoss / F.cross_entropy apply "
                "log-softmax themselves, so a softmax at the end squashes the scores twice")
    if [k for k in got if k != "ReLU"] == [k for k in want if k != "ReLU"] and "ReLU" in want:
        return ("the ReLU is missing or misplaced: without a nonlinearity between them two Linear layers "
                "collapse into one linear map")
    if sorted(got) == sorted(want):
        return "the right layers in the wrong order"
    if len(got) == len(want):
        return "use exactly the layer types of the contract (nn.ReLU as the activation)"
    return ""


def expect_sequential(student: Student, model: Any, layers: list[tuple[str, dict]],
                      what: str) -> tuple[dict, list[str]]:
    """Staged: an nn.Sequential, its layer types in order, then each layer's parameter shapes.

    ``layers`` is ``[(type, {parameter: shape}), ...]``. Returns the registered state and the
    names of the top-level layers (positions for a plain Sequential, or the keys of an OrderedDict).
    """
    if not isinstance(model, Handle) or model.type != SEQUENTIAL:
        fail(f"{what} should return an nn.Sequential, got {describe(model)}")
    state = student.fixture("common.tensors_of", model)
    names, kinds = zip(*children(state)) if children(state) else ((), ())
    want = [kind for kind, _ in layers]
    if list(kinds) != want:
        hint = layer_hint(list(kinds), want)
        fail(f"{what} has the layers [{', '.join(kinds)}], expected [{', '.join(want)}]"
             + (f" — {hint}" if hint else ""))
    for name, (kind, shapes) in zip(names, layers):
        got = {p.split(".", 1)[1]: tuple(t.shape) for p, t in state["parameters"].items() if p.split(".", 1)[0] == name}
        for param, shape in shapes.items():
            if param not in got:
                fail(f"{what}: layer {name} ({kind}) has no {param}" + (
                    " — nn.Linear has a bias by default (bias=True); keep it" if kind == "Linear" else
                    " — keep BatchNorm1d's default affine=True (learnable weight and bias)"))
            if got[param] != shape:
                fail(f"{what}: layer {name} ({kind}) has {param} of shape {got[param]}, expected {shape}"
                     + (f" — nn.Linear(in_features, out_features) stores its weight as [out, in]: that is "
                        f"Linear({shape[1]}, {shape[0]})" if kind == "Linear" and param == "weight" else ""))
    frozen = [name for name, trainable in state["requires_grad"].items() if not trainable]
    if frozen:
        fail(f"{what}: the parameters {frozen} do not require grad; every parameter should be trainable")
    return state, list(names)


def by_student_names(values: dict[str, torch.Tensor], names: list[str]) -> dict[str, torch.Tensor]:
    """Rename ``"<position>.<param>"`` keys to the student's layer names."""
    return {f"{names[int(k.split('.', 1)[0])]}.{k.split('.', 1)[1]}": v for k, v in values.items()}


# -- manual_sgd_step: one watched call ----------------------------------------------------------

SGD_HINTS = {
    "leaf Variable that requires grad is being used in an in-place operation":
        "update the parameters inside `with torch.no_grad():` (autograd must not record the update)",
    "NoneType": "a parameter's .grad is None (a frozen parameter, or no backward yet): use it only if "
                "p.grad is not None, and zero gradients with model.zero_grad() or p.grad = None",
}


def sgd_step(student: Student, model: Handle, loss_fn: Handle, x: torch.Tensor, y: torch.Tensor, lr: float) -> float:
    """One ``manual_sgd_step`` call, watched for ``torch.optim`` steps (banned in this item); the loss it returns."""
    student.fixture("networks.watch_optimizer_steps")
    outcome: Outcome = student.run("manual_sgd_step", model, loss_fn, x, y, lr)
    steps = student.fixture("networks.optimizer_steps_seen")
    if steps:
        fail(f"manual_sgd_step uses banned torch.optim ({', '.join(sorted(set(steps)))} ran): this item is to be "
             "written by hand, p -= lr * p.grad under torch.no_grad()")
    if outcome.raised is not None:
        hints = [hint for marker, hint in SGD_HINTS.items() if marker in outcome.raised.message]
        if hints:
            fail(f"manual_sgd_step raised {outcome.raised.type}: {outcome.raised.message} — {hints[0]}")
    loss = outcome.result()
    if type(loss) is not float:
        fail(f"manual_sgd_step should return the loss as a Python float (loss.item()), got {describe(loss)}")
    return loss


# -- init_xavier_: the bounds of a uniform sample ----------------------------------------------

def xavier_bound(weight: torch.Tensor) -> float:
    fan_out, fan_in = weight.shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def expect_xavier_uniform(weight: torch.Tensor, what: str, false_fail: float) -> None:
    """Fail unless ``weight`` looks like an i.i.d. sample of U(-a, a), a = sqrt(6 / (fan_in + fan_out)).

    Four tests; a true Xavier-uniform sample fails them with probability at most ``false_fail`` in all:
    every |w| <= a (certain); max |w| >= a (1 - d) with (1 - d)^n = false_fail / 3 (the chance that all n
    draws miss the band); and Hoeffding for the mean of w in [-a, a] and of w^2 in [0, a^2] (mean a^2 / 3):
    P(|mean - mu| >= t) <= 2 exp(-2 n t^2 / width^2), so t = width sqrt(ln(2 * 3 / false_fail) / (2 n)).
    """
    w = values_of(weight).flatten()
    n, a = w.numel(), xavier_bound(weight)
    largest = float(w.abs().max())
    if largest > a * (1 + 1e-5):
        fail(f"{what} has |w| up to {largest:.4g}, above the Xavier bound sqrt(6 / (fan_in + fan_out)) = {a:.4g}: "
             "a normal init (xavier_normal_?), a gain other than 1, or an untouched layer?")
    if largest < a * (false_fail / 3) ** (1 / n):
        fail(f"{what} has |w| at most {largest:.4g}, well inside the Xavier bound {a:.4g}: a bound computed from "
             "fan_in only (the default/Kaiming init), or the layer left untouched?")
    spread = math.sqrt(math.log(6 / false_fail) / (2 * n))
    mean, mean_sq = float(w.mean()), float((w * w).mean())
    if abs(mean) > 2 * a * spread or abs(mean_sq - a * a / 3) > a * a * spread:
        fail(f"{what} does not look uniform on [-{a:.4g}, {a:.4g}]: mean {mean:.4g} (expected 0), mean square "
             f"{mean_sq:.4g} (expected a^2/3 = {a * a / 3:.4g})")


def is_count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# -- public checks ------------------------------------------------------------------------------

@check("two_layer_sequential", "shapes")
def two_layer_structure(student, inputs):
    """two_layer_sequential(3, 5, 2) is Sequential(Linear(3, 5), ReLU(), Linear(5, 2))."""
    model = student.call("two_layer_sequential", 3, 5, 2)
    expect_sequential(student, model, [("Linear", {"weight": (5, 3), "bias": (5,)}), ("ReLU", {}),
                                       ("Linear", {"weight": (2, 5), "bias": (2,)})], "two_layer_sequential(3, 5, 2)")


@check("two_layer_sequential", "values")
def two_layer_forward_example(student, inputs):
    """With given weights, the model computes W2 relu(W1 x + b1) + b2."""
    model = student.call("two_layer_sequential", 2, 3, 1)
    layers = [("Linear", {"weight": (3, 2), "bias": (3,)}), ("ReLU", {}), ("Linear", {"weight": (1, 3), "bias": (1,)})]
    _, names = expect_sequential(student, model, layers, "two_layer_sequential(2, 3, 1)")
    w1, b1, w2, b2 = T([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), T([0.0, 0.0, -3.0]), T([[1.0, 2.0, 3.0]]), T([0.5])
    student.fixture("common.load_tensors", model, by_student_names({"0.weight": w1, "0.bias": b1, "2.weight": w2,
                                                                      "2.bias": b2}, names))
    out = student.call(model, T([[1.0, -2.0], [2.0, 2.0]]))
    # row 1: hidden [1, -2, -4] -> relu [1, 0, 0] -> 1.5; row 2: hidden [2, 2, 1] -> 2 + 4 + 3 + 0.5
    expect_close(out, T([[1.5], [9.5]], dtype=torch.float64), what="the model's output on x[2,2]", dtype=torch.float32,
                 atol=1e-5)


@check("count_parameters", "values")
def count_small_example(student, inputs):
    """Linear(3, 4) + Linear(4, 2) has 16 + 10 = 26 parameters."""
    model = student.fixture("common.sequential", [["Linear", 3, 4], ["ReLU"], ["Linear", 4, 2]])
    got = student.call("count_parameters", model)
    if not is_count(got) or got != 26:
        fail(f"count_parameters(Linear(3, 4) -> ReLU -> Linear(4, 2)) gave {got!r}, expected 26 (an int)")


@check("count_parameters", "values")
def count_frozen_example(student, inputs):
    """Freezing the first layer leaves 10 trainable parameters of 26."""
    model = student.fixture("common.sequential", [["Linear", 3, 4], ["ReLU"], ["Linear", 4, 2]])
    student.fixture("networks.freeze", model, ["0.weight", "0.bias"])
    trainable = student.call("count_parameters", model)
    every = student.call("count_parameters", model, trainable_only=False)
    if not (is_count(trainable) and is_count(every) and (trainable, every) == (10, 26)):
        fail(f"with the first Linear frozen, count_parameters gave {trainable!r} (trainable_only=True) and {every!r} "
             "(trainable_only=False), expected 10 and 26")


@check("mse", "values")
def mse_small_example(student, inputs):
    """mse([[1,2],[3,4]], ones) = (0 + 1 + 4 + 9) / 4 = 3.5, a 0-dim tensor."""
    out = student.call("mse", T([[1.0, 2.0], [3.0, 4.0]]), torch.ones(2, 2))
    expect_close(out, T(3.5, dtype=torch.float64), what="mse([[1, 2], [3, 4]], ones(2, 2))", dtype=torch.float32,
                 atol=1e-6)


@check("cross_entropy", "values")
def cross_entropy_small_example(student, inputs):
    """Two rows with known log-sum-exp values."""
    logits, labels = T([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), T([2, 0])
    expected = (math.log(3.0) + (math.log(math.e + math.e ** 2 + math.e ** 3) - 1.0)) / 2
    out = student.call("cross_entropy", logits, labels)
    expect_close(out, T(expected, dtype=torch.float64), what="cross_entropy on a 2x3 example", dtype=torch.float32,
                 atol=1e-6)


@check("cross_entropy", "values")
def cross_entropy_large_logits_example(student, inputs):
    """Logits of 1e4 stay finite: rows [1e4, 0] and [0, 1e4] with labels [1, 1] give (1e4 + 0) / 2."""
    out = student.call("cross_entropy", T([[1e4, 0.0], [0.0, 1e4]]), T([1, 1]))
    expect_tensor(out, what="cross_entropy with logits of 1e4", shape=())
    if not torch.isfinite(out).all():
        fail(f"cross_entropy gave {float(out)} for logits of 1e4: exp overflows and log(softmax) underflows to "
             "log(0); use the log-sum-exp trick (subtract each row's max, or torch.logsumexp)")
    expect_close(out, T(5000.0, dtype=torch.float64), what="cross_entropy with logits of 1e4", dtype=torch.float32,
                 atol=1e-3)


@check("manual_sgd_step", "values")
def sgd_step_small_example(student, inputs):
    """One step on Linear(2, 1) with MSE: loss 1.25, weight [1, -1] -> [0.6, -1.05], bias 0.5 -> 0.4."""
    model = student.fixture("common.sequential", [["Linear", 2, 1]], {"0.weight": T([[1.0, -1.0]]), "0.bias": T([0.5])})
    x, y = T([[1.0, 2.0], [3.0, 1.0]]), T([[0.0], [1.0]])
    loss = sgd_step(student, model, student.fixture("common.loss", "mse"), x, y, 0.1)
    if abs(loss - 1.25) > 1e-5:
        fail(f"manual_sgd_step returned the loss {loss:.6g}, expected 1.25 (the loss before the update)")
    after = student.fixture("common.tensors_of", model)["parameters"]
    expect_close(after["0.weight"], T([[0.6, -1.05]], dtype=torch.float64), what="the weight after one step", atol=1e-6)
    expect_close(after["0.bias"], T([0.4], dtype=torch.float64), what="the bias after one step", atol=1e-6)


@check("classifier", "shapes")
def classifier_structure(student, inputs):
    """classifier(4, 6, 3) is Sequential(Linear(4, 6), BatchNorm1d(6), ReLU(), Linear(6, 3))."""
    model = student.call("classifier", 4, 6, 3)
    expect_sequential(student, model, [("Linear", {"weight": (6, 4), "bias": (6,)}),
                                       ("BatchNorm1d", {"weight": (6,), "bias": (6,)}), ("ReLU", {}),
                                       ("Linear", {"weight": (3, 6), "bias": (3,)})], "classifier(4, 6, 3)")


@check("classifier", "values")
def classifier_train_mode_normalises_the_batch(student, inputs):
    """In train mode BatchNorm normalises with the batch's own mean and (biased) variance."""
    model = student.call("classifier", 1, 1, 1)
    one = {"weight": (1, 1), "bias": (1,)}
    _, names = expect_sequential(student, model, [("Linear", one), ("BatchNorm1d", {"weight": (1,), "bias": (1,)}),
                                                  ("ReLU", {}), ("Linear", one)], "classifier(1, 1, 1)")
    ones = T([[1.0]])
    student.fixture("common.load_tensors", model, by_student_names(
        {"0.weight": ones, "0.bias": T([0.0]), "1.weight": T([1.0]), "1.bias": T([0.0]), "3.weight": ones,
         "3.bias": T([0.0])}, names))
    student.fixture("common.set_mode", model, True)
    out = student.call(model, T([[1.0], [3.0]]))
    # batch [1, 3]: mean 2, biased variance 1 -> normalised [-1, 1] (eps 1e-5) -> relu -> [0, 1]
    expect_close(out, T([[0.0], [1.0 / math.sqrt(1 + 1e-5)]], dtype=torch.float64),
                 what="classifier(1, 1, 1) in train mode", dtype=torch.float32, atol=1e-5)


@check("init_xavier_", "values")
def xavier_small_model(student, inputs):
    """Linear(40, 60) and Linear(60, 20) get Xavier-uniform weights and zero biases; the model is returned."""
    model = student.fixture("common.sequential", [["Linear", 40, 60], ["ReLU"], ["Linear", 60, 20]])
    returned = student.call("init_xavier_", model)
    if not isinstance(returned, Handle) or student.fixture("networks.object_ids", returned)["module"] != \
            student.fixture("networks.object_ids", model)["module"]:
        fail(f"init_xavier_ should return the very model it was given, changed in place; got {describe(returned)}")
    after = student.fixture("common.tensors_of", model)["parameters"]
    for name in ("0", "2"):
        expect_xavier_uniform(after[f"{name}.weight"], f"layer {name}'s weight", 0.5e-6)  # 1e-6 over both layers
        expect_close(after[f"{name}.bias"], torch.zeros_like(after[f"{name}.bias"], dtype=torch.float64),
                     what=f"layer {name}'s bias", atol=0, rtol=0)
