"""04_optim: hidden checks. Instructor-only: nbgrader never releases this file.

Inputs are random and fresh every run (seeded per check from the run's seed). Models, loaders,
losses and optimizers that items take are built next to student code by fixtures, from values
chosen here; the same objects are rebuilt here in float64, and every reference trajectory is
computed here with trusted code (torch.optim.SGD's own update function) from plain data.
"""
import importlib
import inspect
import math

import torch

from autograder.checks import (
    SIM_DEVICE, check, describe, expect_close, expect_raises, expect_unchanged, fail, noncontiguous, to_sim, values_of,
)
from autograder.fixtures.common import LOSSES, loader as make_loader, sequential
from autograder.fixtures.optim import quadratic_closure
from autograder.public.optim import STOCK, expect_float, momentum_sgd, optimizer_step, two_clusters
from autograder.runtime.wire import Handle

CUDA = torch.device("cuda", 0)
F64 = torch.float64
functional_sgd = importlib.import_module("torch.optim._functional").sgd


class ReferenceSGD:
    """torch.optim.SGD (dampening 0, no Nesterov), through the very function its step() calls.

    Constructing a torch.optim optimizer here would import torch._dynamo into the grader
    (seconds per grading run); the functional form does not.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        groups = list(params)
        groups = groups if isinstance(groups[0], dict) else [{"params": groups}]
        self.param_groups = [{"lr": lr, "momentum": momentum, "weight_decay": weight_decay, **g,
                              "params": list(g["params"])} for g in groups]
        self.buffers = {}

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            buffers = [self.buffers.get(id(p)) for p in params]
            functional_sgd(params, [p.grad for p in params], buffers, foreach=False, weight_decay=group["weight_decay"],
                           momentum=group["momentum"], lr=group["lr"], dampening=0.0, nesterov=False, maximize=False)
            self.buffers.update({id(p): b for p, b in zip(params, buffers) if b is not None})
        return loss


def uniform(inputs, low, high):
    return low + (high - low) * inputs.py.random()


def mistake_hint(got, mistakes, rtol=1e-3):
    """``{hint: got}`` for the first mistaken reference that ``got`` matches to ``rtol`` of that reference's own
    magnitude (so expect_close gives the hint even where a mistake runs far from the right values), else {}."""
    got = values_of(got)
    for hint, wrong in mistakes.items():
        wrong = wrong.detach().to(F64)
        if wrong.shape == got.shape and bool(torch.isfinite(wrong).all()):
            tolerance = rtol * (wrong.abs() + 1e-3 * float(wrong.abs().max()) + 1e-12)
            if bool(((got - wrong).abs() <= tolerance).all()):
                return {hint: got}
    return {}


def randn_of_shape(inputs, shape, dtype=F64):
    """Standard normal values of any shape, 0-dim included."""
    return inputs.randn(math.prod(shape), dtype=dtype).reshape(shape)


# -- make_optimizer ---------------------------------------------------------------------

STOCK_CLASSES = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
IMPLEMENTATION_FLAGS = {"foreach", "fused", "capturable", "differentiable"}  # choices of kernel, not of math


def pytorch_defaults(name):
    """The stock optimizer's keyword defaults (read from its signature: constructing one here would
    import torch._dynamo, seconds of grading time), except lr and the kernel choices."""
    signature = inspect.signature(STOCK_CLASSES[name].__init__)
    return {key: p.default for key, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and key != "lr" and key not in IMPLEMENTATION_FLAGS}


def random_case(inputs, name):
    """``name`` with a random mix of upper and lower case, never all lowercase."""
    while (mixed := "".join(c.upper() if inputs.py.random() < 0.5 else c for c in name)) == name:
        pass
    return mixed


def optimizer_info(student, inputs, name, lr):
    """make_optimizer(name, model.parameters(), lr) on a fresh 4-parameter MLP, described as plain data."""
    d, h, c = inputs.sizes(3)
    model = student.fixture("common.sequential", [["Linear", d, h], ["ReLU"], ["Linear", h, c]])
    what = f"make_optimizer({name!r}, model.parameters(), {lr:.3g})"
    outcome = student.run("make_optimizer", name, student.fixture("optim.parameter_iterator", model), lr)
    if outcome.raised is not None and "empty parameter list" in outcome.raised.message:
        fail(f"{what} raised {outcome.raised.type} ({outcome.raised.message}): params is a one-shot generator, "
             "so iterating it first leaves nothing for the optimizer; pass it on as it is")
    if outcome.raised is not None and outcome.raised.type == "ValueError" and name != name.lower():
        fail(f"{what} raised ValueError ({outcome.raised.message}): compare the name case-insensitively (name.lower())")
    opt = outcome.result()
    if not isinstance(opt, Handle):
        fail(f"{what} should return a torch.optim optimizer, got {describe(opt)}")
    return student.fixture("optim.describe_optimizer", opt, model), what


def expect_stock_optimizer(info, what, name, lr):
    if info["class"] != STOCK[name]:
        fail(f"{what} gave a {info['class']}, expected a {STOCK[name]}")
    if len(info["groups"]) != 1 or info["groups"][0]["params"] != [0, 1, 2, 3]:
        fail(f"{what} should hold the model's 4 parameters in one group, it holds {[g['params'] for g in info['groups']]} "
             "(indices into model.parameters()): params may be a one-shot generator, so pass it on without "
             "iterating it first")
    got = info["groups"][0]["lr"]
    if not isinstance(got, float) or abs(got - lr) > 1e-12 * lr:
        fail(f"{what} has lr {got!r}, expected {lr!r}: pass lr=lr to the optimizer")


@check("make_optimizer", "values", hidden=True)
def make_optimizer_lowercase_names(student, inputs):
    """Each lowercase name gives its stock class over every parameter (passed as a generator), with the lr."""
    for name in inputs.py.sample(list(STOCK), 3):
        lr = 10 ** uniform(inputs, -4, -0.5)
        info, what = optimizer_info(student, inputs, name, lr)
        expect_stock_optimizer(info, what, name, lr)


@check("make_optimizer", "values", hidden=True)
def make_optimizer_any_case(student, inputs):
    """Names in any case ("SGD", "Adam", "rmsProp") give the same optimizers."""
    for name in inputs.py.sample(list(STOCK), 3):
        lr = 10 ** uniform(inputs, -4, -0.5)
        mixed = random_case(inputs, name)
        info, what = optimizer_info(student, inputs, mixed, lr)
        expect_stock_optimizer(info, what, name, lr)


@check("make_optimizer", "api", hidden=True)
def make_optimizer_keeps_pytorch_defaults(student, inputs):
    """Every other hyperparameter (momentum, betas, alpha, eps, weight_decay...) is PyTorch's default."""
    for name in STOCK:
        lr = 10 ** uniform(inputs, -4, -0.5)
        info, what = optimizer_info(student, inputs, name, lr)
        expect_stock_optimizer(info, what, name, lr)
        got = info["defaults"] or {}
        for key, default in pytorch_defaults(name).items():
            if key not in got:
                fail(f"{what}: the optimizer's defaults lack {key!r}")
            if got[key] != default:
                fail(f"{what} sets {key}={got[key]!r}; PyTorch's default is {default!r}: pass lr only and keep "
                     "PyTorch's defaults for everything else")


@check("make_optimizer", "errors", hidden=True)
def make_optimizer_rejects_unknown_names(student, inputs):
    """Other names ("adamw", "adagrad", ...) raise ValueError naming sgd, adam and rmsprop."""
    for name in ("adamw", inputs.choice(["adagrad", "lbfgs", "momentum", "sgdm", "rms", "nadam", ""])):
        what = f"make_optimizer({name!r}, params, 0.1)"
        model = student.fixture("common.sequential", [["Linear", 3, 2]])
        outcome = student.run("make_optimizer", name, student.fixture("optim.parameter_iterator", model), 0.1)
        expect_raises(outcome, "ValueError", what=what)
        missing = [allowed for allowed in STOCK if allowed not in outcome.raised.message.lower()]
        if missing:
            fail(f"the ValueError of {what} should name the allowed optimizers (sgd, adam, rmsprop); its message "
                 f"{outcome.raised.message!r} lacks {', '.join(missing)}")


# -- fit_line ---------------------------------------------------------------------------

def ref_fit_line(x, y, steps, lr, accumulate=False, loss="mean", w0=0.1):
    """Gradient descent on mean((w x - y)^2) from w0, in float64: (w, losses before each step)."""
    x, y = values_of(x), values_of(y)
    w, grad, losses = w0, 0.0, []
    for _ in range(steps):
        residual = w * x - y
        reduce = torch.mean if loss == "mean" else torch.sum
        losses.append(float(reduce(residual * residual)))
        step_grad = float(reduce(2 * x * residual))
        grad = grad + step_grad if accumulate else step_grad
        w -= lr * grad
    return w, losses


def line_data(inputs, n, slope, device_send=lambda t: t):
    x = inputs.rand(n)
    y = slope * x + 0.1 * inputs.randn(n)
    return x, y


def expect_fit_line(result, x, y, steps, lr, what):
    """(w, losses) of fit_line match the float64 reference trajectory (float32 rounding allowed)."""
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"{what} should return a tuple (w, losses), got {describe(result)}")
    w, losses = result
    w = expect_float(w, what=f"w returned by {what}")
    if not isinstance(losses, list) or len(losses) != steps:
        size = f" of {len(losses)}" if isinstance(losses, list) else ""
        fail(f"{what} should return a list of {steps} losses (one per step), got {describe(losses)}{size}")
    got = torch.tensor([expect_float(v, what=f"each loss of {what}") for v in losses], dtype=F64)
    ref_w, ref_losses = ref_fit_line(x, y, steps, lr)
    _, ahead = ref_fit_line(x, y, steps + 1, lr)
    mistakes = {
        "losses[i] is the loss before step i: record it before optimizer.step()": torch.tensor(ahead[1:], dtype=F64),
        "gradients accumulate across steps: call optimizer.zero_grad() every step":
            torch.tensor(ref_fit_line(x, y, steps, lr, accumulate=True)[1], dtype=F64),
        "w must start at 0.1": torch.tensor(ref_fit_line(x, y, steps, lr, w0=0.0)[1], dtype=F64),
    }
    # float32 rounding of a contracting iteration: relative errors stay ~1e-6; 1e-4 leaves a wide margin
    expect_close(got, torch.tensor(ref_losses, dtype=F64), what=f"the losses of {what}", atol=1e-7 * max(ref_losses),
                 rtol=1e-4, mistakes=mistake_hint(got, mistakes))
    expect_close(torch.tensor(w, dtype=F64), torch.tensor(ref_w, dtype=F64), what=f"w returned by {what}",
                 atol=1e-5, rtol=1e-4)


@check("fit_line", "values", hidden=True)
def fit_line_random_line(student, inputs):
    """A random slope, size, step count and lr: the losses and w follow the reference trajectory."""
    n, steps = inputs.sizes(1, 30, 300)[0], inputs.sizes(1, 10, 40)[0]
    lr = uniform(inputs, 0.05, 0.6)
    x, y = line_data(inputs, n, uniform(inputs, -3, 3))
    x = noncontiguous(x)
    outcome = student.run("fit_line", x, y, kwargs={"steps": steps, "lr": lr}, return_args=True)
    expect_fit_line(outcome.result(), x, y, steps, lr, f"fit_line(x[{n}], y, steps={steps}, lr={lr:.3g})")
    expect_unchanged([x, y], outcome.args_after, what="fit_line")


@check("fit_line", "gradients", hidden=True)
def fit_line_gradient_of_mean_squared_error(student, inputs):
    """Two steps with a large lr: w moves by -lr * d/dw mean((w x - y)^2), gradients fresh each step."""
    n = inputs.sizes(1, 40, 200)[0]
    lr = uniform(inputs, 0.4, 0.9)
    x, y = line_data(inputs, n, uniform(inputs, 1.0, 3.0))
    w, _ = student.call("fit_line", x, y, steps=2, lr=lr)
    w = expect_float(w, what="w")
    mistakes = {
        "gradients accumulate across steps: call optimizer.zero_grad() every step":
            torch.tensor(ref_fit_line(x, y, 2, lr, accumulate=True)[0], dtype=F64),
        "the loss must be the mean of the squared errors, not their sum":
            torch.tensor(ref_fit_line(x, y, 2, lr, loss="sum")[0], dtype=F64),
    }
    w = torch.tensor(w, dtype=F64)
    expect_close(w, torch.tensor(ref_fit_line(x, y, 2, lr)[0], dtype=F64),
                 what=f"w after fit_line(x, y, steps=2, lr={lr:.3g})", atol=1e-5, rtol=1e-4,
                 mistakes=mistake_hint(w, mistakes))


@check("fit_line", "shapes", hidden=True)
def fit_line_one_loss_per_step(student, inputs):
    """w is a float and losses a list of `steps` floats, for a random number of steps."""
    steps = inputs.sizes(1, 1, 30)[0]
    x, y = line_data(inputs, inputs.sizes(1, 20, 80)[0], uniform(inputs, -3, 3))
    expect_fit_line(student.call("fit_line", x, y, steps=steps, lr=0.2), x, y, steps, 0.2,
                    f"fit_line(x, y, steps={steps}, lr=0.2)")


@check("fit_line", "convergence", hidden=True)
def fit_line_converges_to_two(student, inputs):
    """On y = 2x + noise (x ~ U[0,1], N = 1000, noise std 0.1) the defaults (200 steps, lr 0.1) reach |w - 2| < 0.05."""
    # The least-squares w has std 0.1 / sqrt(sum x^2) ~ 0.0055 and 200 steps shrink w - w* by
    # (1 - 0.2 mean(x^2))^200 ~ 1e-6. Reference over 50 seeds: max |w - 2| = 0.0141 (mean 0.0045);
    # the 0.05 bound is 3.5 times the worst seen and 9 standard deviations (false-fail P < 1e-18).
    x, y = line_data(inputs, 1000, 2.0)
    result = student.call("fit_line", x, y)
    expect_fit_line(result, x, y, 200, 0.1, "fit_line(x, y) with the default steps and lr")
    if not abs(result[0] - 2) < 0.05:
        fail(f"fit_line(x, y) on y = 2x + noise gave w = {result[0]:.4g}; expected |w - 2| < 0.05 with the defaults "
             "(200 steps, lr = 0.1)")


@check("fit_line", "device", hidden=True)
def fit_line_follows_device(student, inputs):
    """On (simulated) cuda:0 inputs fit_line runs there and follows the same trajectory."""
    n, steps = inputs.sizes(1, 30, 200)[0], inputs.sizes(1, 5, 20)[0]
    x, y = line_data(inputs, n, uniform(inputs, -3, 3))
    result = student.call("fit_line", to_sim(x), to_sim(y), steps=steps, lr=0.3)
    expect_fit_line(result, x, y, steps, 0.3, "fit_line on (simulated) cuda:0 inputs")


@check("fit_line", "device", hidden=True, requires="cuda")
def fit_line_on_real_cuda(student, inputs):
    """On cuda inputs fit_line follows the same trajectory."""
    x, y = line_data(inputs, 100, 2.0)
    result = student.call("fit_line", x.to(CUDA), y.to(CUDA), steps=10, lr=0.3)
    expect_fit_line(result, x, y, 10, 0.3, "fit_line on cuda inputs")


# -- train_epoch ------------------------------------------------------------------------

def bn_classifier(d, h, c):
    return [["Linear", d, h], ["BatchNorm1d", h], ["ReLU"], ["Linear", h, c]]


def random_parameters(inputs, layers):
    """Parameter values for a ``common.sequential`` spec: scaled Gaussian weights, small biases."""
    params = {}
    for index, (kind, *args) in enumerate(layers):
        if kind == "Linear":
            fan_in, fan_out = args
            params[f"{index}.weight"] = inputs.randn(fan_out, fan_in) / math.sqrt(fan_in)
            params[f"{index}.bias"] = 0.1 * inputs.randn(fan_out)
        elif kind == "BatchNorm1d":
            params[f"{index}.weight"] = 1 + 0.1 * inputs.randn(args[0])
            params[f"{index}.bias"] = 0.1 * inputs.randn(args[0])
    return params


class Training:
    """One train_epoch setup: a model spec and its values, data, loader, loss and optimizer options."""

    def __init__(self, inputs, loss="cross_entropy", sgd=(("lr", 0.1), ("momentum", 0.9)), shuffle=False,
                 last_batch=None):
        d, h, c = inputs.sizes(3, 2, 9)
        self.batch_size = inputs.sizes(1, 4, 9)[0]
        last = last_batch or inputs.py.randrange(2, self.batch_size)  # uneven, never 1 (BatchNorm in train mode)
        self.n = self.batch_size * inputs.py.randrange(2, 4) + last
        self.layers = bn_classifier(d, h, c)
        self.parameters = random_parameters(inputs, self.layers)
        self.x = inputs.randn(self.n, d)
        self.y = inputs.randint(0, c, self.n) if loss == "cross_entropy" else inputs.randn(self.n, c)
        self.loss, self.sgd, self.shuffle = loss, dict(sgd), shuffle
        self.seed = inputs.py.randrange(2**31)

    def remote(self, student, dtype=torch.float32, send=lambda t: t, simulate=False, device=None):
        """Model, loader, loss and optimizer next to student code."""
        model = student.fixture("common.sequential", self.layers, self.parameters, dtype)
        if device is not None:
            model = student.fixture("common.to_device", model, device, simulate=simulate)
        x, y = send(self.x.to(dtype)), send(self.y if self.loss == "cross_entropy" else self.y.to(dtype))
        loader = student.fixture("common.loader", x, y, self.batch_size, self.shuffle, self.seed, simulate=simulate)
        optimizer = student.fixture("common.optimizer", "SGD", model, **self.sgd, simulate=simulate)
        return model, loader, student.fixture("common.loss", self.loss), optimizer

    def local(self):
        """The same objects here, in float64."""
        model = sequential(self.layers, self.parameters, F64)
        y = self.y if self.loss == "cross_entropy" else self.y.to(F64)
        loader = make_loader(self.x.to(F64), y, self.batch_size, self.shuffle, self.seed)
        return model, loader, LOSSES[self.loss](), ReferenceSGD(model.parameters(), **self.sgd)


def ref_train_epoch(model, loader, loss_fn, optimizer, zero_grad="before", training=True):
    """The contract's epoch (zero_grad="before", training=True) or a classic mistake: zero_grad
    "after" the step or "never", the model left in eval mode (training=False)."""
    model.train(training)
    total, count = 0.0, 0
    for x, y in loader:
        if zero_grad == "before":
            optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if zero_grad == "after":
            optimizer.zero_grad()
        total, count = total + loss.item() * len(x), count + len(x)
    return total / count


def run_reference(setup, epochs=1, stale_grads=None, **mistake):
    """Losses of each epoch and the final state (parameters and buffers by name) of the reference."""
    model, loader, loss_fn, optimizer = setup.local()
    for name, p in model.named_parameters():
        if stale_grads is not None:
            p.grad = stale_grads[name].to(F64)
    losses = [ref_train_epoch(model, loader, loss_fn, optimizer, **mistake) for _ in range(epochs)]
    state = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    return losses, {name: t.detach() for name, t in state.items()}


def call_train_epoch(student, objects, what, simulate=False):
    return expect_float(student.run("train_epoch", *objects, simulate=simulate).result(), what=what)


def expect_state(student, model, reference, what, mistakes=None, tolerance=1e-4, dtype=None):
    """The model's parameters and buffers after training match the reference (float32 rounding allowed)."""
    state = student.fixture("common.tensors_of", model)
    got = {**state["parameters"], **state["buffers"]}
    for name, ref in reference.items():
        scale = float(ref.abs().max()) if ref.numel() else 0.0
        expect_close(got[name], ref, what=f"{name} after {what}", atol=tolerance * (1 + scale), rtol=tolerance,
                     dtype=dtype if ref.is_floating_point() else None,
                     mistakes=mistake_hint(got[name], {hint: wrong[name] for hint, wrong in (mistakes or {}).items()}))


def expect_mean_loss(loss, reference, what, mistakes=None, tolerance=1e-4):
    loss = torch.tensor(loss, dtype=F64)
    expect_close(loss, torch.tensor(reference, dtype=F64), what=f"the mean loss {what} returned",
                 atol=tolerance * 1e-2, rtol=tolerance,
                 mistakes=mistake_hint(loss, {hint: torch.tensor(v, dtype=F64) for hint, v in (mistakes or {}).items()}))


EVAL_MODE_HINT = ("the model was trained in eval mode: call model.train() first (BatchNorm normalises with the "
                  "batch's statistics and updates its running statistics only in train mode)")
STALE_HINT = "stale gradients leaked into the update: call optimizer.zero_grad() before each backward()"


@check("train_epoch", "values", hidden=True)
def train_epoch_matches_reference(student, inputs):
    """BatchNorm classifier, cross-entropy, SGD with momentum, uneven last batch: loss and final state."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student)
    loss = call_train_epoch(student, objects, "train_epoch(...)")
    (ref_loss,), ref_state = run_reference(setup)
    expect_mean_loss(loss, ref_loss, "train_epoch")
    expect_state(student, model, ref_state, "one epoch")


@check("train_epoch", "values", hidden=True)
def train_epoch_weights_batches_by_size(student, inputs):
    """The returned loss is the per-sample mean: each batch's mean loss weighted by its size."""
    setup = Training(inputs, loss="mse", last_batch=2)
    setup.y[-2:] += 5.0  # the small last batch has a much larger loss than the others
    objects = setup.remote(student)
    loss = call_train_epoch(student, objects, "train_epoch(...)")
    batch_losses = batch_losses_of(setup)
    sizes = [min(setup.batch_size, setup.n - i) for i in range(0, setup.n, setup.batch_size)]
    mistakes = {
        "the mean of the batch losses weighs the small last batch too much: weight each batch's loss by its size":
            sum(batch_losses) / len(batch_losses),
        "return the mean over the whole epoch, not the last batch's loss": batch_losses[-1],
        "divide the size-weighted sum by the number of samples": sum(b * s for b, s in zip(batch_losses, sizes)),
    }
    expect_mean_loss(loss, sum(b * s for b, s in zip(batch_losses, sizes)) / setup.n, "train_epoch", mistakes)


def batch_losses_of(setup):
    """The reference's batch losses in order."""
    model, loader, loss_fn, optimizer = setup.local()
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@check("train_epoch", "gradients", hidden=True)
def train_epoch_zeroes_stale_gradients(student, inputs):
    """Gradients left in .grad by an earlier backward do not leak into any update."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student)
    stale = {name: inputs.randn(*value.shape) for name, value in setup.parameters.items()}
    student.fixture("optim.set_param_grads", model, stale)
    loss = call_train_epoch(student, objects, "train_epoch(...) with stale gradients in .grad")
    (ref_loss,), ref_state = run_reference(setup, stale_grads=stale)
    mistakes = {STALE_HINT: run_reference(setup, stale_grads=stale, zero_grad=when)[1] for when in ("after", "never")}
    expect_state(student, model, ref_state, "one epoch that started with stale gradients", mistakes)
    expect_mean_loss(loss, ref_loss, "train_epoch")


@check("train_epoch", "api", hidden=True)
def train_epoch_sets_train_mode(student, inputs):
    """A model handed over in eval mode is trained in train mode (BatchNorm batch statistics)."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student)
    student.fixture("common.set_mode", model, False)
    loss = call_train_epoch(student, objects, "train_epoch(...) on a model in eval mode")
    (ref_loss,), ref_state = run_reference(setup)
    expect_state(student, model, ref_state, "one epoch of a model handed over in eval mode",
                 {EVAL_MODE_HINT: run_reference(setup, training=False)[1]})
    expect_mean_loss(loss, ref_loss, "train_epoch")


@check("train_epoch", "convergence", hidden=True)
def train_epoch_several_epochs_shuffled(student, inputs):
    """Four epochs on a shuffled loader, SGD with weight decay: each epoch's loss and the final state."""
    setup = Training(inputs, sgd=(("lr", 0.05), ("momentum", 0.8), ("weight_decay", 0.01)), shuffle=True)
    model, *rest = objects = setup.remote(student)
    losses = [call_train_epoch(student, objects, f"train_epoch(...) in epoch {e + 1}") for e in range(4)]
    ref_losses, ref_state = run_reference(setup, epochs=4)
    expect_close(torch.tensor(losses, dtype=F64), torch.tensor(ref_losses, dtype=F64),
                 what="the mean losses of 4 epochs", atol=1e-6, rtol=1e-4)
    expect_state(student, model, ref_state, "four epochs")


@check("train_epoch", "shapes", hidden=True)
def train_epoch_float64_model(student, inputs):
    """A float64 model on float64 data trains in float64 (tight tolerance) and returns a float."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student, dtype=F64)
    loss = call_train_epoch(student, objects, "train_epoch(...) on a float64 model")
    (ref_loss,), ref_state = run_reference(setup)
    expect_state(student, model, ref_state, "one epoch of a float64 model", tolerance=1e-9, dtype=F64)
    expect_mean_loss(loss, ref_loss, "train_epoch on a float64 model", tolerance=1e-9)


@check("train_epoch", "device", hidden=True)
def train_epoch_follows_device(student, inputs):
    """Model and data on (simulated) cuda:0: training runs there with the same trajectory."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student, send=to_sim, simulate=True, device="cuda")
    loss = call_train_epoch(student, objects, "train_epoch(...) on (simulated) cuda:0", simulate=True)
    (ref_loss,), ref_state = run_reference(setup)
    expect_mean_loss(loss, ref_loss, "train_epoch")
    state = student.fixture("common.tensors_of", model)
    if any(t.device != SIM_DEVICE for t in state["parameters"].values()):
        fail("train_epoch moved the model's parameters off cuda:0")
    expect_state(student, model, ref_state, "one epoch on (simulated) cuda:0")


@check("train_epoch", "device", hidden=True, requires="cuda")
def train_epoch_on_real_cuda(student, inputs):
    """Model and data on cuda: the same trajectory."""
    setup = Training(inputs)
    model, *rest = objects = setup.remote(student, send=lambda t: t.to(CUDA), device="cuda")
    loss = call_train_epoch(student, objects, "train_epoch(...) on cuda")
    (ref_loss,), ref_state = run_reference(setup)
    expect_mean_loss(loss, ref_loss, "train_epoch", tolerance=1e-3)
    expect_state(student, model, ref_state, "one epoch on cuda", tolerance=1e-3)


# -- evaluate_accuracy ------------------------------------------------------------------

class Evaluation:
    """A BatchNorm classifier with running statistics far from a batch's, data and labels whose
    eval-mode accuracy is about 0.6, in batches with an uneven last one."""

    def __init__(self, inputs, last_batch=None):
        d, h, c = inputs.sizes(3, 3, 9)
        self.batch_size = inputs.sizes(1, 4, 9)[0]
        self.n = self.batch_size * inputs.py.randrange(2, 5) + (last_batch or inputs.py.randrange(2, self.batch_size))
        self.layers = bn_classifier(d, h, c)
        self.parameters = random_parameters(inputs, self.layers)
        self.buffers = {"1.running_mean": 1.5 * inputs.randn(h), "1.running_var": 0.3 + 2 * inputs.rand(h)}
        self.x = inputs.randn(self.n, d)
        logits = self.logits(training=False)
        top2 = logits.topk(2, dim=1)
        predicted, runner_up = top2.indices[:, 0], top2.indices[:, 1]
        other = (predicted + inputs.randint(1, c, self.n)) % c
        self.y = torch.where(inputs.rand(self.n) < 0.6, predicted, other)
        # where float32 rounding could swap the top two logits, a label that is neither: wrong either way
        margin = top2.values[:, 0] - top2.values[:, 1]
        close = margin < 1e-4 * (1 + logits.abs().max(dim=1).values)
        for i in torch.nonzero(close).flatten().tolist():
            self.y[i] = next(k for k in range(c) if k not in (int(predicted[i]), int(runner_up[i])))
        self.accuracy = float((predicted == self.y).double().mean())

    def logits(self, training):
        """float64 logits of the model in the given mode (train mode: batch by batch)."""
        model = sequential(self.layers, self.parameters, F64).train(training)
        for name, value in self.buffers.items():
            dict(model.named_buffers())[name].copy_(value)
        with torch.no_grad():
            return torch.cat([model(x.to(F64)) for x in self.x.split(self.batch_size)])

    def train_mode_accuracy(self):
        return float((self.logits(True).argmax(1) == self.y).double().mean())

    def remote(self, student, training, send=lambda t: t, simulate=False, device=None):
        """The probed model (in the given mode) and the loader, next to student code."""
        model = student.fixture("optim.probed_sequential", self.layers, self.parameters, self.buffers)
        student.fixture("common.set_mode", model, training)
        if device is not None:
            model = student.fixture("common.to_device", model, device, simulate=simulate)
        loader = student.fixture("common.loader", send(self.x), send(self.y), self.batch_size, simulate=simulate)
        return model, loader

    def expect_accuracy(self, accuracy, what):
        # 1e-6 admits an accuracy computed in float32; distinct fractions k/n (n < 50) are 4e-4 apart
        if abs(accuracy - self.accuracy) <= 1e-6:
            return
        correct = (self.logits(False).argmax(1) == self.y).double()
        hint = ""
        if abs(accuracy - float(torch.stack([b.mean() for b in correct.split(self.batch_size)]).mean())) <= 1e-6:
            hint = (": the mean of per-batch accuracies weighs the smaller last batch too much; count correct "
                    "samples over the whole loader")
        elif self.n % self.batch_size != 1 and abs(accuracy - self.train_mode_accuracy()) <= 1e-6:
            hint = ": that is the accuracy in train mode; evaluate in eval mode (model.eval())"
        fail(f"{what} gave {accuracy:.6g}, expected {self.accuracy:.6g} ({round(self.accuracy * self.n)} of "
             f"{self.n} samples){hint}")


def evaluate(student, setup, training, what, **remote):
    model, loader = setup.remote(student, training, **remote)
    accuracy = expect_float(student.run("evaluate_accuracy", model, loader, simulate=remote.get("simulate", False))
                            .result(), what=what)
    setup.expect_accuracy(accuracy, what)
    return model


@check("evaluate_accuracy", "values", hidden=True)
def evaluate_accuracy_matches_reference(student, inputs):
    """A model in eval mode, an uneven last batch: the fraction of correct samples."""
    setup = Evaluation(inputs)
    evaluate(student, setup, False, "evaluate_accuracy(model, loader)")


@check("evaluate_accuracy", "api", hidden=True)
def evaluate_accuracy_uses_eval_mode(student, inputs):
    """A model handed over in train mode is evaluated in eval mode (BatchNorm running statistics)."""
    setup = Evaluation(inputs)
    model = evaluate(student, setup, True, "evaluate_accuracy on a model in train mode")
    if any(entry["training"] for entry in student.fixture("optim.forward_log", model)):
        fail("the model ran in train mode during evaluate_accuracy: call model.eval() first (BatchNorm and Dropout "
             "behave differently, and train mode updates BatchNorm's running statistics)")


@check("evaluate_accuracy", "gradients", hidden=True)
def evaluate_accuracy_builds_no_graph(student, inputs):
    """The model's forwards run with autograd off (torch.no_grad or inference_mode)."""
    setup = Evaluation(inputs)
    model = evaluate(student, setup, False, "evaluate_accuracy(model, loader)")
    log = student.fixture("optim.forward_log", model)
    if not log:
        fail("evaluate_accuracy never called the model")
    if any(entry["grad_enabled"] for entry in log):
        fail("evaluate_accuracy ran the model with autograd on, building a graph nobody needs: wrap the loop in "
             "torch.no_grad()")


@check("evaluate_accuracy", "api", hidden=True)
def evaluate_accuracy_restores_previous_mode(student, inputs):
    """Whether the model was in train or eval mode, it is in that mode again afterwards, buffers untouched."""
    for training in inputs.py.sample([True, False], 2):
        setup = Evaluation(inputs)
        model = evaluate(student, setup, training, f"evaluate_accuracy on a model in {'train' if training else 'eval'} mode")
        state = student.fixture("common.tensors_of", model)
        if any(mode != training for mode in state["training"].values()):
            fail(f"the model was in {'train' if training else 'eval'} mode before evaluate_accuracy and is not "
                 f"afterwards: save model.training first and restore it with model.train(saved) on return")
        for name, value in setup.buffers.items():
            if not torch.equal(values_of(state["buffers"][name]), values_of(value)):
                fail(f"evaluate_accuracy changed the model's {name}: a forward in train mode updates BatchNorm's "
                     "running statistics; evaluate in eval mode")


@check("evaluate_accuracy", "shapes", hidden=True)
def evaluate_accuracy_last_batch_of_one(student, inputs):
    """A last batch of a single sample counts once; logits are [B, C] with C != B."""
    setup = Evaluation(inputs, last_batch=1)
    evaluate(student, setup, False, f"evaluate_accuracy with {setup.n} samples in batches of {setup.batch_size}")


@check("evaluate_accuracy", "device", hidden=True)
def evaluate_accuracy_follows_device(student, inputs):
    """Model and data on (simulated) cuda:0: the same accuracy."""
    setup = Evaluation(inputs)
    evaluate(student, setup, False, "evaluate_accuracy on (simulated) cuda:0", send=to_sim, simulate=True,
             device="cuda")


@check("evaluate_accuracy", "device", hidden=True, requires="cuda")
def evaluate_accuracy_on_real_cuda(student, inputs):
    """Model and data on cuda: the same accuracy."""
    setup = Evaluation(inputs)
    evaluate(student, setup, False, "evaluate_accuracy on cuda", send=lambda t: t.to(CUDA), device="cuda")


# -- fit_two_clusters -------------------------------------------------------------------

def fit_clusters(student, inputs):
    """Train on fresh cluster data with a random seed; the model's Handle, the data and the seed."""
    x, y = two_clusters(inputs.sizes(1, 150, 300)[0], inputs.generator)
    seed = inputs.py.randrange(10_000)
    outcome = student.run("fit_two_clusters", x, y, kwargs={"seed": seed}, return_args=True)
    model = outcome.result()
    if not isinstance(model, Handle):
        fail(f"fit_two_clusters should return an nn.Module, got {describe(model)}")
    expect_unchanged([x, y], outcome.args_after, what="fit_two_clusters")
    return model, x, y, seed


def logits_of(student, model, x, what):
    logits = student.call(model, x)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(x), 2):
        shape = f" of shape {tuple(logits.shape)}" if isinstance(logits, torch.Tensor) else ""
        fail(f"{what} should give logits [{len(x)}, 2], got {describe(logits)}{shape}")
    return values_of(logits)


@check("fit_two_clusters", "convergence", hidden=True)
def fit_two_clusters_accuracy_on_fresh_points(student, inputs):
    """Accuracy >= 0.97 on 2000 fresh points, computed here from the returned model's logits."""
    # Bayes error: each centre is 0.42 / 0.1 = 4.2 std from the boundary, 1e-5. Reference (BatchNorm +
    # RMSprop lr 0.02, 50 full-batch steps) over 50 seeds, error on 1e5 fresh points: training sets of
    # 150, at most 1.0e-4 (mean 2e-5); of 300, at most 1.3e-4 (mean 2e-5). The bound 0.03 is 200 times that.
    # False-fail bound for any model whose true error is p <= 0.01: Chernoff,
    # P(errors > 0.03 * 2000) <= exp(-2000 * KL(0.03 || 0.01)) = exp(-2000 * 0.0132) = 3e-12.
    model, *_ = fit_clusters(student, inputs)
    x_test, y_test = two_clusters(2000, inputs.generator)
    accuracy = float((logits_of(student, model, x_test, "model(x[2000, 2])").argmax(1) == y_test).double().mean())
    if accuracy < 0.97:
        fail(f"accuracy {accuracy:.4f} on 2000 fresh points, expected at least 0.97: train longer, or use the "
             "BatchNorm + RMSprop recipe with cross-entropy on the raw logits")


@check("fit_two_clusters", "shapes", hidden=True)
def fit_two_clusters_returns_eval_mode_logits(student, inputs):
    """The model comes back in eval mode and maps [B, 2] to raw logits [B, 2], B = 1 included."""
    model, *_ = fit_clusters(student, inputs)
    if any(student.fixture("common.tensors_of", model)["training"].values()):
        fail("fit_two_clusters returned a model in train mode: call model.eval() before returning it")
    logits_of(student, model, two_clusters(1, inputs.generator)[0], "model(x[1, 2])")
    logits = logits_of(student, model, two_clusters(37, inputs.generator)[0], "model(x[37, 2])")
    if bool(((logits >= 0) & (logits <= 1)).all()) and torch.allclose(logits.sum(1), torch.ones(37, dtype=F64)):
        fail("the model's outputs are probabilities (each row sums to 1): it ends with a softmax. Return raw logits; "
             "nn.CrossEntropyLoss applies log-softmax itself")


@check("fit_two_clusters", "device", hidden=True)
def fit_two_clusters_model_moves_to_device(student, inputs):
    """.to() moves the returned model to (simulated) cuda:0, where it gives the same logits: nothing unregistered."""
    model, *_ = fit_clusters(student, inputs)
    x_test = two_clusters(50, inputs.generator)[0]
    on_cpu = logits_of(student, model, x_test, "model(x[50, 2])")
    moved = student.fixture("common.to_device", model, "cuda", simulate=True)
    state = student.fixture("common.tensors_of", moved)
    left = [name for name, t in {**state["parameters"], **state["buffers"]}.items() if t.device != SIM_DEVICE]
    if left:
        fail(f"model.to('cuda') left {', '.join(left)} on the CPU")
    outcome = student.run(moved, to_sim(x_test), simulate=True)
    if outcome.raised is not None:
        fail(f"after model.to('cuda'), model(x) raised {outcome.raised.type}: {outcome.raised.message.splitlines()[0]} "
             "— a tensor the model uses is a plain attribute, which .to() does not move: register it with "
             "self.register_buffer(name, tensor) (or make it an nn.Parameter)")
    expect_close(outcome.value, on_cpu, what="the logits of the model moved to (simulated) cuda:0", device=SIM_DEVICE,
                 atol=1e-5, rtol=1e-5)


@check("fit_two_clusters", "values", hidden=True)
def fit_two_clusters_deterministic_for_a_seed(student, inputs):
    """Trained twice with the same data and seed, the two models give the same logits."""
    model, x, y, seed = fit_clusters(student, inputs)
    again = student.call("fit_two_clusters", x, y, seed=seed)
    x_test = two_clusters(100, inputs.generator)[0]
    first = logits_of(student, model, x_test, "model(x[100, 2])")
    second = logits_of(student, again, x_test, "model(x[100, 2])")
    if not torch.allclose(first, second, rtol=1e-5, atol=1e-6):
        fail(f"two runs of fit_two_clusters(x, y, seed={seed}) give different models (logits differ by up to "
             f"{float((first - second).abs().max()):.3g}): seed the initialisation, and any shuffling, from seed "
             "(torch.manual_seed(seed), or a torch.Generator)")


# -- MomentumSGD ------------------------------------------------------------------------

class SGDSetup:
    """Three parameter groups of several shapes with per-group options, and 20 steps of gradients."""

    def __init__(self, inputs, dtype=F64, missing_grads=False, steps=20):
        n, m, d = inputs.sizes(3, 2, 7)
        shapes = [[(n, m), (m,)], [(d,), ()], [(m, d)]]
        self.values = [[randn_of_shape(inputs, s, dtype) for s in group] for group in shapes]
        self.defaults = {"lr": uniform(inputs, 0.01, 0.2), "momentum": uniform(inputs, 0.5, 0.95),
                         "weight_decay": uniform(inputs, 0.01, 0.2)}
        self.options = [{"lr": uniform(inputs, 0.01, 0.2), "momentum": uniform(inputs, 0.5, 0.95),
                         "weight_decay": uniform(inputs, 0.0, 0.1)},
                        {"momentum": 0.0},
                        {}]
        self.grads = []
        for step in range(steps):
            grads = [randn_of_shape(inputs, s, dtype) for group in shapes for s in group]
            if missing_grads:  # the last tensor never has a gradient; any other misses one now and then
                grads = [None if i == len(grads) - 1 or inputs.py.random() < 0.25 else g for i, g in enumerate(grads)]
            self.grads.append(grads)

    def torch_reference(self, closure_targets=None):
        """Parameters after each step (and the closure's losses) with torch.optim.SGD's update, here."""
        groups = [{"params": [v.clone().requires_grad_(True) for v in group], **opts}
                  for group, opts in zip(self.values, self.options)]
        optimizer = ReferenceSGD(groups, **self.defaults)
        flat = [p for g in groups for p in g["params"]]
        closure = quadratic_closure(flat, *closure_targets) if closure_targets else None
        trajectory, losses = [], []
        for grads in self.grads:
            if closure is None:
                for p, g in zip(flat, grads):
                    p.grad = None if g is None else g.clone()
                optimizer.step()
            else:
                losses.append(optimizer.step(closure).item())
            trajectory.append([p.detach().clone() for p in flat])
        return trajectory, losses

    def by_hand(self, mistake):
        """Parameters after each step of momentum SGD with a classic mistake, in float64."""
        params = [v.to(F64).clone() for group in self.values for v in group]
        group_of = [gi for gi, group in enumerate(self.values) for _ in group]
        buffers, trajectory = {}, []
        for grads in self.grads:
            for i, (p, g) in enumerate(zip(params, grads)):
                o = self.defaults if mistake == "global_options" else {**self.defaults, **self.options[group_of[i]]}
                if g is None:
                    if mistake != "none_as_zero":
                        continue
                    g = torch.zeros_like(p)
                g = g.to(F64)
                d = g if mistake == "decay_after_momentum" else g + o["weight_decay"] * p
                if o["momentum"]:
                    previous = buffers.get(i)
                    if previous is None or mistake == "no_state":
                        buf = d.clone()
                    else:
                        buf = o["momentum"] * previous + (1 - o["momentum"] if mistake == "dampening" else 1) * d
                    buffers[i] = buf
                    d = {"nesterov": d + o["momentum"] * buf, "decay_after_momentum": buf + o["weight_decay"] * p
                         }.get(mistake, buf)
                elif mistake == "decay_after_momentum":
                    d = g + o["weight_decay"] * p
                p -= o["lr"] * d
            trajectory.append([p.clone() for p in params])
        return trajectory


SGD_MISTAKES = {
    "global_options": "each param group has its own lr, momentum and weight_decay: read them from the group "
                      "(group['lr'], ...) inside the loop over self.param_groups",
    "dampening": "no dampening: the buffer update is buf = momentum * buf + d_p, without a (1 - momentum) factor",
    "decay_after_momentum": "add weight_decay * p to the gradient before it enters the momentum buffer",
    "no_state": "the momentum buffer must persist across steps: keep it in self.state[p]",
    "nesterov": "plain momentum, not Nesterov: step along the buffer itself",
    "none_as_zero": "a parameter whose .grad is None must be skipped entirely (no weight decay, no momentum step)",
}


def run_momentum_sgd(student, setup, send=lambda t: t, simulate=False, closure_targets=None):
    """Build the student's optimizer over the setup's groups and step it; parameters after each step
    (and what each step returned)."""
    values = [[send(v) for v in group] for group in setup.values]
    groups = student.fixture("optim.param_groups", values, setup.options, simulate=simulate)
    opt = momentum_sgd(student, groups, simulate=simulate, **setup.defaults)
    closure = None
    if closure_targets:
        closure = student.fixture("optim.quadratic_closure", groups, [send(t) for t in closure_targets[0]],
                                  closure_targets[1], simulate=simulate)
    trajectory, returned = [], []
    for grads in setup.grads:
        sent = None if closure else [None if g is None else send(g) for g in grads]
        value, params = optimizer_step(student, opt, groups, sent, closure, simulate=simulate)
        trajectory.append(params)
        returned.append(value)
    return trajectory, returned


def expect_trajectory(setup, trajectory, reference, what, rtol=1e-9, dtype=F64, device="cpu", mistakes=()):
    """Step by step, every parameter matches the reference to rtol relative to its magnitude."""
    wrong = {SGD_MISTAKES[m]: setup.by_hand(m) for m in mistakes}
    names = [f"parameter {i} of group {g}" for g, group in enumerate(setup.values) for i in range(len(group))]
    for step, (got, want) in enumerate(zip(trajectory, reference)):
        for k, (p, ref) in enumerate(zip(got, want)):
            scale = float(ref.abs().max()) if ref.numel() else 1.0
            expect_close(p, ref.to(F64), what=f"{names[k]} after step {step + 1} of {what}", dtype=dtype,
                         device=device, atol=rtol * scale, rtol=rtol,
                         mistakes={hint: traj[step][k] for hint, traj in wrong.items()})


@check("MomentumSGD", "values", hidden=True)
def momentum_sgd_matches_torch_sgd(student, inputs):
    """Three param groups with their own lr, momentum and weight_decay: 20 steps like torch.optim.SGD (1e-9)."""
    setup = SGDSetup(inputs)
    trajectory, _ = run_momentum_sgd(student, setup)
    expect_trajectory(setup, trajectory, setup.torch_reference()[0], "MomentumSGD with three param groups",
                      mistakes=("global_options", "dampening", "decay_after_momentum", "no_state", "nesterov"))


@check("MomentumSGD", "gradients", hidden=True)
def momentum_sgd_skips_missing_grads(student, inputs):
    """Parameters whose .grad is None (at some steps, or always) are skipped, their buffers untouched."""
    setup = SGDSetup(inputs, missing_grads=True)
    trajectory, _ = run_momentum_sgd(student, setup)
    expect_trajectory(setup, trajectory, setup.torch_reference()[0], "MomentumSGD with some .grad None",
                      mistakes=("none_as_zero",))


@check("MomentumSGD", "api", hidden=True)
def momentum_sgd_returns_closure_loss(student, inputs):
    """step(closure) evaluates the closure (with autograd on), steps on its gradients and returns its loss."""
    setup = SGDSetup(inputs, steps=8)
    targets = [randn_of_shape(inputs, v.shape) for group in setup.values for v in group]
    scales = [uniform(inputs, 0.2, 2.0) for _ in targets]
    trajectory, returned = run_momentum_sgd(student, setup, closure_targets=(targets, scales))
    reference, ref_losses = setup.torch_reference(closure_targets=(targets, scales))
    for step, (value, ref) in enumerate(zip(returned, ref_losses)):
        if value is None:
            fail("step(closure) returned None: return the loss the closure returned")
        if not isinstance(value, (torch.Tensor, float)) or abs(float(values_of(torch.as_tensor(value))) - ref) > 1e-9 * abs(ref):
            fail(f"step {step + 1}: step(closure) returned {value!r}, expected the closure's loss {ref:.10g}")
    expect_trajectory(setup, trajectory, reference, "MomentumSGD.step(closure)")


@check("MomentumSGD", "shapes", hidden=True)
def momentum_sgd_keeps_float32(student, inputs):
    """float32 parameters of shapes [N,M], [M], [D], [] and [M,D] stay float32 and follow torch.optim.SGD."""
    setup = SGDSetup(inputs, dtype=torch.float32, steps=10)
    trajectory, _ = run_momentum_sgd(student, setup)
    expect_trajectory(setup, trajectory, setup.torch_reference()[0], "MomentumSGD on float32 parameters",
                      rtol=1e-5, dtype=torch.float32)


@check("MomentumSGD", "device", hidden=True)
def momentum_sgd_follows_device(student, inputs):
    """Parameters on (simulated) cuda:0: momentum buffers live there too, and the trajectory is the same."""
    setup = SGDSetup(inputs, steps=5)
    trajectory, _ = run_momentum_sgd(student, setup, send=to_sim, simulate=True)
    expect_trajectory(setup, trajectory, setup.torch_reference()[0], "MomentumSGD on (simulated) cuda:0",
                      device=SIM_DEVICE)


@check("MomentumSGD", "device", hidden=True, requires="cuda")
def momentum_sgd_on_real_cuda(student, inputs):
    """Parameters on cuda: the same trajectory."""
    setup = SGDSetup(inputs, steps=5)
    trajectory, _ = run_momentum_sgd(student, setup, send=lambda t: t.to(CUDA))
    expect_trajectory(setup, trajectory, setup.torch_reference()[0], "MomentumSGD on cuda", device=CUDA)
