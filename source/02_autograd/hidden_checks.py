"""02_autograd: hidden checks. Instructor-only: nbgrader never releases this file.

Inputs are random and fresh every run (seeded per check from the run's seed), with distinct
sizes; the callables the items take are built next to student code from the formulas of
``autograder.fixtures.autograd.FUNCTIONS``, and the references are computed here from the
same formulas, in float64.
"""
import torch

from autograder.checks import (
    SIM_DEVICE, CheckFailed, check, expect_close, expect_gradcheck, expect_grads, expect_raises, expect_tensor,
    expect_unchanged, fail, noncontiguous, to_sim, values_of,
)
from autograder.checks.expect import GRAPH_HINT
from autograder.fixtures.autograd import FUNCTIONS
from autograder.public.autograd import (
    expect_pair_of_floats, expect_target_still_requires_grad, expect_tensor_finite,
)

CUDA = torch.device("cuda", 0)
MACHINE_EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}
# Relative tolerance for a gradient computed in the input's dtype against the float64 reference, also
# applied to its largest entry as an absolute floor (float32: ~800 ulps, room for sums of dozens of terms).
GRAD_RTOL = {torch.float32: 1e-4, torch.float64: 1e-10}


def evaluate(name, x, *params):
    """FUNCTIONS[name] at the values of x, in float64, as a plain tensor."""
    with torch.no_grad():
        return FUNCTIONS[name](values_of(x), *[values_of(p) for p in params])


def ref_vjp(name, x, v, *params):
    """v^T J of FUNCTIONS[name] at x, in float64."""
    x64 = values_of(x).requires_grad_(True)
    out = FUNCTIONS[name](x64, *[values_of(p) for p in params])
    return torch.autograd.grad(out, x64, values_of(v).reshape(out.shape))[0]


def ref_grad(name, x, *params):
    """The gradient of the single-element FUNCTIONS[name] at x, in float64."""
    return ref_vjp(name, x, torch.ones(()), *params)


def ref_jvp(name, x, v, *params):
    """J v (the forward-mode product, the classic confusion with v^T J), in float64."""
    return torch.autograd.functional.jvp(lambda t: FUNCTIONS[name](t, *[values_of(p) for p in params]),
                                         values_of(x), values_of(v))[1]


def expect_gradient(value, ref, *, what, dtype, device="cpu", mistakes=None):
    """A gradient in x's dtype matches its float64 reference, relative to its largest entry."""
    if value is None:
        fail(f"{what} is None: no gradient reached x — {GRAPH_HINT}")
    rtol = GRAD_RTOL[dtype]
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    return expect_close(value, ref, what=what, dtype=dtype, device=device, atol=rtol * scale + 1e-30, rtol=rtol,
                        mistakes=mistakes)


def expect_leaf_state(after, before, *, what, name="x"):
    """No side effects: the argument's values, requires_grad and .grad are as they were."""
    expect_unchanged([before], [after], what=what)
    if after.requires_grad != before.requires_grad:
        fail(f"{what} changed {name}.requires_grad from {before.requires_grad} to {after.requires_grad}: work on "
             f"{name}.detach().requires_grad_() instead of calling requires_grad_ on the caller's tensor")
    if before.grad is None and after.grad is not None:
        fail(f"{what} left a gradient in {name}.grad (it was None): differentiate a detached copy, or use "
             "torch.autograd.grad, which does not write into .grad")
    grad_kept = after.grad is not None and torch.equal(values_of(after.grad), values_of(before.grad))
    if before.grad is not None and not grad_kept:
        fail(f"{what} changed what {name}.grad held on entry: backward() on the caller's tensor accumulates into it; "
             "differentiate a detached copy instead")


# -- poly_grads -------------------------------------------------------------------------

def ref_poly(x, y):
    return 2 * x * y + y, x * x + x


def expect_poly(out, x, y, what, mistakes=()):
    """Compare with (2xy + y, x^2 + x), relative to the size of the terms (float32 autograd passes)."""
    gx, gy = expect_pair_of_floats(out)
    want = ref_poly(x, y)
    scales = (abs(2 * x * y) + abs(y), x * x + abs(x))

    def close(values):
        return all(abs(g - w) <= 1e-5 * s + 1e-12 for g, w, s in zip((gx, gy), values, scales))

    if close(want):
        return
    hints = [f" — {hint}" for hint, wrong in mistakes if close(wrong)]
    fail(f"{what} gave ({gx:.6g}, {gy:.6g}), expected ({want[0]:.6g}, {want[1]:.6g})" + "".join(hints[:1]))


def poly_mistakes(x, y):
    gx, gy = ref_poly(x, y)
    return [("the two derivatives are swapped: return (dz/dx, dz/dy)", (gy, gx)),
            ("dz/dx misses the 2xy term: x**2 was cut from the graph (.item() or .detach())", (y, gy))]


def random_point(inputs):
    return inputs.py.uniform(-3.0, 3.0), inputs.py.uniform(-3.0, 3.0)


@check("poly_grads", "gradients", hidden=True)
def poly_grads_random_point(student, inputs):
    """dz/dx = 2xy + y and dz/dy = x^2 + x at a random point."""
    x, y = random_point(inputs)
    expect_poly(student.call("poly_grads", x, y), x, y, f"poly_grads({x:.4g}, {y:.4g})", poly_mistakes(x, y))


@check("poly_grads", "gradients", hidden=True)
def poly_grads_repeated_calls(student, inputs):
    """Calls in a row each give their own gradients: nothing accumulates across calls."""
    points = [random_point(inputs) for _ in range(3)]
    results = [student.call("poly_grads", x, y) for x, y in points]
    for (x, y), previous, out in zip(points[1:], results, results[1:]):
        previous = expect_pair_of_floats(previous)
        accumulated = tuple(p + r for p, r in zip(previous, ref_poly(x, y)))
        hint = ("gradients accumulate across calls: create fresh leaf tensors in every call "
                "(or reset their .grad before backward)")
        expect_poly(out, x, y, f"poly_grads({x:.4g}, {y:.4g}) after earlier calls",
                    [(hint, accumulated), *poly_mistakes(x, y)])
    (x, y), out = points[0], results[0]
    expect_poly(out, x, y, f"poly_grads({x:.4g}, {y:.4g})", poly_mistakes(x, y))


@check("poly_grads", "shapes", hidden=True)
def poly_grads_returns_python_floats(student, inputs):
    """The result is a tuple of two Python floats (not tensors or NumPy scalars of another type)."""
    x, y = random_point(inputs)
    expect_poly(student.call("poly_grads", x, y), x, y, f"poly_grads({x:.4g}, {y:.4g})")


@check("poly_grads", "api", hidden=True)
def poly_grads_uses_autograd(student, inputs):
    """At a random point the values are right and come from torch calls, not from hand-derived formulas."""
    x, y = random_point(inputs)
    outcome = student.run("poly_grads", x, y)
    expect_poly(outcome.result(), x, y, f"poly_grads({x:.4g}, {y:.4g})")
    if outcome.op_count == 0:
        fail("poly_grads made no torch call: compute the gradients with autograd (requires_grad=True, backward), "
             "not with the derivatives worked out by hand")


# -- grad -------------------------------------------------------------------------------

def grad_input(inputs, dtype=torch.float32):
    n, d = inputs.sizes(2, 2, 7)
    return inputs.randn(n, d, dtype=dtype)


@check("grad", "gradients", hidden=True)
def grad_of_random_functions(student, inputs):
    """Gradients of sum(sin(x) x), logsumexp(x) and a quadratic form x^T A x at a random non-contiguous x."""
    x = noncontiguous(grad_input(inputs))
    a = inputs.randn(x.numel(), x.numel())
    for name, params in (("sin_times_x", ()), ("logsumexp", ()), ("quadratic_form", (a,))):
        f = student.fixture("autograd.function", name, *params)
        expect_gradient(student.call("grad", f, x), ref_grad(name, x, *params),
                        what=f"grad({name}, x{list(x.shape)})", dtype=torch.float32)


@check("grad", "shapes", hidden=True)
def grad_keeps_float64(student, inputs):
    """A float64 x gives a float64 gradient of x's shape."""
    x = grad_input(inputs, torch.float64)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_gradient(student.call("grad", f, x), ref_grad("sin_times_x", x), what="grad(f, x) for a float64 x",
                    dtype=torch.float64)


@check("grad", "shapes", hidden=True)
def grad_accepts_one_element_output(student, inputs):
    """f(x) of shape [1, 1] has a single element: its gradient is returned, no error."""
    x = grad_input(inputs)
    f = student.fixture("autograd.function", "exp_sum_1x1")
    outcome = student.run("grad", f, x)
    if outcome.raised is not None and outcome.raised.type == "ValueError":
        fail("grad raised ValueError for f(x) of shape (1, 1), which has a single element: test f(x).numel() != 1, "
             "not the number of dims")
    expect_gradient(outcome.result(), ref_grad("exp_sum_1x1", x), what="grad(f, x) with f(x) of shape [1, 1]",
                    dtype=torch.float32)


@check("grad", "errors", hidden=True)
def grad_rejects_outputs_with_many_elements(student, inputs):
    """f(x) = tanh(x A) has N x M elements: ValueError."""
    x = grad_input(inputs)
    f = student.fixture("autograd.function", "tanh_linear", inputs.randn(x.shape[1], inputs.sizes(1, 2, 5)[0]))
    expect_raises(student.run("grad", f, x), "ValueError", what="grad(f, x) where f(x) has several elements")


@check("grad", "api", hidden=True)
def grad_leaves_plain_x_alone(student, inputs):
    """x that does not require grad still does not, has no .grad, and keeps its values."""
    x = grad_input(inputs)
    f = student.fixture("autograd.function", "sum_cubes")
    outcome = student.run("grad", f, x, return_args=True)
    expect_gradient(outcome.result(), ref_grad("sum_cubes", x), what="grad(sum(x^3), x)", dtype=torch.float32)
    expect_leaf_state(outcome.args_after[1], x, what="grad")


@check("grad", "api", hidden=True)
def grad_leaves_x_grad_alone(student, inputs):
    """x that requires grad and holds a .grad keeps both; the result excludes what x.grad held."""
    x = grad_input(inputs).requires_grad_(True)
    x.grad = inputs.randn(*x.shape)
    f = student.fixture("autograd.function", "sin_times_x")
    outcome = student.run("grad", f, x, return_args=True)
    ref = ref_grad("sin_times_x", x)
    expect_gradient(outcome.result(), ref, what="grad(f, x) for x holding a .grad", dtype=torch.float32,
                    mistakes={"the result includes what x.grad held on entry (backward accumulates into .grad): "
                              "differentiate a detached copy of x": ref + values_of(x.grad)})
    expect_leaf_state(outcome.args_after[1], x, what="grad")


@check("grad", "gradients", hidden=True)
def grad_result_does_not_require_grad(student, inputs):
    """The gradient is a plain tensor: it does not require grad, whether or not x does."""
    for requires in (False, True):
        x = grad_input(inputs).requires_grad_(requires)
        f = student.fixture("autograd.function", "logsumexp")
        out = expect_gradient(student.call("grad", f, x), ref_grad("logsumexp", x), what="grad(logsumexp, x)",
                              dtype=torch.float32)
        if out.requires_grad:
            fail("the result of grad requires grad: do not pass create_graph=True, or .detach() the gradient")


@check("grad", "device", hidden=True)
def grad_follows_device(student, inputs):
    """x on (simulated) cuda:0 gives a gradient on cuda:0."""
    x = grad_input(inputs)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_gradient(student.call("grad", f, to_sim(x)), ref_grad("sin_times_x", x),
                    what="grad(f, x) for x on (simulated) cuda:0", dtype=torch.float32, device=SIM_DEVICE)


@check("grad", "device", hidden=True, requires="cuda")
def grad_on_real_cuda(student, inputs):
    """x on cuda gives a gradient on cuda."""
    x = grad_input(inputs)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_gradient(student.call("grad", f, x.to(CUDA)), ref_grad("sin_times_x", x),
                    what="grad(f, x) for x on cuda", dtype=torch.float32, device=CUDA)


# -- vjp --------------------------------------------------------------------------------

def linear_case(inputs, dtype=torch.float32):
    """x [N, D], A [D, M] and v [N, M] for f(x) = tanh(x A)."""
    n, d, m = inputs.sizes(3, 2, 9)
    return inputs.randn(n, d, dtype=dtype), inputs.randn(d, m, dtype=dtype, scale=0.5), inputs.randn(n, m, dtype=dtype)


def vjp_mistakes(name, x, v, *params):
    ones = torch.ones_like(values_of(v))
    return {"v is ignored: that is the gradient of f(x).sum(); pass v as the gradient of the output "
            "(backward(v) or grad_outputs=v)": ref_vjp(name, x, ones, *params)}


@check("vjp", "gradients", hidden=True)
def vjp_tanh_linear(student, inputs):
    """v^T J for f(x) = tanh(x A) with x [N, D] non-contiguous and f(x), v [N, M]."""
    x, a, v = linear_case(inputs)
    x = noncontiguous(x)
    f = student.fixture("autograd.function", "tanh_linear", a)
    expect_gradient(student.call("vjp", f, x, v), ref_vjp("tanh_linear", x, v, a),
                    what=f"vjp(tanh(x A), x{list(x.shape)}, v{list(v.shape)})", dtype=torch.float32,
                    mistakes=vjp_mistakes("tanh_linear", x, v, a))


@check("vjp", "gradients", hidden=True)
def vjp_not_jvp(student, inputs):
    """For f(x) = tanh(A x) with a square non-symmetric A, v^T J differs from J v."""
    n = inputs.sizes(1, 4, 10)[0]
    x, a, v = inputs.randn(n), inputs.randn(n, n, scale=0.5), inputs.randn(n)
    f = student.fixture("autograd.function", "tanh_matvec", a)
    mistakes = {"that is J v (a Jacobian-vector product, forward mode); vjp is v^T J, what backward(v) computes":
                ref_jvp("tanh_matvec", x, v, a), **vjp_mistakes("tanh_matvec", x, v, a)}
    expect_gradient(student.call("vjp", f, x, v), ref_vjp("tanh_matvec", x, v, a),
                    what=f"vjp(tanh(A x), x[{n}], v[{n}])", dtype=torch.float32, mistakes=mistakes)


@check("vjp", "shapes", hidden=True)
def vjp_keeps_float64(student, inputs):
    """float64 x and v give a float64 result shaped like x."""
    x, a, v = linear_case(inputs, torch.float64)
    f = student.fixture("autograd.function", "tanh_linear", a)
    expect_gradient(student.call("vjp", f, x, v), ref_vjp("tanh_linear", x, v, a),
                    what="vjp(f, x, v) for float64 x and v", dtype=torch.float64)


@check("vjp", "api", hidden=True)
def vjp_has_no_side_effects(student, inputs):
    """x (with or without requires_grad and a .grad) and v are as they were; the result excludes x.grad."""
    x, a, v = linear_case(inputs)
    f = student.fixture("autograd.function", "tanh_linear", a)
    for requires in (False, True):
        x = x.detach().requires_grad_(requires)
        if requires:
            x.grad = inputs.randn(*x.shape)
        outcome = student.run("vjp", f, x, v, return_args=True)
        ref = ref_vjp("tanh_linear", x, v, a)
        wrong = {"the result includes what x.grad held on entry: differentiate a detached copy of x":
                 ref + values_of(x.grad)} if requires else {}
        expect_gradient(outcome.result(), ref, what="vjp(f, x, v)", dtype=torch.float32, mistakes=wrong)
        expect_leaf_state(outcome.args_after[1], x, what="vjp")
        expect_unchanged([v], outcome.args_after[2:], what="vjp")


@check("vjp", "device", hidden=True)
def vjp_follows_device(student, inputs):
    """x and v on (simulated) cuda:0 give a result on cuda:0."""
    n, d = inputs.sizes(2, 2, 7)
    x, v = inputs.randn(n, d), inputs.randn(n, d)
    f = student.fixture("autograd.function", "square")
    expect_gradient(student.call("vjp", f, to_sim(x), to_sim(v)), ref_vjp("square", x, v),
                    what="vjp(f, x, v) on (simulated) cuda:0", dtype=torch.float32, device=SIM_DEVICE)


@check("vjp", "device", hidden=True, requires="cuda")
def vjp_on_real_cuda(student, inputs):
    """x and v on cuda give a result on cuda."""
    n, d = inputs.sizes(2, 2, 7)
    x, v = inputs.randn(n, d), inputs.randn(n, d)
    f = student.fixture("autograd.function", "square")
    expect_gradient(student.call("vjp", f, x.to(CUDA), v.to(CUDA)), ref_vjp("square", x, v),
                    what="vjp(f, x, v) on cuda", dtype=torch.float32, device=CUDA)


# -- sum_of_grads -----------------------------------------------------------------------

def loss_specs(inputs, w, names=("sum_cubes", "sin_times_x", "quadratic_form", "mse_to")):
    """Three of the losses in random order, with parameters drawn for w's shape and dtype."""
    params = {"quadratic_form": (inputs.randn(w.numel(), w.numel(), dtype=w.dtype),),
              "mse_to": (inputs.randn(*w.shape, dtype=w.dtype),)}
    return [[name, *params.get(name, ())] for name in inputs.py.sample(list(names), 3)]


def ref_sum_of_grads(w, specs):
    grads = [ref_grad(name, w, *params) for name, *params in specs]
    return sum(grads), grads


def expect_sum_of_grads(student, w, specs, what, dtype=torch.float32, device="cpu", send=lambda t: t):
    """Run sum_of_grads, compare with the float64 sum, and require w.grad None and w untouched."""
    losses = student.fixture("autograd.functions", [[name, *map(send, params)] for name, *params in specs])
    outcome = student.run("sum_of_grads", send(w), losses, return_args=True)
    total, grads = ref_sum_of_grads(w, specs)
    mistakes = {"that is the gradient of the last loss only: let the gradients accumulate in w.grad "
                "(do not reset it between the losses)": grads[-1]}
    if w.grad is not None:
        mistakes["the result includes what w.grad held on entry: set w.grad = None before the first backward"] = \
            total + values_of(w.grad)
    mistakes["the result is zero: was it zeroed after it was taken? Return a copy (w.grad.clone())"] = 0 * total
    expect_gradient(outcome.result(), total, what=what, dtype=dtype, device=device, mistakes=mistakes)
    after = outcome.args_after[0]
    if after.grad is not None:
        fail("w.grad is not None after sum_of_grads returned: set w.grad = None (zero_() is not enough)")
    expect_unchanged([w], [after], what="sum_of_grads")
    if not after.requires_grad:
        fail("sum_of_grads turned off w.requires_grad: leave the caller's parameter as it was")


def leaf(inputs, dtype=torch.float32):
    n, d = inputs.sizes(2, 2, 7)
    return inputs.randn(n, d, dtype=dtype).requires_grad_(True)


@check("sum_of_grads", "gradients", hidden=True)
def sum_of_grads_three_losses(student, inputs):
    """The sum of the gradients of three random losses; w.grad is None on return."""
    w = leaf(inputs)
    expect_sum_of_grads(student, w, loss_specs(inputs, w), f"sum_of_grads(w{list(w.shape)}, three losses)")


@check("sum_of_grads", "gradients", hidden=True)
def sum_of_grads_ignores_grad_on_entry(student, inputs):
    """What w.grad held on entry is not part of the result, and is gone on return."""
    w = leaf(inputs)
    w.grad = inputs.randn(*w.shape)
    expect_sum_of_grads(student, w, loss_specs(inputs, w), "sum_of_grads(w, losses) with w.grad set on entry")


@check("sum_of_grads", "shapes", hidden=True)
def sum_of_grads_keeps_float64_parameter(student, inputs):
    """A float64 nn.Parameter gives a float64 result of its shape."""
    w = torch.nn.Parameter(leaf(inputs, torch.float64).detach())
    w.grad = inputs.randn(*w.shape, dtype=torch.float64)
    expect_sum_of_grads(student, w, loss_specs(inputs, w), "sum_of_grads for a float64 nn.Parameter",
                        dtype=torch.float64)


@check("sum_of_grads", "device", hidden=True)
def sum_of_grads_follows_device(student, inputs):
    """w on (simulated) cuda:0 gives a result on cuda:0."""
    w = leaf(inputs)
    # no quadratic form: the simulated device does not support the in-place squeeze_ of matmul's vector backward
    specs = loss_specs(inputs, w, names=("sum_cubes", "sin_times_x", "mse_to"))
    expect_sum_of_grads(student, w, specs, "sum_of_grads for w on (simulated) cuda:0", device=SIM_DEVICE, send=to_sim)


@check("sum_of_grads", "device", hidden=True, requires="cuda")
def sum_of_grads_on_real_cuda(student, inputs):
    """w on cuda gives a result on cuda."""
    w = leaf(inputs)
    specs = loss_specs(inputs, w)
    expect_sum_of_grads(student, w, specs, "sum_of_grads for w on cuda", device=CUDA,
                        send=lambda t: t.detach().to(CUDA).requires_grad_(t.requires_grad))


# -- stop_gradient_mse ------------------------------------------------------------------

def mse_pair(inputs, dtype=torch.float32):
    n, d = inputs.sizes(2, 2, 9)
    return inputs.randn(n, d, dtype=dtype), inputs.randn(n, d, dtype=dtype)


def ref_mse(pred, target):
    return ((values_of(pred) - values_of(target)) ** 2).mean()


def expect_mse(out, pred, target, what, dtype=torch.float32, device="cpu"):
    ref = ref_mse(pred, target)
    rtol = (pred.numel() + 8) * MACHINE_EPS[dtype]  # a sum of positive terms: relative error <= n eps
    return expect_close(out, ref, what=what, dtype=dtype, device=device, atol=1e-30, rtol=rtol,
                        mistakes={"that is the sum of the squared errors, not their mean": ref * pred.numel()})


@check("stop_gradient_mse", "values", hidden=True)
def stop_gradient_mse_random(student, inputs):
    """mean((pred - target)^2) for random non-contiguous [N, D] inputs, as a 0-dim tensor."""
    pred, target = mse_pair(inputs)
    pred = noncontiguous(pred)
    expect_mse(student.call("stop_gradient_mse", pred, target), pred, target,
               f"stop_gradient_mse(pred{list(pred.shape)}, target)")


@check("stop_gradient_mse", "gradients", hidden=True)
def stop_gradient_mse_gradients(student, inputs):
    """pred gets g * 2 (pred - target) / n; no gradient reaches target, which requires grad too."""
    pred, target = mse_pair(inputs)
    g = inputs.randn(())
    outcome = student.run("stop_gradient_mse", pred, target, grad_wrt=(0, 1), grad_output=g)
    expect_target_still_requires_grad(outcome)
    expected = float(g) * 2 * (values_of(pred) - values_of(target)) / pred.numel()
    expect_grads(outcome, [expected], names=["pred"], output_shape=())
    leaked = outcome.grads[1]
    if leaked is not None and bool(values_of(leaked).abs().max() > 0):
        fail("a gradient flows into target: use target.detach() in the loss so that it is a constant")


@check("stop_gradient_mse", "api", hidden=True)
def stop_gradient_mse_leaves_target_alone(student, inputs):
    """A target that requires grad still does afterwards (no detach_() or requires_grad_(False) on it)."""
    pred, target = mse_pair(inputs)
    pred.requires_grad_(True)
    target.requires_grad_(True)
    outcome = student.run("stop_gradient_mse", pred, target, return_args=True)
    expect_target_still_requires_grad(outcome)
    expect_mse(outcome.result(), pred, target, "stop_gradient_mse(pred, target)")
    after = outcome.args_after
    if not after[1].requires_grad:
        fail("stop_gradient_mse modified target in place: detach_() or requires_grad_(False) turned off the caller's "
             "target.requires_grad; use target.detach(), which returns a new tensor")
    expect_unchanged([pred, target], after, what="stop_gradient_mse")


@check("stop_gradient_mse", "shapes", hidden=True)
def stop_gradient_mse_keeps_float64(student, inputs):
    """float64 inputs give a 0-dim float64 loss."""
    pred, target = mse_pair(inputs, torch.float64)
    expect_mse(student.call("stop_gradient_mse", pred, target), pred, target,
               "stop_gradient_mse on float64 inputs", dtype=torch.float64)


@check("stop_gradient_mse", "device", hidden=True)
def stop_gradient_mse_follows_device(student, inputs):
    """Inputs on (simulated) cuda:0 give a loss on cuda:0 whose gradient reaches pred only."""
    pred, target = mse_pair(inputs)
    outcome = student.run("stop_gradient_mse", to_sim(pred), to_sim(target), grad_wrt=(0, 1),
                          grad_output=to_sim(torch.ones(())))
    expect_target_still_requires_grad(outcome)
    expect_mse(outcome.result(), pred, target, "stop_gradient_mse on (simulated) cuda:0", device=SIM_DEVICE)
    expect_grads(outcome, [2 * (values_of(pred) - values_of(target)) / pred.numel()], names=["pred"], output_shape=())


@check("stop_gradient_mse", "device", hidden=True, requires="cuda")
def stop_gradient_mse_on_real_cuda(student, inputs):
    """Inputs on cuda give a loss on cuda."""
    pred, target = mse_pair(inputs)
    expect_mse(student.call("stop_gradient_mse", pred.to(CUDA), target.to(CUDA)), pred, target,
               "stop_gradient_mse on cuda", device=CUDA)


# -- StableSoftplus ---------------------------------------------------------------------

# Accuracy asked of softplus, relative to its value (atol for the tiny values at very negative x).
# float64: rtol 1e-9 admits PyTorch's own formulation (x itself above a threshold of 20, error
# <= exp(-20) / 20 ~ 1.0e-10 relative); overflowing formulas give inf, clamped ones errors ~ 1.
SOFTPLUS_TOL = {torch.float32: (1e-6, 1e-5), torch.float64: (1e-15, 1e-9)}


def wide_inputs(inputs, dtype=torch.float32):
    """[N, D] with half the entries spread over [-1e4, 1e4] and half of unit scale (so both regimes show)."""
    n, d = inputs.sizes(2, 4, 12)
    wide = (inputs.rand(n, d, dtype=torch.float64) * 2 - 1) * 1e4
    mask = inputs.rand(n, d) < 0.5
    x = torch.where(mask, wide, inputs.randn(n, d, dtype=torch.float64, scale=3.0))
    x[0, 0], x[-1, -1] = 1e4, -1e4
    return x.to(dtype)


def ref_softplus(x):
    return torch.logaddexp(values_of(x), torch.zeros((), dtype=torch.float64))


def expect_softplus(out, x, what, dtype=torch.float32, device="cpu"):
    expect_tensor(out, what=what, shape=tuple(x.shape), dtype=dtype, device=device)
    expect_tensor_finite(values_of(out), values_of(x), what)
    atol, rtol = SOFTPLUS_TOL[dtype]
    expect_close(out, ref_softplus(x), what=what, dtype=dtype, device=device, atol=atol, rtol=rtol)


def expect_softplus_grad(outcome, x, g, what, device="cpu"):
    expect_tensor(outcome.result(), what=what, shape=tuple(x.shape))
    if outcome.grads is None or outcome.grads[0] is None:
        fail(f"no gradient comes out of {what} ({outcome.grad_error}) — {GRAPH_HINT}")
    got = outcome.grads[0]
    if not bool(torch.isfinite(values_of(got)).all()):
        bad = values_of(x)[~torch.isfinite(values_of(got))]
        fail(f"the gradient of {what} is not finite at x = {bad.tolist()[:4]}: exp(x) overflows in backward; "
             "use torch.sigmoid(x), which is stable")
    x64, g64 = values_of(x), values_of(g)
    ref = g64 * torch.sigmoid(x64)
    mistakes = {"backward ignores grad_out: return grad_out * sigmoid(x) (chain rule)": torch.sigmoid(x64),
                "backward returns grad_out * softplus(x); the derivative of softplus is sigmoid":
                    g64 * ref_softplus(x64)}
    expect_close(got, ref, what=f"the gradient of {what}", device=device, atol=1e-6 * float(g64.abs().max()),
                 rtol=1e-5, mistakes=mistakes)


@check("StableSoftplus", "values", hidden=True)
def softplus_wide_range_float32(student, inputs):
    """softplus is finite and accurate for float32 x in [-1e4, 1e4], and leaves x unchanged."""
    x = noncontiguous(wide_inputs(inputs))
    outcome = student.run("softplus", x, return_args=True)
    expect_softplus(outcome.result(), x, f"softplus(x{list(x.shape)}) for x in [-1e4, 1e4]")
    expect_unchanged([x], outcome.args_after, what="softplus")


@check("StableSoftplus", "shapes", hidden=True)
def softplus_keeps_float64(student, inputs):
    """float64 x in [-1e4, 1e4] gives a float64 result accurate to 1e-9 relative."""
    x = wide_inputs(inputs, torch.float64)
    expect_softplus(student.call("softplus", x), x, "softplus(x) for float64 x in [-1e4, 1e4]", dtype=torch.float64)


@check("StableSoftplus", "gradients", hidden=True)
def softplus_backward_wide_range(student, inputs):
    """The gradient for a random grad_out is grad_out * sigmoid(x), finite for x in [-1e4, 1e4]."""
    x = wide_inputs(inputs)
    g = inputs.randn(*x.shape)
    outcome = student.run("softplus", x, grad_wrt=(0,), grad_output=g)
    expect_softplus_grad(outcome, x, g, "softplus(x) for x in [-1e4, 1e4]")


@check("StableSoftplus", "gradients", hidden=True)
def softplus_passes_gradcheck(student, inputs):
    """torch.autograd.gradcheck of StableSoftplus.apply in float64."""
    x = inputs.randn(inputs.sizes(1, 4, 8)[0], dtype=torch.float64, scale=4.0)
    expect_gradcheck(student, "StableSoftplus", x, attr=("apply",), what="StableSoftplus.apply")


@check("StableSoftplus", "api", hidden=True)
def softplus_is_the_custom_function(student, inputs):
    """softplus(x) is made by StableSoftplus, whose forward saved its tensors with ctx.save_for_backward."""
    x = inputs.randn(inputs.sizes(1, 4, 9)[0], scale=5.0)
    cls = student.run("StableSoftplus", call=False).result()
    node = student.fixture("autograd.autograd_node", student.run("softplus", call=False).result(), cls, x)
    expect_softplus(node["out"], x, "softplus(x)")
    if not node["made_by_cls"]:
        fail(f"softplus(x) was not made by StableSoftplus (its grad_fn is {node['node']}): "
             "softplus(x) must return StableSoftplus.apply(x)")
    if node["saved"] == 0:
        fail("StableSoftplus saved no tensors for backward: save them with ctx.save_for_backward(...) and read them "
             "with ctx.saved_tensors (attributes such as ctx.x bypass autograd's checks and leak memory)")


@check("StableSoftplus", "device", hidden=True)
def softplus_follows_device(student, inputs):
    """x on (simulated) cuda:0 gives a result and a gradient on cuda:0."""
    x = wide_inputs(inputs)
    g = inputs.randn(*x.shape)
    outcome = student.run("softplus", to_sim(x), grad_wrt=(0,), grad_output=to_sim(g))
    expect_softplus(outcome.result(), x, "softplus(x) for x on (simulated) cuda:0", device=SIM_DEVICE)
    expect_softplus_grad(outcome, x, g, "softplus(x) for x on (simulated) cuda:0", device=SIM_DEVICE)


@check("StableSoftplus", "device", hidden=True, requires="cuda")
def softplus_on_real_cuda(student, inputs):
    """x on cuda gives a result and a gradient on cuda."""
    x = wide_inputs(inputs)
    g = inputs.randn(*x.shape)
    outcome = student.run("softplus", x.to(CUDA), grad_wrt=(0,), grad_output=g.to(CUDA))
    expect_softplus(outcome.result(), x, "softplus(x) for x on cuda", device=CUDA)
    expect_softplus_grad(outcome, x, g, "softplus(x) for x on cuda", device=CUDA)


# -- numerical_grad ---------------------------------------------------------------------

def ref_differences(name, x, eps):
    """Central and one-sided differences of FUNCTIONS[name] at x (float64), and the largest |f| seen."""
    flat = values_of(x).reshape(-1)
    f0 = float(evaluate(name, flat.view(x.shape)))
    central, one_sided, largest = torch.empty_like(flat), torch.empty_like(flat), abs(f0)
    for i in range(flat.numel()):
        plus, minus = flat.clone(), flat.clone()
        plus[i] += eps
        minus[i] -= eps
        fp, fm = float(evaluate(name, plus.view(x.shape))), float(evaluate(name, minus.view(x.shape)))
        central[i], one_sided[i] = (fp - fm) / (2 * eps), (fp - f0) / eps
        largest = max(largest, abs(fp), abs(fm))
    return central.view(x.shape), one_sided.view(x.shape), largest


def expect_numerical(out, name, x, eps, what, *, dtype=torch.float64, device="cpu", rtol=1e-9):
    """Agree with the grader's central differences up to rounding in f, which is relative to |f| / eps
    (the evaluation order of f may differ, e.g. on a copy with other strides)."""
    central, one_sided, largest = ref_differences(name, x, eps)
    atol = 64 * MACHINE_EPS[dtype] * (largest + 1) / eps
    mistakes = {"that is a one-sided difference (f(x + eps) - f(x)) / eps; use central differences "
                "(f(x + eps) - f(x - eps)) / (2 eps)": one_sided}
    try:
        return expect_close(out, central, what=what, dtype=dtype, device=device, atol=atol, rtol=rtol,
                            mistakes=mistakes)
    except CheckFailed as failure:
        value_error = "differs from the reference" in str(failure)
        if value_error and name in ("sum_cubes", "sin_times_x") and looks_exact(out, ref_grad(name, x)):
            fail(f"{failure} — that is the exact gradient, not central differences with the eps given: "
                 "evaluate f at x +- eps (the eps passed in), without autograd")
        raise


def looks_exact(out, exact):
    """Whether a result is the exact gradient to 1e-6 (autograd, or central differences with a tiny eps of
    their own), where central differences with the eps given are off by eps^2 / 6 times the third derivative."""
    if not isinstance(out, torch.Tensor) or out.shape != exact.shape:
        return False
    return bool(((values_of(out) - exact).abs() <= 1e-6 * float(exact.abs().max())).all())


def numerical_input(inputs, dtype=torch.float64):
    n, d = inputs.sizes(2, 3, 7)
    return inputs.randn(n, d, dtype=dtype)


@check("numerical_grad", "gradients", hidden=True)
def numerical_grad_central_differences(student, inputs):
    """With eps = 1e-2 on sum(x^3) (float64, non-contiguous): central differences, 3 x^2 + eps^2 exactly."""
    x = noncontiguous(numerical_input(inputs))
    eps = inputs.choice([1e-2, 3e-3])
    f = student.fixture("autograd.function", "sum_cubes")
    expect_numerical(student.call("numerical_grad", f, x, eps=eps), "sum_cubes", x, eps,
                     f"numerical_grad(sum(x^3), x{list(x.shape)}, eps={eps:g})")


@check("numerical_grad", "values", hidden=True)
def numerical_grad_default_eps_is_accurate(student, inputs):
    """With the default eps, the result is the gradient of sum(sin(x) x) to about 1e-6 relative."""
    x = numerical_input(inputs)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_numerical(student.call("numerical_grad", f, x), "sin_times_x", x, 1e-6,
                     "numerical_grad(sum(sin(x) x), x) with the default eps")


@check("numerical_grad", "values", hidden=True)
def numerical_grad_leaves_x_exactly_unchanged(student, inputs):
    """x is bit-for-bit unchanged on return (no perturbing x itself and undoing it with arithmetic)."""
    x = numerical_input(inputs)
    f = student.fixture("autograd.function", "logsumexp")
    outcome = student.run("numerical_grad", f, x, kwargs={"eps": 1e-4}, return_args=True)
    expect_numerical(outcome.result(), "logsumexp", x, 1e-4, "numerical_grad(logsumexp, x, eps=1e-4)")
    if not torch.equal(values_of(outcome.args_after[1]), values_of(x)):
        fail("numerical_grad changed x (x + eps - 2 eps + eps is not exactly x in floating point): perturb a copy "
             "(x.clone()), or restore each element from a saved Python number")


@check("numerical_grad", "gradients", hidden=True)
def numerical_grad_without_autograd(student, inputs):
    """Works for an f computed through NumPy, which autograd cannot differentiate."""
    x = numerical_input(inputs)
    f = student.fixture("autograd.function", "numpy_sin_sum")
    outcome = student.run("numerical_grad", f, x, kwargs={"eps": 1e-4})
    if outcome.raised is not None and outcome.raised.type != "NotImplementedError":
        first = (outcome.raised.message.splitlines() or [""])[0][:200]
        fail(f"numerical_grad raised {outcome.raised.type}: {first} — here f goes through NumPy and has no "
             "autograd graph: use only evaluations of f (no backward, no autograd)")
    expect_numerical(outcome.result(), "numpy_sin_sum", x, 1e-4, "numerical_grad(f through NumPy, x, eps=1e-4)")


@check("numerical_grad", "shapes", hidden=True)
def numerical_grad_keeps_float32(student, inputs):
    """A float32 x [N, D] (non-contiguous) gives a float32 result of its shape (values loosely, eps = 1e-2)."""
    x = noncontiguous(numerical_input(inputs, torch.float32))
    f = student.fixture("autograd.function", "sin_times_x")
    # float32: each f loses ~eps32 |f| (in atol), and x +- eps rounds by up to half an ulp of |x| <= 8, that is
    # 4.8e-7 / (2 eps) = 2.4e-5 relative to the derivative: rtol 1e-3 leaves a margin of 40.
    expect_numerical(student.call("numerical_grad", f, x, eps=1e-2), "sin_times_x", x, 1e-2,
                     f"numerical_grad(f, x{list(x.shape)} float32, eps=1e-2)", dtype=torch.float32, rtol=1e-3)


@check("numerical_grad", "device", hidden=True)
def numerical_grad_follows_device(student, inputs):
    """x on (simulated) cuda:0 gives a result on cuda:0."""
    x = numerical_input(inputs)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_numerical(student.call("numerical_grad", f, to_sim(x), eps=1e-3), "sin_times_x", x, 1e-3,
                     "numerical_grad(f, x, eps=1e-3) on (simulated) cuda:0", device=SIM_DEVICE)


@check("numerical_grad", "device", hidden=True, requires="cuda")
def numerical_grad_on_real_cuda(student, inputs):
    """x on cuda gives a result on cuda."""
    x = numerical_input(inputs)
    f = student.fixture("autograd.function", "sin_times_x")
    expect_numerical(student.call("numerical_grad", f, x.to(CUDA), eps=1e-3), "sin_times_x", x, 1e-3,
                     "numerical_grad(f, x, eps=1e-3) on cuda", device=CUDA)
