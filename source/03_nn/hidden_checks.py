"""03_nn: hidden checks. Instructor-only: nbgrader never releases this file.

Models are built next to student code by trusted fixtures with values drawn here, read back
as plain data, and compared with float64 references computed here. Sizes are distinct
(N != D_in != H != D_out) and fresh every run.
"""
import math

import torch
import torch.nn.functional as F

from autograder.checks import (
    SIM_DEVICE, CheckFailed, check, describe, expect_close, expect_gradcheck, expect_grads, expect_tensor,
    expect_unchanged, fail, noncontiguous, to_sim, values_of,
)
from autograder.fixtures.networks import descend, freeze, model as build_model, tie
from autograder.grading.student import StudentRaised
from autograder.public.networks import (
    by_student_names, expect_sequential, expect_xavier_uniform, is_count, sgd_step,
)
from autograder.runtime.wire import Handle

CUDA = torch.device("cuda", 0)
EPS32 = torch.finfo(torch.float32).eps
LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


# -- shared: models as specs, references in float64 -------------------------------------------

def reference(spec, state=None, tied=None, frozen=()):
    """The spec as a float64 model in this process, holding the grader's values (the global RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        ref = build_model(["Sequential", *spec], dtype=torch.float64)
    own = {**dict(ref.named_parameters()), **dict(ref.named_buffers())}
    with torch.no_grad():
        for name, value in (state or {}).items():
            own[name].copy_(values_of(value))
    if tied:
        tie(ref, *tied)
    return freeze(ref, list(frozen))


def random_state(inputs, spec, dtype=torch.float32):
    """Values for every parameter of the spec: weights ~ N(0, 1/fan_in), biases ~ N(0, 0.25), BatchNorm gain ~ 1."""
    state = {}
    for prefix, module in reference(spec).named_modules():
        for name, p in module.named_parameters(recurse=False):
            if type(module).__name__ == "BatchNorm1d":
                value = inputs.randn(*p.shape, dtype=dtype, scale=0.2) + (1.0 if name == "weight" else 0.0)
            else:
                value = inputs.randn(*p.shape, dtype=dtype, scale=1 / math.sqrt(p.shape[1]) if p.dim() == 2 else 0.5)
            state[f"{prefix}.{name}" if prefix else name] = value
    return state


def student_model(student, spec, state, dtype=torch.float32):
    return student.fixture("networks.model", ["Sequential", *spec], state, dtype=dtype)


def parameters_of(student, model):
    return student.fixture("common.tensors_of", model)["parameters"]


def function_handle(student, name):
    """The student's function itself, left in their process, to hand to a fixture."""
    return student.run(name, call=False).result()


def descend_with(student, name, model, x, y, lr, steps):
    """The ``networks.descend`` fixture with the student's function ``name`` as the loss; errors name it."""
    try:
        return student.fixture("networks.descend", model, function_handle(student, name), x, y, lr, steps)
    except StudentRaised as exc:
        raise StudentRaised(f"{name} (as the loss of a training loop)", exc.raised) from None


def blob_centres(inputs, d, classes):
    """classes <= d centres 4 sqrt(2) apart: +-4 on distinct random axes, around a common random offset."""
    axes = torch.randperm(d, generator=inputs.generator)[:classes]
    signs = inputs.randint(0, 2, classes) * 2.0 - 1.0
    centres = inputs.randn(1, d).repeat(classes, 1)
    centres[torch.arange(classes), axes] += 4 * signs
    return centres


def blobs(inputs, centres, n):
    """n points N(centre, I) around the given centres, classes in turn."""
    labels = torch.arange(n) % len(centres)
    return centres[labels] + inputs.randn(n, centres.shape[1]), labels


def regression(inputs, n, d):
    """y = x w + b + noise (std 0.1), x ~ N(0, I)."""
    x, w, b = inputs.randn(n, d), inputs.randn(d, 1), inputs.randn(1, scale=0.5)
    return x, x @ w + b + inputs.randn(n, 1, scale=0.1)


def expect_trajectory(got, want, what, rtol, atol, later_hint=""):
    """Losses step by step against the reference trajectory; ``later_hint`` explains a divergence after step 0."""
    if len(got) != len(want):
        fail(f"{what}: {len(got)} losses, expected {len(want)}")
    for step, (g, w) in enumerate(zip(got, want)):
        if not abs(g - w) <= atol + rtol * abs(w):
            fail(f"{what}: the loss at step {step} is {g:.6g}, the reference trajectory has {w:.6g}"
                 + (f" (steps 0 to {step - 1} matched{': ' + later_hint if later_hint else ''})" if step else ""))


def expect_module_gradients(student, model, ref, names, x, inputs, what):
    """forward_backward (train mode) on the student's model against autograd on the float64 reference."""
    x64 = values_of(x).requires_grad_(True)
    out64 = ref.train()(x64)
    g = inputs.randn(*out64.shape)
    student.fixture("common.set_mode", model, True)
    got = student.fixture("common.forward_backward", model, x, g)
    params = {name: p for name, p in ref.named_parameters() if p.requires_grad}
    grads = torch.autograd.grad(out64, [x64, *params.values()], g.double())
    expect_close(got["out"], out64, what=f"{what}(x)", atol=1e-5, rtol=1e-4)
    # relative to the largest gradient: BatchNorm makes some (the bias before it) cancel to exactly 0
    atol = 1e-4 * max(float(grad.abs().max()) for grad in grads)
    expect_close(got["input_grad"], grads[0], what=f"the gradient of {what} with respect to its input", atol=atol,
                 rtol=1e-4)
    for name, grad in zip(by_student_names(params, names), grads[1:]):
        if got["param_grads"].get(name) is None:
            fail(f"no gradient reaches {name} of {what}: is it still a parameter that requires grad?")
        expect_close(got["param_grads"][name], grad, what=f"the gradient for {name}", atol=atol, rtol=1e-4)


def expect_on_device(student, model, device, what):
    state = student.fixture("common.tensors_of", model)
    for kind in ("parameters", "buffers"):
        for name, t in state[kind].items():
            if t.device != device:
                fail(f"{what}: after .to({str(device)!r}) the {kind[:-1]} {name} is still on {t.device}: register it "
                     "(as a layer of the Sequential) so that .to() moves it")


# -- two_layer_sequential ---------------------------------------------------------------------

def two_layer_spec(d_in, hidden, d_out):
    return [["Linear", d_in, hidden], ["ReLU"], ["Linear", hidden, d_out]]


def two_layer_layers(d_in, hidden, d_out):
    return [("Linear", {"weight": (hidden, d_in), "bias": (hidden,)}), ("ReLU", {}),
            ("Linear", {"weight": (d_out, hidden), "bias": (d_out,)})]


def built_two_layer(student, inputs):
    """The student's model with the grader's values, its reference, and the sizes."""
    d_in, hidden, d_out = inputs.sizes(3, 2, 14)
    what = f"two_layer_sequential({d_in}, {hidden}, {d_out})"
    model = student.call("two_layer_sequential", d_in, hidden, d_out)
    _, names = expect_sequential(student, model, two_layer_layers(d_in, hidden, d_out), what)
    spec = two_layer_spec(d_in, hidden, d_out)
    state = random_state(inputs, spec)
    student.fixture("common.load_tensors", model, by_student_names(state, names))
    return model, reference(spec, state), names, what


@check("two_layer_sequential", "shapes", hidden=True)
def two_layer_structure_random_sizes(student, inputs):
    """Distinct sizes: Linear(d_in, hidden) -> ReLU -> Linear(hidden, d_out), biases included, all trainable."""
    built_two_layer(student, inputs)


@check("two_layer_sequential", "values", hidden=True)
def two_layer_forward_random(student, inputs):
    """With the grader's weights, the output matches W2 relu(W1 x + b1) + b2 on a non-contiguous batch."""
    model, ref, _, what = built_two_layer(student, inputs)
    x = noncontiguous(inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features, scale=2.0))
    expect_close(student.call(model, x), ref(values_of(x)), what=f"{what}(x)", dtype=torch.float32, device="cpu",
                 atol=1e-5, rtol=1e-4)


@check("two_layer_sequential", "gradients", hidden=True)
def two_layer_gradients(student, inputs):
    """Backward through the model gives the reference gradients for the input and every parameter."""
    model, ref, names, what = built_two_layer(student, inputs)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    expect_module_gradients(student, model, ref, names, x, inputs, what)


@check("two_layer_sequential", "device", hidden=True)
def two_layer_moves_to_device(student, inputs):
    """.to("cuda") (simulated) moves every parameter; the model then computes on cuda:0 inputs."""
    model, ref, _, what = built_two_layer(student, inputs)
    student.fixture("common.to_device", model, "cuda", simulate=True)
    expect_on_device(student, model, SIM_DEVICE, what)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    expect_close(student.call(model, to_sim(x)), ref(values_of(x)), what=f"{what} on (simulated) cuda:0",
                 dtype=torch.float32, device=SIM_DEVICE, atol=1e-5, rtol=1e-4)


@check("two_layer_sequential", "device", hidden=True, requires="cuda")
def two_layer_on_real_cuda(student, inputs):
    """On a real GPU: .to("cuda") moves every parameter and the model computes there."""
    model, ref, _, what = built_two_layer(student, inputs)
    student.fixture("common.to_device", model, "cuda")
    expect_on_device(student, model, CUDA, what)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    expect_close(student.call(model, x.to(CUDA)), ref(values_of(x)), what=f"{what} on cuda", dtype=torch.float32,
                 device=CUDA, atol=1e-4, rtol=1e-3)


# -- count_parameters ----------------------------------------------------------------------

def expect_count(got, ref, what, wrong=None, trainable_only=True):
    """An int equal to the reference model's count; ``wrong`` maps a hint to the count a classic mistake gives."""
    want, tensors = counts(ref, trainable_only)["elements"], counts(ref, trainable_only)["tensors"]
    wrong = {"that is the number of parameter tensors: count their elements with p.numel()": tensors, **(wrong or {})}
    if not is_count(got):
        numeric = isinstance(got, (float, torch.Tensor))
        fail(f"{what} should be an int, got {describe(got)}"
             + (" — sum p.numel() (Python ints), or convert with int(...)" if numeric else ""))
    if got != want:
        hint = next((h for h, value in wrong.items() if value == got != want), "")
        fail(f"{what} is {got}, expected {want}" + (f" — {hint}" if hint else ""))


def counts(ref, trainable_only=True):
    params = [p for p in ref.parameters() if p.requires_grad or not trainable_only]
    return {"elements": sum(p.numel() for p in params), "tensors": len(params)}


def mlp_spec(inputs, layers):
    sizes = inputs.sizes(layers + 1, 2, 20)
    spec = []
    for d_in, d_out in zip(sizes, sizes[1:]):
        spec += [["Linear", d_in, d_out], ["ReLU"]]
    return spec[:-1]


@check("count_parameters", "values", hidden=True)
def count_random_mlp(student, inputs):
    """An MLP of random depth and distinct widths: the sum of its parameters' numel(), as an int."""
    spec = mlp_spec(inputs, inputs.choice([2, 3, 4]))
    ref = reference(spec)
    got = student.call("count_parameters", student_model(student, spec, None))
    weights_only = sum(m.weight.numel() for m in ref if hasattr(m, "weight"))
    expect_count(got, ref, f"count_parameters of a {len(spec) // 2 + 1}-layer MLP",
                 {"the biases are missing: count every parameter": weights_only})


@check("count_parameters", "shapes", hidden=True)
def count_nested_without_bias_and_buffers(student, inputs):
    """Nested containers, a Linear without bias and BatchNorm (whose running statistics are buffers, not parameters)."""
    a, b, c, d = inputs.sizes(4, 2, 16)
    spec = [["Linear", a, b, False], ["BatchNorm1d", b],
            ["Sequential", ["Linear", b, c], ["Parallel", ["Linear", c, d], ["Sequential", ["Linear", c, d, False]]]]]
    ref = reference(spec)
    with_buffers = counts(ref)["elements"] + sum(t.numel() for t in ref.buffers())
    top_level = sum(p.numel() for m in ref for p in m.parameters(recurse=False))
    got = student.call("count_parameters", student_model(student, spec, None))
    expect_count(got, ref, "count_parameters of a nested model with BatchNorm1d",
                 {"buffers (BatchNorm's running statistics) were counted: count model.parameters(), not the "
                  "state_dict()": with_buffers,
                  "nested layers were missed: model.parameters() recurses into every submodule": top_level})


@check("count_parameters", "values", hidden=True)
def count_shared_parameter_once(student, inputs):
    """Two Linear layers sharing one weight: the shared weight counts once."""
    d, h = inputs.sizes(2, 3, 16)
    spec = [["Linear", d, h], ["Tanh"], ["Linear", h, h], ["Tanh"], ["Linear", h, h]]
    ref = reference(spec, tied=("4.weight", "2.weight"))
    model = student.fixture("networks.tie", student_model(student, spec, None), "4.weight", "2.weight")
    got = student.call("count_parameters", model)
    expect_count(got, ref, "count_parameters with a weight shared by two layers",
                 {"the shared weight was counted twice: a shared parameter counts once (model.parameters() "
                  "yields it once)": counts(ref)["elements"] + h * h})


@check("count_parameters", "gradients", hidden=True)
def count_trainable_only(student, inputs):
    """Frozen parameters (requires_grad=False) count only with trainable_only=False."""
    spec = mlp_spec(inputs, 3)
    frozen = inputs.choice([["0.weight", "0.bias"], ["2.weight"], ["4.bias", "0.bias"]])
    ref = reference(spec, frozen=frozen)
    model = student.fixture("networks.freeze", student_model(student, spec, None), frozen)
    trainable, every = counts(ref, True)["elements"], counts(ref, False)["elements"]
    swapped = "trainable_only is the wrong way round: True counts only parameters with requires_grad"
    expect_count(student.call("count_parameters", model), ref, f"count_parameters(model) with {frozen} frozen",
                 {"frozen parameters were counted: by default (trainable_only=True) count only p.requires_grad": every})
    expect_count(student.call("count_parameters", model, trainable_only=False), ref,
                 "count_parameters(model, trainable_only=False)", {swapped: trainable}, trainable_only=False)
    expect_count(student.call("count_parameters", model, False), ref, "count_parameters(model, False)",
                 {swapped: trainable}, trainable_only=False)


@check("count_parameters", "device", hidden=True)
def count_on_device(student, inputs):
    """A model moved to (simulated) cuda:0 has the same count."""
    spec = mlp_spec(inputs, 2)
    model = student.fixture("common.to_device", student_model(student, spec, None), "cuda", simulate=True)
    got = student.run("count_parameters", model, simulate=True).result()
    expect_count(got, reference(spec), "count_parameters of a model on (simulated) cuda:0")


# -- mse ---------------------------------------------------------------------------------------

def mse_inputs(inputs, dtype=torch.float32):
    n, d = inputs.sizes(2, 2, 14)
    scale = inputs.choice([0.1, 1.0, 10.0])
    return inputs.randn(n, d, dtype=dtype, scale=scale), inputs.randn(n, d, dtype=dtype, scale=scale)


def mse_tolerance(pred, target):
    return 1e-5 * float(((values_of(pred) - values_of(target)) ** 2).mean()) + 1e-12


def mse_mistakes(pred, target):
    diff = values_of(pred) - values_of(target)
    return {"that is the root of the MSE: do not take the square root": (diff ** 2).mean().sqrt(),
            "that is the mean absolute error: square the differences": diff.abs().mean(),
            "summed instead of averaged: mse is the mean over every element": (diff ** 2).sum()}


def expect_mse(student, pred, target, what, dtype=torch.float32, device="cpu", send=lambda t: t):
    ref = F.mse_loss(values_of(pred), values_of(target))
    out = student.call("mse", send(pred), send(target))
    if isinstance(out, torch.Tensor) and out.dim() > 0:
        fail(f"{what} has shape {tuple(out.shape)}: mse is one number, the mean over every element (.mean() "
             "without a dim), as a 0-dim tensor")
    expect_close(out, ref, what=what, dtype=dtype, device=device, atol=mse_tolerance(pred, target), rtol=1e-5,
                 mistakes=mse_mistakes(pred, target))


@check("mse", "values", hidden=True)
def mse_random_values(student, inputs):
    """Random [N, D] inputs (non-contiguous prediction) at several scales: the mean of the squared differences."""
    pred, target = mse_inputs(inputs)
    expect_mse(student, noncontiguous(pred), target, f"mse(pred[{len(pred)},{pred.shape[1]}], target)")


@check("mse", "shapes", hidden=True)
def mse_three_dims_give_a_scalar(student, inputs):
    """[B, N, D] inputs reduce over every dim to a 0-dim tensor."""
    b, n, d = inputs.sizes(3, 2, 8)
    pred, target = inputs.randn(b, n, d), inputs.randn(b, n, d)
    expect_mse(student, pred, target, f"mse(pred[{b},{n},{d}], target)")


@check("mse", "shapes", hidden=True)
def mse_keeps_float64(student, inputs):
    """float64 inputs give a float64 result."""
    pred, target = mse_inputs(inputs, torch.float64)
    expect_mse(student, pred, target, "mse on float64 inputs", dtype=torch.float64)


@check("mse", "gradients", hidden=True)
def mse_gradients(student, inputs):
    """Gradients reach both pred and target, as with nn.MSELoss()."""
    pred, target = mse_inputs(inputs)
    outcome = student.run("mse", pred, target, grad_wrt=(0, 1))
    p64, t64 = values_of(pred).requires_grad_(), values_of(target).requires_grad_()
    expect_grads(outcome, list(torch.autograd.grad(F.mse_loss(p64, t64), (p64, t64))), names=["pred", "target"],
                 output_shape=())


@check("mse", "gradients", hidden=True)
def mse_gradcheck(student, inputs):
    """torch.autograd.gradcheck in float64 with respect to pred and target."""
    n, d = inputs.sizes(2, 2, 6)
    expect_gradcheck(student, "mse", inputs.randn(n, d, dtype=torch.float64), inputs.randn(n, d, dtype=torch.float64))


@check("mse", "device", hidden=True)
def mse_follows_device(student, inputs):
    """(Simulated) cuda:0 inputs give a cuda:0 result."""
    pred, target = mse_inputs(inputs)
    expect_mse(student, pred, target, "mse on (simulated) cuda:0 inputs", device=SIM_DEVICE, send=to_sim)


@check("mse", "values", hidden=True)
def mse_leaves_inputs_unchanged(student, inputs):
    """pred and target are not modified in place."""
    pred, target = mse_inputs(inputs)
    outcome = student.run("mse", pred, target, return_args=True)
    expect_close(outcome.result(), F.mse_loss(pred.double(), target.double()), what="mse", dtype=torch.float32,
                 atol=mse_tolerance(pred, target), rtol=1e-5)
    expect_unchanged([pred, target], outcome.args_after, what="mse")


# Gradient descent on y = x w + b + noise (std 0.1), Linear(d, 1), lr 0.1, 40 full-batch steps.
# Measured over 50 seeds, the reference solution in float32 against the float64 trajectory: the worst step
# used 0.18% of its tolerance (1e-3 relative + 1e-6); final loss 0.0057..0.0137, threshold 0.05 (3.6x).
REGRESSION_STEPS, REGRESSION_LR, REGRESSION_FINAL = 40, 0.1, 0.05


def regression_problem(inputs):
    d = inputs.sizes(1, 3, 8)[0]
    x, y = regression(inputs, 64, d)
    spec = [["Linear", d, 1]]
    return spec, random_state(inputs, spec), x, y


def expect_regression(losses, want, what, later_hint=""):
    expect_trajectory(losses, want, what, rtol=1e-3, atol=1e-6, later_hint=later_hint)
    if not losses[-1] < REGRESSION_FINAL:
        fail(f"{what}: the loss after {REGRESSION_STEPS} steps is {losses[-1]:.4g}, expected below {REGRESSION_FINAL}")


@check("mse", "convergence", hidden=True)
def mse_drives_regression(student, inputs):
    """Gradient descent with the student's mse follows the reference trajectory and fits the line."""
    spec, state, x, y = regression_problem(inputs)
    want = descend(reference(spec, state), F.mse_loss, x.double(), y.double(), REGRESSION_LR, REGRESSION_STEPS)
    losses = descend_with(student, "mse", student_model(student, spec, state), x, y, REGRESSION_LR, REGRESSION_STEPS)
    expect_regression(losses, want, "gradient descent with mse as the loss")


@check("mse", "device", hidden=True, requires="cuda")
def mse_on_real_cuda(student, inputs):
    """On a real GPU: cuda inputs give the right cuda result."""
    pred, target = mse_inputs(inputs)
    expect_mse(student, pred, target, "mse on cuda", device=CUDA, send=lambda t: t.to(CUDA))


# -- cross_entropy -----------------------------------------------------------------------------

def ce_inputs(inputs, dtype=torch.float32, scale=3.0):
    n, c = inputs.sizes(2, 2, 14)
    return inputs.randn(n, c, dtype=dtype, scale=scale), inputs.randint(0, c, n)


def ce_reference(logits, labels):
    return F.cross_entropy(values_of(logits), values_of(labels).long())


def ce_mistakes(logits, labels):
    z, rows = values_of(logits), torch.arange(len(labels))
    labels = values_of(labels).long()
    return {"softmax over the wrong dim: normalise each row (dim=1), over the classes":
                -z.log_softmax(0)[rows, labels].mean(),
            "summed over the batch instead of averaged": F.cross_entropy(z, labels, reduction="sum"),
            "the sign is flipped: the loss is minus the log-probability of the label": -F.cross_entropy(z, labels),
            "the log-sum-exp term is missing: -log softmax(z)[y] = logsumexp(z) - z[y]": -z[rows, labels].mean()}


OVERFLOW_HINT = ("exp overflows and log(softmax) underflows to log(0) for large logits; use the log-sum-exp trick "
                 "(subtract each row's max before exp, or torch.logsumexp)")


def expect_ce(student, logits, labels, what, dtype=torch.float32, device="cpu", send=lambda t: t):
    out = student.call("cross_entropy", send(logits), send(labels))
    expect_tensor(out, what=what, shape=(), dtype=dtype, device=device)
    if not torch.isfinite(values_of(out)).all():
        fail(f"{what} is {float(values_of(out))} (not finite): {OVERFLOW_HINT}")
    tol = (64 * EPS32 if dtype == torch.float32 else 1e-12) * (1 + float(values_of(logits).abs().max()))
    expect_close(out, ce_reference(logits, labels), what=what, atol=tol, rtol=1e-5,
                 mistakes=ce_mistakes(logits, labels))


@check("cross_entropy", "values", hidden=True)
def cross_entropy_random_batch(student, inputs):
    """Random logits [N, C] (N != C, non-contiguous) and labels: the mean of -log softmax(logits)[i, labels[i]]."""
    logits, labels = ce_inputs(inputs)
    expect_ce(student, noncontiguous(logits), labels, f"cross_entropy(logits[{len(logits)},{logits.shape[1]}], labels)")


@check("cross_entropy", "values", hidden=True)
def cross_entropy_random_large_logits(student, inputs):
    """Logits up to 1e4 in magnitude give the finite, exact loss."""
    logits, labels = ce_inputs(inputs)
    logits = (inputs.rand(*logits.shape) * 2 - 1) * 1e4
    expect_ce(student, logits, labels, "cross_entropy with logits up to 1e4")


@check("cross_entropy", "gradients", hidden=True)
def cross_entropy_gradients(student, inputs):
    """The gradient with respect to the logits is F.cross_entropy's, (softmax - one_hot) / N."""
    logits, labels = ce_inputs(inputs)
    expect_ce_gradients(student, logits, labels, rtol=1e-4, atol_scale=1e-5)


def expect_ce_gradients(student, logits, labels, rtol, atol_scale):
    outcome = student.run("cross_entropy", logits, labels, grad_wrt=(0,))
    z = values_of(logits).requires_grad_()
    want = torch.autograd.grad(F.cross_entropy(z, labels), z)
    got = outcome.grads[0] if outcome.grads else None
    if got is not None and not torch.isfinite(values_of(got)).all():
        fail(f"the gradient of cross_entropy with respect to the logits holds NaN or inf: {OVERFLOW_HINT}")
    expect_grads(outcome, list(want), names=["logits"], output_shape=(), rtol=rtol, atol_scale=atol_scale)


@check("cross_entropy", "gradients", hidden=True)
def cross_entropy_large_logits_gradients(student, inputs):
    """With logits up to 1e4 the gradient stays finite and right."""
    logits, labels = ce_inputs(inputs)
    logits = (inputs.rand(*logits.shape) * 2 - 1) * 1e4
    # float32 rounding of logits - logsumexp is ~1e4 * eps = 1e-3 absolute, i.e. a relative error ~1e-3 in softmax
    expect_ce_gradients(student, logits, labels, rtol=1e-2, atol_scale=1e-2)


@check("cross_entropy", "gradients", hidden=True)
def cross_entropy_gradcheck(student, inputs):
    """torch.autograd.gradcheck in float64 with respect to the logits."""
    n, c = inputs.sizes(2, 2, 6)
    loss_of_logits = student.fixture("networks.bind_last", function_handle(student, "cross_entropy"),
                                     inputs.randint(0, c, n))
    try:
        expect_gradcheck(student, loss_of_logits, inputs.randn(n, c, dtype=torch.float64, scale=2.0),
                         what="cross_entropy(logits, labels)")
    except StudentRaised as exc:  # the call went through a closure: name the student's function
        raise StudentRaised("cross_entropy", exc.raised) from None
    except CheckFailed as exc:
        raise CheckFailed(str(exc).replace(f"{loss_of_logits.type}(...)", "cross_entropy(...)")) from None


@check("cross_entropy", "shapes", hidden=True)
def cross_entropy_keeps_float64(student, inputs):
    """float64 logits give a float64 0-dim result."""
    logits, labels = ce_inputs(inputs, torch.float64)
    expect_ce(student, logits, labels, "cross_entropy on float64 logits", dtype=torch.float64)


@check("cross_entropy", "device", hidden=True)
def cross_entropy_follows_device(student, inputs):
    """(Simulated) cuda:0 logits and labels give a cuda:0 result."""
    logits, labels = ce_inputs(inputs)
    expect_ce(student, logits, labels, "cross_entropy on (simulated) cuda:0", device=SIM_DEVICE, send=to_sim)


@check("cross_entropy", "values", hidden=True)
def cross_entropy_leaves_inputs_unchanged(student, inputs):
    """logits and labels are not modified in place."""
    logits, labels = ce_inputs(inputs)
    outcome = student.run("cross_entropy", logits, labels, return_args=True)
    expect_close(outcome.result(), ce_reference(logits, labels), what="cross_entropy", dtype=torch.float32,
                 atol=1e-5, rtol=1e-5)
    expect_unchanged([logits, labels], outcome.args_after, what="cross_entropy")


# Gradient descent on a linear classifier Linear(d, C) over C < d Gaussian blobs (N = 60), lr 0.5, 30
# full-batch steps. Measured over 50 seeds, the reference solution in float32 against the float64
# trajectory: the worst step used 0.6% of its tolerance (1e-3 relative + 1e-6); final loss
# 0.0064..0.098, threshold 0.3 (3x).
CLASSES_STEPS, CLASSES_LR, CLASSES_FINAL = 30, 0.5, 0.3


@check("cross_entropy", "convergence", hidden=True)
def cross_entropy_trains_linear_classifier(student, inputs):
    """Gradient descent with the student's cross_entropy follows the reference trajectory and separates the blobs."""
    d, classes = sorted(inputs.sizes(2, 2, 6), reverse=True)
    x, labels = blobs(inputs, blob_centres(inputs, d, classes), 60)
    spec = [["Linear", d, classes]]
    state = random_state(inputs, spec)
    want = descend(reference(spec, state), F.cross_entropy, x.double(), labels, CLASSES_LR, CLASSES_STEPS)
    losses = descend_with(student, "cross_entropy", student_model(student, spec, state), x, labels, CLASSES_LR,
                          CLASSES_STEPS)
    what = "gradient descent with cross_entropy as the loss"
    expect_trajectory(losses, want, what, rtol=1e-3, atol=1e-6)
    if not losses[-1] < CLASSES_FINAL:
        fail(f"{what}: the loss after {CLASSES_STEPS} steps is {losses[-1]:.4g}, expected below {CLASSES_FINAL}")


@check("cross_entropy", "device", hidden=True, requires="cuda")
def cross_entropy_on_real_cuda(student, inputs):
    """On a real GPU: cuda logits and labels give the right cuda result."""
    logits, labels = ce_inputs(inputs)
    expect_ce(student, logits, labels, "cross_entropy on cuda", device=CUDA, send=lambda t: t.to(CUDA))


# -- manual_sgd_step ---------------------------------------------------------------------------

def sgd_problem(inputs, loss="mse", dtype=torch.float32):
    """A Tanh MLP with the grader's values, a batch and a learning rate."""
    n, d, h, k = inputs.sizes(4, 2, 14)
    spec = [["Linear", d, h], ["Tanh"], ["Linear", h, k]]
    x = inputs.randn(n, d, dtype=dtype)
    y = inputs.randint(0, k, n) if loss == "cross_entropy" else inputs.randn(n, k, dtype=dtype)
    return spec, random_state(inputs, spec, dtype), x, y, inputs.choice([0.05, 0.1, 0.3])


def reference_step(spec, state, x, y, loss, lr, tied=None, frozen=()):
    """The loss before the step, the parameters after it and the gradients, in float64."""
    ref = reference(spec, state, tied, frozen)
    params = dict(ref.named_parameters())
    trainable = {name: p for name, p in params.items() if p.requires_grad}
    target = y if loss == "cross_entropy" else values_of(y)
    value = LOSSES[loss](ref(values_of(x)), target)
    grads = dict(zip(trainable, torch.autograd.grad(value, list(trainable.values()))))
    after = {name: (p - lr * grads[name] if name in grads else p).detach() for name, p in params.items()}
    return value.item(), after, grads


def step_student(student, spec, state, x, y, loss, lr, tied=None, frozen=(), dtype=torch.float32, gpu=""):
    """The student's model with the grader's values, on the CPU or a "simulated" or "real" GPU; one watched
    manual_sgd_step; the loss it returned."""
    model = student_model(student, spec, state, dtype)
    if tied:
        student.fixture("networks.tie", model, *tied)
    if frozen:
        student.fixture("networks.freeze", model, list(frozen))
    if gpu:
        student.fixture("common.to_device", model, "cuda", simulate=gpu == "simulated")
        x, y = (to_sim(x), to_sim(y)) if gpu == "simulated" else (x.to(CUDA), y.to(CUDA))
    return model, sgd_step(student, model, student.fixture("common.loss", loss), x, y, lr)


def expect_step(student, model, loss, before, want_loss, want_after, grads, lr, what, dtype=torch.float32, device="cpu",
                extra_mistakes=None):
    """The returned loss and every parameter after the step against the reference."""
    if not abs(loss - want_loss) <= 1e-4 * abs(want_loss) + 1e-6:
        fail(f"{what} returned the loss {loss:.6g}, expected {want_loss:.6g}: return the loss computed before the "
             "update, as a float (loss.item())")
    after = parameters_of(student, model)
    for name, want in want_after.items():
        if name not in after:
            fail(f"{what}: the model lost its parameter {name}")
        start = values_of(before[name])
        if name not in grads:
            expect_close(after[name], want, what=f"{name} (frozen: requires_grad=False, so it must not change) after "
                         f"{what}", dtype=dtype, device=device, atol=0, rtol=0)
            continue
        grad = grads[name]
        mistakes = {"the parameters did not change: `p = p - lr * p.grad` only rebinds a local name; update in place "
                    "(p -= lr * p.grad) under torch.no_grad()": start,
                    "the step went up the gradient: subtract lr * grad": start + lr * grad,
                    **{hint: values[name] for hint, values in (extra_mistakes or {}).items() if name in values}}
        expect_close(after[name], want, what=f"{name} after {what}", dtype=dtype, device=device,
                     atol=1e-5 * (float(start.abs().max()) + lr * float(grad.abs().max())) + 1e-7, rtol=1e-4,
                     mistakes=mistakes)


@check("manual_sgd_step", "values", hidden=True)
def sgd_one_step_random(student, inputs):
    """One step on a random MLP with MSE: the loss before the step, and p - lr * dL/dp for every parameter."""
    spec, state, x, y, lr = sgd_problem(inputs)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr)
    model, loss = step_student(student, spec, state, x, y, "mse", lr)
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, f"manual_sgd_step(lr={lr})")


@check("manual_sgd_step", "gradients", hidden=True)
def sgd_two_steps_do_not_leak_gradients(student, inputs):
    """Two calls in a row: the second step uses only the second gradient (no accumulation across calls)."""
    spec, state, x, y, lr = sgd_problem(inputs)
    _, after_one, grads_one = reference_step(spec, state, x, y, "mse", lr)
    want_loss, want_after, grads_two = reference_step(spec, after_one, x, y, "mse", lr)
    model, _ = step_student(student, spec, state, x, y, "mse", lr)
    loss = sgd_step(student, model, student.fixture("common.loss", "mse"), x, y, lr)
    leaked = {name: want_after[name] - lr * grads_one[name] for name in grads_one}
    expect_step(student, model, loss, after_one, want_loss, want_after, grads_two, lr, "a second manual_sgd_step call",
                extra_mistakes={"gradients accumulate across calls: zero them (model.zero_grad() or p.grad = None) "
                                "before backward": leaked})


@check("manual_sgd_step", "gradients", hidden=True)
def sgd_frozen_parameters_stay(student, inputs):
    """Parameters that do not require grad are left exactly as they were; the others take the step."""
    spec, state, x, y, lr = sgd_problem(inputs)
    frozen = inputs.choice([("0.weight", "0.bias"), ("2.weight",), ("0.bias", "2.bias")])
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr, frozen=frozen)
    model, loss = step_student(student, spec, state, x, y, "mse", lr, frozen=frozen)
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr,
                f"manual_sgd_step with {list(frozen)} frozen")


@check("manual_sgd_step", "gradients", hidden=True)
def sgd_shared_parameter_updated_once(student, inputs):
    """A weight shared by two layers takes one step with the sum of both layers' gradients."""
    n, d, h = inputs.sizes(3, 2, 14)
    spec = [["Linear", d, h], ["Tanh"], ["Linear", h, h], ["Tanh"], ["Linear", h, h]]
    state, tied, lr = random_state(inputs, spec), ("4.weight", "2.weight"), inputs.choice([0.05, 0.1])
    x, y = inputs.randn(n, d), inputs.randn(n, h)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr, tied=tied)
    model, loss = step_student(student, spec, state, x, y, "mse", lr, tied=tied)
    twice = {"the shared weight was updated twice: step each parameter of model.parameters() once":
             {"2.weight": want_after["2.weight"] - lr * grads["2.weight"]}}
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step with a shared weight",
                extra_mistakes=twice)


@check("manual_sgd_step", "values", hidden=True)
def sgd_cross_entropy_loss(student, inputs):
    """With nn.CrossEntropyLoss and integer labels: loss_fn(model(x), y), in that order."""
    spec, state, x, y, lr = sgd_problem(inputs, "cross_entropy")
    want_loss, want_after, grads = reference_step(spec, state, x, y, "cross_entropy", lr)
    model, loss = step_student(student, spec, state, x, y, "cross_entropy", lr)
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step with cross-entropy")


@check("manual_sgd_step", "api", hidden=True)
def sgd_written_by_hand(student, inputs):
    """A plain step with every optimizer step watched: torch.optim is not used."""
    spec, state, x, y, lr = sgd_problem(inputs)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr)
    model, loss = step_student(student, spec, state, x, y, "mse", lr)
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step")


@check("manual_sgd_step", "convergence", hidden=True)
def sgd_trajectory_fits_regression(student, inputs):
    """40 calls follow the reference trajectory step by step and fit a noisy line (see REGRESSION_FINAL)."""
    spec, state, x, y = regression_problem(inputs)
    want = descend(reference(spec, state), F.mse_loss, x.double(), y.double(), REGRESSION_LR, REGRESSION_STEPS)
    model = student_model(student, spec, state)
    loss_fn = student.fixture("common.loss", "mse")
    losses = [sgd_step(student, model, loss_fn, x, y, REGRESSION_LR) for _ in range(REGRESSION_STEPS)]
    expect_regression(losses, want, f"{REGRESSION_STEPS} manual_sgd_step calls",
                      "do gradients accumulate across calls (missing zero_grad)?")


@check("manual_sgd_step", "shapes", hidden=True)
def sgd_keeps_float64(student, inputs):
    """A float64 model and batch: parameters stay float64, with float64-accurate values."""
    spec, state, x, y, lr = sgd_problem(inputs, dtype=torch.float64)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr)
    model, loss = step_student(student, spec, state, x, y, "mse", lr, dtype=torch.float64)
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step on a float64 model",
                dtype=torch.float64)


@check("manual_sgd_step", "device", hidden=True)
def sgd_on_device(student, inputs):
    """A model and batch on (simulated) cuda:0: the parameters stay there and take the right step."""
    spec, state, x, y, lr = sgd_problem(inputs)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr)
    model, loss = step_student(student, spec, state, x, y, "mse", lr, gpu="simulated")
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step on (simulated) cuda:0",
                device=SIM_DEVICE)


@check("manual_sgd_step", "device", hidden=True, requires="cuda")
def sgd_on_real_cuda(student, inputs):
    """On a real GPU: the parameters stay on cuda and take the right step."""
    spec, state, x, y, lr = sgd_problem(inputs)
    want_loss, want_after, grads = reference_step(spec, state, x, y, "mse", lr)
    model, loss = step_student(student, spec, state, x, y, "mse", lr, gpu="real")
    expect_step(student, model, loss, state, want_loss, want_after, grads, lr, "manual_sgd_step on cuda", device=CUDA)


# -- classifier --------------------------------------------------------------------------------

def classifier_spec(d_in, hidden, classes):
    return [["Linear", d_in, hidden], ["BatchNorm1d", hidden], ["ReLU"], ["Linear", hidden, classes]]


def classifier_layers(d_in, hidden, classes):
    return [("Linear", {"weight": (hidden, d_in), "bias": (hidden,)}),
            ("BatchNorm1d", {"weight": (hidden,), "bias": (hidden,)}), ("ReLU", {}),
            ("Linear", {"weight": (classes, hidden), "bias": (classes,)})]


def built_classifier(student, inputs, sizes=None):
    """The student's classifier with the grader's values (running statistics included), its reference, names."""
    d_in, hidden, classes = sizes or inputs.sizes(3, 2, 14)
    what = f"classifier({d_in}, {hidden}, {classes})"
    model = student.call("classifier", d_in, hidden, classes)
    state, names = expect_sequential(student, model, classifier_layers(d_in, hidden, classes), what)
    norm = names[1]
    missing = {f"{norm}.running_mean", f"{norm}.running_var"} - set(state["buffers"])
    if missing:
        fail(f"{what}: the BatchNorm1d has no running statistics ({sorted(missing)}): keep its default "
             "track_running_stats=True, or eval mode has nothing to normalise with")
    spec = classifier_spec(d_in, hidden, classes)
    values = {**random_state(inputs, spec), "1.running_mean": inputs.randn(hidden, scale=0.5),
              "1.running_var": inputs.rand(hidden) + 0.5}
    student.fixture("networks.load_state", model, by_student_names(values, names))
    return model, reference(spec, values), names, what


@check("classifier", "shapes", hidden=True)
def classifier_structure_random_sizes(student, inputs):
    """Distinct sizes: Linear -> BatchNorm1d(hidden) with running statistics -> ReLU -> Linear, raw logits."""
    built_classifier(student, inputs)


@check("classifier", "values", hidden=True)
def classifier_train_mode_uses_batch_statistics(student, inputs):
    """In train mode BatchNorm normalises with the batch's statistics and updates its running ones (momentum 0.1)."""
    model, ref, names, what = built_classifier(student, inputs)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features, scale=2.0)
    student.fixture("common.set_mode", model, True)
    expect_close(student.call(model, x), ref.train()(values_of(x)), what=f"{what} in train mode", dtype=torch.float32,
                 atol=1e-4, rtol=1e-4)
    buffers = student.fixture("common.tensors_of", model)["buffers"]
    for stat in ("running_mean", "running_var"):
        expect_close(buffers[f"{names[1]}.{stat}"], getattr(ref[1], stat), what=f"BatchNorm's {stat} after one "
                     "training batch (momentum 0.1, unbiased variance)", atol=1e-5, rtol=1e-4)


@check("classifier", "values", hidden=True)
def classifier_eval_mode_uses_running_statistics(student, inputs):
    """In eval mode BatchNorm normalises with its running statistics and leaves them unchanged."""
    model, ref, names, what = built_classifier(student, inputs)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features, scale=2.0)
    student.fixture("common.set_mode", model, False)
    expect_close(student.call(model, x), ref.eval()(values_of(x)), what=f"{what} in eval mode", dtype=torch.float32,
                 atol=1e-4, rtol=1e-4)
    buffers = student.fixture("common.tensors_of", model)["buffers"]
    expect_close(buffers[f"{names[1]}.running_mean"], ref[1].running_mean, what="BatchNorm's running_mean after an "
                 "eval-mode forward (it must not change)", atol=0, rtol=0)


@check("classifier", "gradients", hidden=True)
def classifier_gradients(student, inputs):
    """Backward in train mode (through the batch statistics) gives the reference gradients."""
    model, ref, names, what = built_classifier(student, inputs)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    expect_module_gradients(student, model, ref, names, x, inputs, what)


@check("classifier", "device", hidden=True)
def classifier_moves_to_device(student, inputs):
    """.to("cuda") (simulated) moves every parameter and BatchNorm buffer; train and eval forwards run there."""
    model, ref, _, what = built_classifier(student, inputs)
    student.fixture("common.to_device", model, "cuda", simulate=True)
    expect_on_device(student, model, SIM_DEVICE, what)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    student.fixture("common.set_mode", model, False)
    expect_close(student.call(model, to_sim(x)), ref.eval()(values_of(x)), what=f"{what} in eval mode on (simulated) "
                 "cuda:0", dtype=torch.float32, device=SIM_DEVICE, atol=1e-4, rtol=1e-4)


# Full-batch gradient descent (lr 0.5, 30 steps, nn.CrossEntropyLoss) of classifier(d, h, C) with the
# grader's initial values on C < d Gaussian blobs (N = 90), then eval-mode accuracy on 300 fresh points.
# Measured over 50 seeds, the reference solution in float32 against the float64 trajectory: the worst
# step used 0.11% of its tolerance (1e-3 relative + 1e-6); accuracy 0.967..1.0, threshold 0.9.
CLASSIFIER_STEPS, CLASSIFIER_LR, CLASSIFIER_ACCURACY = 30, 0.5, 0.9


@check("classifier", "convergence", hidden=True)
def classifier_trains_on_blobs(student, inputs):
    """Training follows the reference trajectory; in eval mode the trained model classifies fresh points."""
    (d, classes), hidden = sorted(inputs.sizes(2, 2, 6), reverse=True), inputs.sizes(1, 12, 20)[0]
    model, ref, _, what = built_classifier(student, inputs, (d, hidden, classes))
    centres = blob_centres(inputs, d, classes)
    x, labels = blobs(inputs, centres, 90)
    fresh_x, fresh_labels = blobs(inputs, centres, 300)
    want = descend(ref.train(), F.cross_entropy, x.double(), labels, CLASSIFIER_LR, CLASSIFIER_STEPS)
    student.fixture("common.set_mode", model, True)
    losses = student.fixture("networks.descend", model, student.fixture("common.loss", "cross_entropy"), x, labels,
                             CLASSIFIER_LR, CLASSIFIER_STEPS)
    expect_trajectory(losses, want, f"training {what}", rtol=1e-3, atol=1e-6)
    student.fixture("common.set_mode", model, False)
    logits = expect_tensor(student.call(model, fresh_x), what=f"{what}(x)", shape=(300, classes))
    accuracy = float((values_of(logits).argmax(1) == fresh_labels).double().mean())
    if not accuracy >= CLASSIFIER_ACCURACY:
        fail(f"after {CLASSIFIER_STEPS} steps {what} classifies {accuracy:.1%} of fresh points correctly in eval mode, "
             f"expected at least {CLASSIFIER_ACCURACY:.0%}")


@check("classifier", "device", hidden=True, requires="cuda")
def classifier_on_real_cuda(student, inputs):
    """On a real GPU: parameters and BatchNorm buffers move, and train mode computes there."""
    model, ref, _, what = built_classifier(student, inputs)
    student.fixture("common.to_device", model, "cuda")
    expect_on_device(student, model, CUDA, what)
    x = inputs.randn(inputs.sizes(1, 15, 30)[0], ref[0].in_features)
    student.fixture("common.set_mode", model, True)
    expect_close(student.call(model, x.to(CUDA)), ref.train()(values_of(x)), what=f"{what} in train mode on cuda",
                 dtype=torch.float32, device=CUDA, atol=1e-3, rtol=1e-3)


# -- init_xavier_ ------------------------------------------------------------------------------

POISON = 5.0  # every weight and bias starts here: far outside any Xavier bound, and not zero


def poisoned(student, spec, dtype=torch.float32, gpu=""):
    """The spec next to student code with every parameter set to POISON, on the CPU or a "simulated" or "real"
    GPU; the reference (for names and types)."""
    ref = reference(spec)
    model = student_model(student, spec, {name: torch.full(p.shape, POISON, dtype=dtype)
                                          for name, p in ref.named_parameters()}, dtype)
    if gpu:
        student.fixture("common.to_device", model, "cuda", simulate=gpu == "simulated")
    return model, ref


def linears(ref):
    return {name: m for name, m in ref.named_modules() if type(m).__name__ == "Linear"}


def expect_xavier_model(student, model, ref, what, dtype=torch.float32, device="cpu", simulate=False):
    """init_xavier_(model) returns the model; every Linear then holds Xavier-uniform weights and zero biases.

    The false-fail probability of 1e-6 is split evenly over the Linear layers (union bound).
    """
    outcome = student.run("init_xavier_", model, simulate=simulate)
    hints = {"'NoneType' object has no attribute": "a Linear built with bias=False has bias None: zero the bias only "
                                                   "`if m.bias is not None`",
             "leaf Variable that requires grad": "write into parameters under torch.no_grad() (nn.init functions do)"}
    for marker, hint in hints.items():
        if outcome.raised is not None and marker in outcome.raised.message:
            fail(f"init_xavier_ raised {outcome.raised.type}: {outcome.raised.message} — {hint}")
    returned = outcome.result()
    if not isinstance(returned, Handle):
        fail(f"init_xavier_ should return the model it was given (changed in place), got {describe(returned)}")
    identity = [student.fixture("networks.object_ids", m)["module"] for m in (returned, model)]
    if identity[0] != identity[1]:
        fail("init_xavier_ returned another model (a copy?): initialise the given model in place and return it")
    after = parameters_of(student, model)
    layers = linears(ref)
    for name, layer in layers.items():
        prefix = f"{name}." if name else ""
        weight = expect_tensor(after[f"{prefix}weight"], what=f"{what}: {prefix}weight", dtype=dtype, device=device)
        if bool((values_of(weight) == POISON).all()):
            fail(f"{what}: the nn.Linear at {name!r} was not initialised: visit every module, nested ones included "
                 "(model.modules() or model.apply), not only model.children()")
        expect_xavier_uniform(weight, f"{what}: {prefix}weight of Linear({layer.in_features}, {layer.out_features})",
                              1e-6 / len(layers))
        if layer.bias is not None:
            expect_close(after[f"{prefix}bias"], torch.zeros(layer.out_features, dtype=torch.float64),
                         what=f"{what}: {prefix}bias", dtype=dtype, device=device, atol=0, rtol=0,
                         mistakes={"the bias was left as it was: set it to zero (nn.init.zeros_)":
                                   torch.full((layer.out_features,), POISON, dtype=torch.float64)})
    return after


# Statistics (expect_xavier_uniform): the smallest layer of these checks is 24 x 25 (n = 600) and a check has
# at most 4 Linear layers, each with a false-fail budget of 1e-6 / 4 split over 3 random tests. So for n = 600:
# max |w| must reach a (1e-6 / 12)^(1/600) = 0.973 a, the mean must lie within 2a sqrt(ln(2.4e7) / 1200)
# = 0.238 a of 0 and the mean square within 0.119 a^2 of a^2 / 3. The default init (bound 1 / sqrt(fan_in)
# <= 0.78 a for these sizes) and xavier_normal_ (|w| > a with probability 0.083 per element) are far outside.
def xavier_mlp_spec(inputs):
    a, b, c, d = inputs.sizes(4, 24, 64)
    return [["Linear", a, b], ["ReLU"], ["Linear", b, c], ["Tanh"], ["Linear", c, d]]


@check("init_xavier_", "values", hidden=True)
def xavier_random_mlp(student, inputs):
    """Three Linear layers of distinct sizes: U(-a, a) weights, a = sqrt(6 / (fan_in + fan_out)), zero biases."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec)
    expect_xavier_model(student, model, ref, "after init_xavier_")


@check("init_xavier_", "values", hidden=True)
def xavier_reaches_nested_linears(student, inputs):
    """Linear layers inside nested Sequential and ModuleDict containers, one without bias, are all initialised."""
    a, b, c, d = inputs.sizes(4, 24, 48)
    spec = [["Linear", a, b], ["Sequential", ["Linear", b, c, False], ["ReLU"]],
            ["Parallel", ["Linear", c, d], ["Sequential", ["Tanh"], ["Linear", c, d]]]]
    model, ref = poisoned(student, spec)
    expect_xavier_model(student, model, ref, "after init_xavier_ on a nested model")


@check("init_xavier_", "values", hidden=True)
def xavier_leaves_other_modules_alone(student, inputs):
    """BatchNorm1d, LayerNorm, Conv1d and Embedding parameters and buffers are untouched."""
    a, b, c = inputs.sizes(3, 24, 48)
    spec = [["Linear", a, b], ["BatchNorm1d", b], ["LayerNorm", b], ["Conv1d", b, c, 3], ["Embedding", c, a],
            ["Linear", a, c]]
    ref = reference(spec)
    state = {name: inputs.randn(*t.shape) for name, t in [*ref.named_parameters(), *ref.named_buffers()]
             if t.is_floating_point()}
    state["1.running_var"] = state["1.running_var"].abs() + 0.5
    model = student_model(student, spec, state)
    expect_xavier_model(student, model, ref, "after init_xavier_")
    after = student.fixture("common.tensors_of", model)
    for name, want in state.items():
        if not name.startswith(("0.", "5.")):
            got = after["parameters"].get(name, after["buffers"].get(name))
            if got is None or not torch.equal(values_of(got), values_of(want)):
                fail(f"init_xavier_ changed {name} of a {ref.get_submodule(name.split('.')[0]).__class__.__name__}: "
                     "only nn.Linear layers are to be initialised (a test like p.dim() > 1 also catches the weights "
                     "of Conv and Embedding layers)")


@check("init_xavier_", "api", hidden=True)
def xavier_in_place(student, inputs):
    """The same model and the same Parameter objects come back, with new values (nothing replaced)."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec)
    before = student.fixture("networks.object_ids", model)
    expect_xavier_model(student, model, ref, "after init_xavier_")
    after = student.fixture("networks.object_ids", model)
    replaced = sorted(name for name, ident in before["parameters"].items() if after["parameters"].get(name) != ident)
    if replaced:
        fail(f"init_xavier_ replaced the parameters {replaced} with new objects: initialise them in place "
             "(nn.init.xavier_uniform_(m.weight), m.bias.zero_() under torch.no_grad()), so that optimizers and "
             "other references still see them")


@check("init_xavier_", "gradients", hidden=True)
def xavier_keeps_trainability(student, inputs):
    """requires_grad is unchanged (a frozen layer stays frozen) and the model still back-propagates."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec)
    student.fixture("networks.freeze", model, ["2.weight", "2.bias"])
    after = expect_xavier_model(student, model, ref, "after init_xavier_")
    flags = student.fixture("common.tensors_of", model)["requires_grad"]
    changed = sorted(name for name, flag in flags.items() if flag != (not name.startswith("2.")))
    if changed:
        fail(f"init_xavier_ changed requires_grad of {changed}: initialise in place without touching requires_grad")
    ref = reference(spec, after, frozen=["2.weight", "2.bias"])
    x = inputs.randn(inputs.sizes(1, 5, 12)[0], ref[0].in_features)
    expect_module_gradients(student, model, ref, [str(i) for i in range(len(spec))], x, inputs, "the initialised model")


@check("init_xavier_", "shapes", hidden=True)
def xavier_keeps_float64(student, inputs):
    """A float64 model keeps float64 parameters."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec, torch.float64)
    expect_xavier_model(student, model, ref, "after init_xavier_ on a float64 model", dtype=torch.float64)


@check("init_xavier_", "device", hidden=True)
def xavier_on_device(student, inputs):
    """A model on (simulated) cuda:0 keeps its parameters there."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec, gpu="simulated")
    expect_xavier_model(student, model, ref, "after init_xavier_ on (simulated) cuda:0", device=SIM_DEVICE,
                        simulate=True)


@check("init_xavier_", "device", hidden=True, requires="cuda")
def xavier_on_real_cuda(student, inputs):
    """On a real GPU: the parameters stay on cuda and are initialised there."""
    spec = xavier_mlp_spec(inputs)
    model, ref = poisoned(student, spec, gpu="real")
    expect_xavier_model(student, model, ref, "after init_xavier_ on cuda", device=CUDA)
