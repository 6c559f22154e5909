"""02_autograd: items and public checks (small fixed examples students can run themselves)."""
import math

import torch

from autograder.checks import Item, check, expect_close, expect_grads, expect_raises, fail, values_of

ITEMS = [
    Item("poly_grads", 3),
    Item("grad", 3),
    Item("vjp", 3),
    Item("sum_of_grads", 3),
    Item("stop_gradient_mse", 3),
    Item("StableSoftplus", 4, banned=("torch.nn.functional.softplus", "torch.nn.Softplus", "torch.ops.aten.softplus")),
    Item("numerical_grad", 3),
]

T = torch.tensor


def expect_pair_of_floats(out):
    """poly_grads returns a tuple of two Python floats."""
    if type(out) is not tuple or len(out) != 2:
        fail(f"poly_grads should return a tuple (dz_dx, dz_dy), got {out!r}")
    if not all(isinstance(v, float) for v in out):
        fail(f"poly_grads should return Python floats, got {[type(v).__name__ for v in out]} (use .item())")
    return out


@check("poly_grads", "values")
def poly_grads_small_example(student, inputs):
    """At (2, 3), z = x^2 y + x y has dz/dx = 2xy + y = 15 and dz/dy = x^2 + x = 6."""
    out = expect_pair_of_floats(student.call("poly_grads", 2.0, 3.0))
    if abs(out[0] - 15.0) > 1e-4 or abs(out[1] - 6.0) > 1e-4:
        fail(f"poly_grads(2.0, 3.0) gave {out}, expected (15.0, 6.0)")


@check("poly_grads", "api")
def poly_grads_uses_torch(student, inputs):
    """The gradients come out of autograd: torch is called, and the values are right."""
    outcome = student.run("poly_grads", -1.5, 0.5)
    out = expect_pair_of_floats(outcome.result())
    if outcome.op_count == 0:
        fail("poly_grads made no torch call: compute the gradients with autograd (requires_grad=True, "
             "backward), not with the derivatives worked out by hand")
    if abs(out[0] - (-1.0)) > 1e-4 or abs(out[1] - 0.75) > 1e-4:
        fail(f"poly_grads(-1.5, 0.5) gave {out}, expected (-1.0, 0.75)")


@check("grad", "gradients")
def grad_of_sum_of_cubes(student, inputs):
    """The gradient of sum(x^3) at [1, 2, -1] is 3 x^2 = [3, 12, 3], float32 like x."""
    f = student.fixture("autograd.function", "sum_cubes")
    out = student.call("grad", f, T([1.0, 2.0, -1.0]))
    expect_close(out, T([3.0, 12.0, 3.0], dtype=torch.float64), what="grad(lambda x: (x**3).sum(), [1, 2, -1])",
                 dtype=torch.float32, device="cpu", atol=1e-5)
    if out.requires_grad:
        fail("the result of grad requires grad: return a plain tensor (no create_graph, or .detach() it)")


@check("grad", "errors")
def grad_rejects_vector_output(student, inputs):
    """f(x) = x * x has three elements: grad must raise ValueError."""
    f = student.fixture("autograd.function", "square")
    expect_raises(student.run("grad", f, T([1.0, 2.0, 3.0])), "ValueError", what="grad(lambda x: x * x, x[3])")


@check("vjp", "gradients")
def vjp_of_square(student, inputs):
    """For f(x) = x * x, v^T J = 2 x v: at x = [1, 2, 3], v = [1, 0, -1] that is [2, 0, -6]."""
    f = student.fixture("autograd.function", "square")
    out = student.call("vjp", f, T([1.0, 2.0, 3.0]), T([1.0, 0.0, -1.0]))
    expect_close(out, T([2.0, 0.0, -6.0], dtype=torch.float64), what="vjp(lambda x: x * x, [1, 2, 3], [1, 0, -1])",
                 dtype=torch.float32, device="cpu", atol=1e-5,
                 mistakes={"v is ignored: that is the gradient of f(x).sum(); pass v as the gradient":
                           T([2.0, 4.0, 6.0])})


@check("sum_of_grads", "gradients")
def sum_of_grads_two_losses(student, inputs):
    """sum(w^3) and mean((w - t)^2) at w = [1, 2]: 3 w^2 + (w - t) = [3, 13]; w.grad is None on return."""
    w = T([1.0, 2.0], requires_grad=True)
    losses = student.fixture("autograd.functions", [["sum_cubes"], ["mse_to", T([1.0, 1.0])]])
    outcome = student.run("sum_of_grads", w, losses, return_args=True)
    expect_close(outcome.result(), T([3.0, 13.0], dtype=torch.float64),
                 what="sum_of_grads(w, [sum(w^3), mean((w-t)^2)])", dtype=torch.float32, atol=1e-5)
    if outcome.args_after[0].grad is not None:
        fail("w.grad is not None after sum_of_grads returned: set w.grad = None before returning")


@check("stop_gradient_mse", "values")
def stop_gradient_mse_small_example(student, inputs):
    """mean(([1, 2, 3] - [1, 0, 0])^2) = 13 / 3."""
    out = student.call("stop_gradient_mse", T([1.0, 2.0, 3.0]), T([1.0, 0.0, 0.0]))
    expect_close(out, T(13.0 / 3.0, dtype=torch.float64), what="stop_gradient_mse([1, 2, 3], [1, 0, 0])",
                 dtype=torch.float32, atol=1e-5,
                 mistakes={"that is the sum of the squared errors, not their mean": T(13.0, dtype=torch.float64)})


def expect_target_still_requires_grad(outcome):
    """Name detach_() or requires_grad_(False) on target: an error, or a target that no longer requires grad."""
    raised = outcome.raised.message if outcome.raised is not None else ""
    if "detach views in-place" in raised or "One of the differentiated Tensors does not require grad" in str(
            outcome.grad_error):
        fail("stop_gradient_mse modified target in place (detach_() or requires_grad_(False) on the caller's tensor): "
             "use target.detach(), which returns a new tensor")


@check("stop_gradient_mse", "gradients")
def stop_gradient_mse_blocks_target(student, inputs):
    """With both inputs requiring grad, pred gets 2 (pred - target) / n and target gets nothing."""
    pred, target = T([1.0, 2.0, 3.0]), T([1.0, 0.0, 0.0])
    outcome = student.run("stop_gradient_mse", pred, target, grad_wrt=(0, 1))
    expect_target_still_requires_grad(outcome)
    expect_grads(outcome, [T([0.0, 4.0 / 3.0, 2.0], dtype=torch.float64)], names=["pred"], output_shape=())
    leaked = outcome.grads[1]
    if leaked is not None and bool(leaked.abs().max() > 0):
        fail("a gradient reaches target: detach it (target.detach()) so that it is treated as a constant")


def expect_tensor_finite(out, x, what):
    """Name the overflow when a result is inf or NaN where softplus is finite."""
    if isinstance(out, torch.Tensor) and out.shape == x.shape and not bool(torch.isfinite(values_of(out)).all()):
        bad = values_of(x)[~torch.isfinite(values_of(out))]
        fail(f"{what} is not finite at x = {bad.tolist()[:4]}: exp(x) overflows for large |x|; "
             "rewrite log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|))")


@check("StableSoftplus", "values")
def softplus_small_and_huge_inputs(student, inputs):
    """softplus at [-1e4, -1, 0, 1, 1e4] is finite: [0, log(1 + e^-1), log 2, 1 + log(1 + e^-1), 1e4]."""
    x = T([-1e4, -1.0, 0.0, 1.0, 1e4])
    expected = T([0.0, math.log1p(math.exp(-1)), math.log(2), 1 + math.log1p(math.exp(-1)), 1e4], dtype=torch.float64)
    out = student.call("softplus", x)
    expect_tensor_finite(out, x, "softplus")
    expect_close(out, expected, what="softplus([-1e4, -1, 0, 1, 1e4])", dtype=torch.float32, device="cpu",
                 atol=1e-6, rtol=1e-6)


@check("StableSoftplus", "gradients")
def softplus_backward_is_sigmoid(student, inputs):
    """The gradient of softplus at [-2, 0, 3] for grad_out = [1, 2, -1] is grad_out * sigmoid(x)."""
    x, g = T([-2.0, 0.0, 3.0]), T([1.0, 2.0, -1.0])
    outcome = student.run("softplus", x, grad_wrt=(0,), grad_output=g)
    expected = g.double() * torch.sigmoid(x.double())
    expect_grads(outcome, [expected], names=["x"], output_shape=(3,))


@check("numerical_grad", "gradients")
def numerical_grad_of_cubes(student, inputs):
    """Central differences of sum(x^3) with eps = 1e-3 are exactly 3 x^2 + eps^2 (float64 input)."""
    f = student.fixture("autograd.function", "sum_cubes")
    x = T([1.0, -2.0], dtype=torch.float64)
    out = student.call("numerical_grad", f, x, eps=1e-3)
    expect_close(out, T([3.000001, 12.000001], dtype=torch.float64), what="numerical_grad(sum(x^3), [1, -2], eps=1e-3)",
                 dtype=torch.float64, device="cpu", atol=1e-8, rtol=0,
                 mistakes={"that is a one-sided difference (f(x + eps) - f(x)) / eps; use central differences":
                           T([3.003001, 11.994001], dtype=torch.float64)})


@check("numerical_grad", "values")
def numerical_grad_leaves_x_unchanged(student, inputs):
    """x is exactly unchanged after numerical_grad."""
    f = student.fixture("autograd.function", "sin_times_x")
    x = T([0.3, -1.7, 2.9], dtype=torch.float64)
    outcome = student.run("numerical_grad", f, x, return_args=True)
    expected = torch.sin(x) + x * torch.cos(x)
    expect_close(outcome.result(), expected, what="numerical_grad(sum(sin(x) * x), x)", dtype=torch.float64,
                 atol=1e-7, rtol=1e-7)
    if not torch.equal(outcome.args_after[1], x):
        fail("numerical_grad changed x: perturb a copy (x.clone()), or restore each element from a saved "
             "Python number, not from a view of x")
