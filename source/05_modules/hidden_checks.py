"""05_modules: hidden checks. Instructor-only: nbgrader never releases this file.

Student classes are instantiated in the student's process (``student.call("MLP", sizes)`` gives a
Handle), given the grader's weights with ``common.load_tensors``, run with ``common.forward_backward``
and read back as plain data with ``common.tensors_of``; every reference is computed here, in float64,
from those same weights. Inputs are fresh every run, with distinct sizes.
"""
from __future__ import annotations

import re
from typing import Callable

import torch
import torch.nn.functional as F

from autograder.checks import (
    SIM_DEVICE, check, describe, expect_close, expect_equal, expect_gradcheck, expect_raises, expect_tensor,
    expect_unchanged, fail, noncontiguous, to_sim, values_of,
)
from autograder.runtime.wire import Handle

CUDA = torch.device("cuda", 0)
F64 = torch.float64
Params = dict[str, torch.Tensor]
Forward = Callable[[torch.Tensor, Params], torch.Tensor]

REGISTER_HINT = ("they are not registered, so parameters(), .to() and state_dict() miss them: keep layers in an "
                 "nn.ModuleList (or nn.Sequential / nn.ModuleDict), or assign each one as an attribute")


# -- building and reading student modules ----------------------------------------------

def build(student, name: str, *args, **kwargs) -> Handle:
    """An instance of the student's class ``name``, left in the student's process."""
    outcome = student.run(name, *args, kwargs=kwargs)
    if outcome.raised is not None and "Module.__init__() call" in outcome.raised.message:
        fail(f"{name}(...) raised {outcome.raised.type}: {outcome.raised.message.splitlines()[0]} — call "
             "super().__init__() first in __init__, before assigning submodules or parameters")
    module = outcome.result()
    if not isinstance(module, Handle):
        fail(f"{name}(...) should give an nn.Module instance, got {describe(module)}")
    return module


def state_of(student, module: Handle, what: str, simulate: bool = False) -> dict:
    """``common.tensors_of``: parameters, buffers, state_dict keys, modules, unregistered attributes."""
    outcome = student.run("common.tensors_of", module, fixture=True, simulate=simulate)
    if outcome.raised is not None and outcome.raised.type == "AttributeError":
        fail(f"{what} is not an nn.Module ({outcome.raised.message}): subclass torch.nn.Module")
    return outcome.result()


def expect_registered(state: dict, what: str) -> None:
    if state["unregistered"]:
        fail(f"{what} keeps layers in a plain Python list, tuple or dict ({', '.join(state['unregistered'])}): "
             + REGISTER_HINT)


def expect_in_state_dict(state: dict, names: list[str], what: str) -> None:
    missing = [name for name in names if name not in state["state_dict_keys"]]
    if missing:
        fail(f"{what}.state_dict() lacks {', '.join(missing)}: a checkpoint would not save them")


def shapes_of(state: dict) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in state["parameters"].items()}


def to_dtype(student, module: Handle, dtype: torch.dtype) -> None:
    student.run(module, dtype, attr=("to",)).result()


def random_params(inputs, shapes: dict[str, tuple[int, ...]], dtype: torch.dtype = torch.float32) -> Params:
    return {name: inputs.randn(*shape, dtype=dtype, scale=0.7) for name, shape in shapes.items()}


def as_float64(params: Params) -> Params:
    return {name: values_of(v) for name, v in params.items()}


def load(student, module: Handle, params: Params) -> None:
    student.fixture("common.load_tensors", module, params)


def renamed(params: Params, names: dict[str, str]) -> Params:
    """``params`` under the student's names (``names`` maps ours to theirs)."""
    return {names[name]: value for name, value in params.items()}


def tolerance(reference: torch.Tensor, dtype: torch.dtype) -> dict:
    scale = float(reference.abs().max()) if reference.numel() else 0.0
    rel = 2e-5 if dtype == torch.float32 else 1e-10
    return {"atol": rel * max(scale, 1.0), "rtol": rel * 5}


def expect_output(out, reference: torch.Tensor, what: str, dtype=torch.float32, device="cpu",
                  mistakes: dict[str, torch.Tensor] | None = None) -> None:
    expect_close(out, reference, what=what, dtype=dtype, device=device, mistakes=mistakes,
                 **tolerance(reference, dtype))


def reference_pass(forward: Forward, x: torch.Tensor, params: Params, grad_output: torch.Tensor):
    """float64 output and gradients (input, then each parameter) of ``<forward(x), grad_output>``."""
    x64 = values_of(x).requires_grad_()
    p64 = {name: values_of(v).requires_grad_() for name, v in params.items()}
    out = forward(x64, p64)
    grads = torch.autograd.grad(out, [x64, *p64.values()], values_of(grad_output), allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, [x64, *p64.values()])]
    return out.detach(), grads[0], dict(zip(p64, grads[1:]))


def expect_forward_backward(student, inputs, module: Handle, x: torch.Tensor, params: Params, forward: Forward,
                            what: str, names: dict[str, str] | None = None,
                            wrong_gradients: dict[str, Forward] | None = None) -> None:
    """Output, input gradient and parameter gradients of the student's module match ``forward``'s.

    params: the grader's names and values (already loaded); names: ours -> the student's parameter names;
    wrong_gradients: hint -> a forward whose gradients a classic mistake gives.
    """
    names = names or {name: name for name in params}
    ref_out = forward(values_of(x), as_float64(params))
    grad_output = inputs.randn(*ref_out.shape, dtype=x.dtype)
    result = student.fixture("common.forward_backward", module, x, grad_output)
    _, ref_input, ref_params = reference_pass(forward, x, params, grad_output)
    wrong = {hint: reference_pass(fn, x, params, grad_output) for hint, fn in (wrong_gradients or {}).items()}
    expect_output(result["out"], ref_out, f"{what} output", dtype=x.dtype)
    if result["input_grad"] is None:
        fail(f"no gradient reaches the input of {what}: the graph is broken (.detach(), .item() or torch.tensor(...))")
    expect_output(result["input_grad"], ref_input, f"the gradient of {what} with respect to its input", x.dtype,
                  mistakes={hint: w[1] for hint, w in wrong.items()})
    for name, reference in ref_params.items():
        got = result["param_grads"].get(names[name])
        if got is None:
            fail(f"no gradient reaches parameter {names[name]} of {what}: it is not used in forward, or the graph is "
                 "broken (.detach(), .data, .item())")
        expect_output(got, reference, f"the gradient with respect to {names[name]}", x.dtype,
                      mistakes={hint: w[2][name] for hint, w in wrong.items()})


def expect_no_plain_tensors(state: dict, what: str) -> None:
    if state["plain_tensors"]:
        fail(f"{what} holds plain tensor attributes ({', '.join(state['plain_tensors'])}), which .to() does not "
             "move: make them nn.Parameter(...) (trained) or register_buffer(...) (not trained)")


def expect_moved_to_meta(student, module: Handle, what: str) -> None:
    """``.to("meta")`` moves every parameter and buffer (what is not registered stays behind)."""
    moved = student.fixture("common.to_device", module, "meta")
    state = state_of(student, moved, what)
    expect_registered(state, what)
    expect_no_plain_tensors(state, what)
    for kind in ("parameters", "buffers"):
        for name, t in state[kind].items():
            if t.device.type != "meta":
                fail(f"after {what}.to('meta') the {kind[:-1]} {name} is still on {t.device}")


def expect_forward_on_sim_cuda(student, module: Handle, x: torch.Tensor, reference: torch.Tensor, what: str) -> None:
    """``.to("cuda")`` (simulated) moves what the forward needs: a cuda:0 input gives a cuda:0 output."""
    moved = student.fixture("common.to_device", module, "cuda", simulate=True)
    expect_no_plain_tensors(state_of(student, moved, what, simulate=True), what)
    expect_output(student.call(moved, to_sim(x)), reference, f"{what} on (simulated) cuda:0", device=SIM_DEVICE)


def expect_forward_on_cuda(student, module: Handle, x: torch.Tensor, reference: torch.Tensor, what: str) -> None:
    moved = student.fixture("common.to_device", module, "cuda")
    out = student.call(moved, x.to(CUDA))
    expect_close(out, reference, what=f"{what} on cuda", dtype=torch.float32, device=CUDA,
                 **{k: v * 10 for k, v in tolerance(reference, torch.float32).items()})


def reference_steps(forward: Forward, params: Params, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                    y: torch.Tensor, steps: int) -> list[float]:
    """The trusted loop of ``modules.train_steps`` (zero_grad, MSE, backward, step), here in float64."""
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((forward(x, params) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def expect_trajectory(student, model: Handle, params: Params, forward: Forward, x, y, steps: int, lr: float,
                      what: str, names: dict[str, str] | None = None) -> None:
    """SGD through the module's parameters() follows the float64 reference step by step."""
    names = names or {name: name for name in params}
    optimizer = student.fixture("common.optimizer", "SGD", model, lr=lr)
    losses = student.fixture("modules.train_steps", model, optimizer, x, y, steps)
    ref_params = {name: values_of(v).requires_grad_() for name, v in params.items()}
    ref_losses = reference_steps(forward, ref_params, torch.optim.SGD(ref_params.values(), lr=lr), values_of(x),
                                 values_of(y), steps)
    tol = {"atol": 1e-9 * max(ref_losses), "rtol": 1e-8}
    expect_close(torch.tensor(losses, dtype=F64), torch.tensor(ref_losses, dtype=F64),
                 what=f"the losses of {steps} SGD steps on {what}.parameters()", **tol)
    final = state_of(student, model, what)["parameters"]
    for name, reference in ref_params.items():
        reference = reference.detach()
        expect_close(final[names[name]], reference, what=f"{names[name]} after {steps} SGD steps", dtype=F64,
                     atol=1e-9 * float(reference.abs().max()), rtol=1e-8)


# -- TwoLayerNet ------------------------------------------------------------------------

def two_layer_shapes(d_in: int, hidden: int, d_out: int) -> dict[str, tuple[int, ...]]:
    return {"linear1.weight": (hidden, d_in), "linear1.bias": (hidden,),
            "linear2.weight": (d_out, hidden), "linear2.bias": (d_out,)}


def two_layer_forward(x: torch.Tensor, p: Params, hidden_act=torch.relu, out_act=lambda h: h) -> torch.Tensor:
    h = hidden_act(x @ p["linear1.weight"].T + p["linear1.bias"])
    return out_act(h @ p["linear2.weight"].T + p["linear2.bias"])


def two_layer_mistakes(x: torch.Tensor, p: Params) -> dict[str, torch.Tensor]:
    x, p = values_of(x), as_float64(p)
    return {"the ReLU between linear1 and linear2 is missing": two_layer_forward(x, p, hidden_act=lambda h: h),
            "a ReLU after linear2: the output layer has no activation": two_layer_forward(x, p, out_act=torch.relu)}


def expect_parameters(state: dict, expected: dict[str, tuple[int, ...]], what: str) -> None:
    """Exactly the expected parameter names, with the expected shapes, and in the state_dict."""
    expect_registered(state, what)
    got = shapes_of(state)
    missing = [name for name in expected if name not in got]
    if missing:
        fail(f"{what} has no parameter {', '.join(missing)} (its parameters: {got or 'none'}); the layers must be "
             "attributes named linear1 and linear2 holding nn.Linear modules")
    for name, shape in expected.items():
        if got[name] != shape:
            transposed = got[name] == shape[::-1]
            hint = ": nn.Linear(in_features, out_features) stores its weight as [out, in]" if transposed else ""
            fail(f"{what}: {name} has shape {got[name]}, expected {shape}{hint}")
    extra = [name for name in got if name not in expected]
    if extra:
        fail(f"{what} has parameters beyond linear1 and linear2: {', '.join(extra)}")
    expect_in_state_dict(state, list(expected), what)


def two_layer_setup(student, inputs, dtype=torch.float32):
    d_in, hidden, d_out = inputs.sizes(3, 2, 12)
    model = build(student, "TwoLayerNet", d_in, hidden, d_out)
    expect_parameters(state_of(student, model, "TwoLayerNet"), two_layer_shapes(d_in, hidden, d_out),
                      f"TwoLayerNet({d_in}, {hidden}, {d_out})")
    if dtype != torch.float32:
        to_dtype(student, model, dtype)
    params = random_params(inputs, two_layer_shapes(d_in, hidden, d_out), dtype)
    load(student, model, params)
    return model, params, (d_in, hidden, d_out)


@check("TwoLayerNet", "api", hidden=True)
def two_layer_registers_linear1_and_linear2(student, inputs):
    """linear1 and linear2 are nn.Linear submodules with the right shapes, in parameters() and state_dict()."""
    d_in, hidden, d_out = inputs.sizes(3, 2, 12)
    what = f"TwoLayerNet({d_in}, {hidden}, {d_out})"
    state = state_of(student, build(student, "TwoLayerNet", d_in, hidden, d_out), what)
    expect_parameters(state, two_layer_shapes(d_in, hidden, d_out), what)
    for name in ("linear1", "linear2"):
        expect_equal(state["modules"].get(name), "Linear", what=f"the type of {what}.{name}")


@check("TwoLayerNet", "values", hidden=True)
def two_layer_forward_random_weights(student, inputs):
    """forward(x) = linear2(relu(linear1(x))) for random weights and a non-contiguous batch."""
    model, params, (d_in, _, _) = two_layer_setup(student, inputs)
    x = noncontiguous(inputs.randn(inputs.sizes(1, 13, 20)[0], d_in))
    expect_output(student.call(model, x), two_layer_forward(values_of(x), as_float64(params)),
                  "TwoLayerNet(x)", mistakes=two_layer_mistakes(x, params))


@check("TwoLayerNet", "gradients", hidden=True)
def two_layer_gradients(student, inputs):
    """Gradients reach the input and all four parameters, as in the float64 reference."""
    model, params, (d_in, _, _) = two_layer_setup(student, inputs)
    x = inputs.randn(inputs.sizes(1, 13, 20)[0], d_in)
    expect_forward_backward(student, inputs, model, x, params, two_layer_forward, "TwoLayerNet")


@check("TwoLayerNet", "shapes", hidden=True)
def two_layer_batched_float64(student, inputs):
    """A float64 model maps a float64 [B, T, d_in] batch to [B, T, d_out]."""
    model, params, (d_in, _, _) = two_layer_setup(student, inputs, F64)
    b, t = inputs.sizes(2, 2, 6)
    x = inputs.randn(b, t, d_in, dtype=F64)
    expect_output(student.call(model, x), two_layer_forward(x, params), "TwoLayerNet (float64) on x[B, T, d_in]",
                  dtype=F64)


@check("TwoLayerNet", "device", hidden=True)
def two_layer_to_moves_everything(student, inputs):
    """.to('meta') moves every parameter; after .to('cuda') (simulated) the forward runs on cuda:0."""
    model, params, (d_in, hidden, d_out) = two_layer_setup(student, inputs)
    expect_moved_to_meta(student, build(student, "TwoLayerNet", d_in, hidden, d_out), "TwoLayerNet")
    x = inputs.randn(7, d_in)
    expect_forward_on_sim_cuda(student, model, x, two_layer_forward(values_of(x), as_float64(params)),
                               "TwoLayerNet")


@check("TwoLayerNet", "convergence", hidden=True)
def two_layer_sgd_trajectory(student, inputs):
    """SGD over parameters() trains every weight: the float64 trajectory matches the reference step by step."""
    model, params, (d_in, _, d_out) = two_layer_setup(student, inputs, F64)
    x, y = inputs.randn(24, d_in, dtype=F64), inputs.randn(24, d_out, dtype=F64)
    expect_trajectory(student, model, params, two_layer_forward, x, y, steps=8, lr=0.1, what="TwoLayerNet")


@check("TwoLayerNet", "device", hidden=True, requires="cuda")
def two_layer_on_real_cuda(student, inputs):
    model, params, (d_in, _, _) = two_layer_setup(student, inputs)
    x = inputs.randn(9, d_in)
    expect_forward_on_cuda(student, model, x, two_layer_forward(values_of(x), as_float64(params)),
                           "TwoLayerNet")


# -- MLP --------------------------------------------------------------------------------

def mlp_sizes(inputs, count: int) -> list[int]:
    return inputs.sizes(count, 2, 14)


def mlp_layer_names(state: dict, sizes: list[int], what: str) -> list[tuple[str, str]]:
    """(weight name, bias name) of each Linear layer, found by shape (the sizes are distinct)."""
    expect_registered(state, what)
    shapes = shapes_of(state)
    by_shape = {shape: name for name, shape in shapes.items()}
    layers = len(sizes) - 1
    expected = [f"[{b}, {a}] and [{b}]" for a, b in zip(sizes[:-1], sizes[1:])]
    if len(shapes) != 2 * layers:
        fail(f"{what} should have {layers} Linear layers, {2 * layers} parameters of shapes {', '.join(expected)}; "
             f"its parameters() gives {len(shapes)}: {shapes or 'none'}" + ("" if shapes else " — " + REGISTER_HINT))
    names = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        weight, bias = by_shape.get((b, a)), by_shape.get((b,))
        if weight is None or bias is None:
            transposed = (a, b) in by_shape
            hint = " (nn.Linear(in_features, out_features) stores its weight as [out, in])" if transposed else ""
            fail(f"{what}: no Linear({a}, {b}) layer (weight [{b}, {a}] and bias [{b}]) among its parameters "
                 f"{shapes}{hint}")
        names.append((weight, bias))
    expect_in_state_dict(state, [n for pair in names for n in pair], what)
    return names


def mlp_params(inputs, sizes: list[int], dtype=torch.float32) -> Params:
    """Weights scaled by 1/sqrt(fan_in), so every layer's output stays at unit scale."""
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"{i}.weight"] = inputs.randn(b, a, dtype=dtype, scale=1.5 / a ** 0.5)
        params[f"{i}.bias"] = inputs.randn(b, dtype=dtype, scale=0.3)
    return params


def mlp_forward(x: torch.Tensor, p: Params, act_between=torch.relu, act_last=lambda h: h) -> torch.Tensor:
    layers = len(p) // 2
    for i in range(layers):
        x = x @ p[f"{i}.weight"].T + p[f"{i}.bias"]
        x = act_between(x) if i < layers - 1 else act_last(x)
    return x


def mlp_mistakes(x: torch.Tensor, p: Params) -> dict[str, torch.Tensor]:
    x, p = values_of(x), as_float64(p)
    return {"a ReLU after the last layer: the output layer has no activation": mlp_forward(x, p, act_last=torch.relu),
            "no ReLU between the layers: a stack of Linear layers alone is just one linear map":
                mlp_forward(x, p, act_between=lambda h: h)}


def mlp_setup(student, inputs, sizes: list[int], dtype=torch.float32):
    what = f"MLP({sizes})"
    model = build(student, "MLP", sizes)
    names = mlp_layer_names(state_of(student, model, what), sizes, what)
    if dtype != torch.float32:
        to_dtype(student, model, dtype)
    params = mlp_params(inputs, sizes, dtype)
    ours_to_theirs = {f"{i}.{kind}": name for i, pair in enumerate(names)
                      for kind, name in zip(("weight", "bias"), pair)}
    load(student, model, renamed(params, ours_to_theirs))
    return model, params, ours_to_theirs


@check("MLP", "errors", hidden=True)
def mlp_rejects_fewer_than_two_sizes(student, inputs):
    """MLP([d]) and MLP([]) raise ValueError."""
    d = mlp_sizes(inputs, 1)[0]
    for sizes in ([d], []):
        expect_raises(student.run("MLP", sizes), "ValueError", what=f"MLP({sizes})")


@check("MLP", "api", hidden=True)
def mlp_registers_every_parameter(student, inputs):
    """One Linear per consecutive pair of sizes, all in parameters() and state_dict()."""
    sizes = mlp_sizes(inputs, inputs.choice([3, 4, 5]))
    mlp_layer_names(state_of(student, build(student, "MLP", sizes), f"MLP({sizes})"), sizes, f"MLP({sizes})")


@check("MLP", "values", hidden=True)
def mlp_forward_random_weights(student, inputs):
    """ReLU between the Linear layers and none after the last, for random weights and sizes."""
    sizes = mlp_sizes(inputs, 4)
    model, params, _ = mlp_setup(student, inputs, sizes)
    x = noncontiguous(inputs.randn(17, sizes[0]))
    expect_output(student.call(model, x), mlp_forward(values_of(x), as_float64(params)),
                  f"MLP({sizes})(x)", mistakes=mlp_mistakes(x, params))


@check("MLP", "values", hidden=True)
def mlp_two_sizes_is_one_linear(student, inputs):
    """MLP([a, b]) is a single Linear layer with no activation."""
    sizes = mlp_sizes(inputs, 2)
    model, params, _ = mlp_setup(student, inputs, sizes)
    x = inputs.randn(11, sizes[0])
    expect_output(student.call(model, x), mlp_forward(values_of(x), as_float64(params)),
                  f"MLP({sizes})(x)", mistakes=mlp_mistakes(x, params))


@check("MLP", "gradients", hidden=True)
def mlp_gradients(student, inputs):
    """Gradients reach the input and every layer's weight and bias."""
    sizes = mlp_sizes(inputs, 4)
    model, params, names = mlp_setup(student, inputs, sizes)
    expect_forward_backward(student, inputs, model, inputs.randn(13, sizes[0]), params, mlp_forward,
                            f"MLP({sizes})", names=names)


@check("MLP", "shapes", hidden=True)
def mlp_batched_float64(student, inputs):
    """A float64 MLP maps a float64 [B, T, sizes[0]] batch to [B, T, sizes[-1]]."""
    sizes = mlp_sizes(inputs, 3)
    model, params, _ = mlp_setup(student, inputs, sizes, F64)
    x = inputs.randn(3, 5, sizes[0], dtype=F64)
    expect_output(student.call(model, x), mlp_forward(x, params), f"MLP({sizes}) (float64) on x[B, T, D]", dtype=F64)


@check("MLP", "device", hidden=True)
def mlp_to_moves_every_layer(student, inputs):
    """.to('meta') moves every layer's parameters; after .to('cuda') (simulated) the forward runs on cuda:0."""
    sizes = mlp_sizes(inputs, 4)
    expect_moved_to_meta(student, build(student, "MLP", sizes), f"MLP({sizes})")
    model, params, _ = mlp_setup(student, inputs, sizes)
    x = inputs.randn(6, sizes[0])
    expect_forward_on_sim_cuda(student, model, x, mlp_forward(values_of(x), as_float64(params)),
                               f"MLP({sizes})")


@check("MLP", "convergence", hidden=True)
def mlp_fits_a_nonlinear_target(student, inputs):
    """From its default initialisation, MLP([2, 32, 32, 1]) fits y = 3 x1 x2, which no linear map can."""
    # 200 full-batch Adam steps (lr 0.01) on 64 points x ~ U[-1, 1]^2; score = final MSE / mean(y^2).
    # Measured for the reference (nn.Linear's default init) over 6000 seeds of init and data:
    # median 0.0004, 99.9% quantile 0.007, max 0.017. Without ReLUs the score never went below
    # 0.57, with a ReLU after the output never below 0.22 (1000 seeds each). Threshold 0.08:
    # 4.7x the reference's worst, 2.7x below the closest mistake.
    sizes = [2, 32, 32, 1]
    x = inputs.rand(64, 2) * 2 - 1
    y = 3 * x[:, :1] * x[:, 1:]
    student.fixture("modules.manual_seed", inputs.py.randrange(2**31))
    model = build(student, "MLP", sizes)
    optimizer = student.fixture("common.optimizer", "Adam", model, lr=0.01)
    losses = student.fixture("modules.train_steps", model, optimizer, x, y, 200)
    score = losses[-1] / float((y ** 2).mean())
    if not score < 0.08:
        fail(f"MLP({sizes}) trained with Adam for 200 steps on y = 3 x1 x2 reached a relative MSE of {score:.3g}, "
             "where a correct MLP stays below 0.02: ReLU between the layers and none after the last, every layer "
             "registered (so that the optimizer trains it), and nn.Linear's default initialisation")


@check("MLP", "device", hidden=True, requires="cuda")
def mlp_on_real_cuda(student, inputs):
    sizes = mlp_sizes(inputs, 4)
    model, params, _ = mlp_setup(student, inputs, sizes)
    x = inputs.randn(6, sizes[0])
    expect_forward_on_cuda(student, model, x, mlp_forward(values_of(x), as_float64(params)),
                           f"MLP({sizes})")


# -- Residual ---------------------------------------------------------------------------

def inner_spec(d: int, h: int) -> list[list]:
    return [["Linear", d, h], ["Tanh"], ["Linear", h, d]]


def inner_forward(x: torch.Tensor, p: Params) -> torch.Tensor:
    return torch.tanh(x @ p["0.weight"].T + p["0.bias"]) @ p["2.weight"].T + p["2.bias"]


def residual_forward(x: torch.Tensor, p: Params) -> torch.Tensor:
    return x + inner_forward(x, p)


def residual_setup(student, inputs, dtype=torch.float32):
    """fn = Sequential(Linear(d, h), Tanh(), Linear(h, d)) with the grader's weights, and Residual(fn)."""
    d, h = inputs.sizes(2, 3, 12)
    shapes = {"0.weight": (h, d), "0.bias": (h,), "2.weight": (d, h), "2.bias": (d,)}
    params = random_params(inputs, shapes, dtype)
    fn = student.fixture("common.sequential", inner_spec(d, h), params, dtype=dtype)
    return fn, build(student, "Residual", fn), params, d


def residual_names(student, residual: Handle, params: Params) -> dict[str, str]:
    """fn's parameter names -> the Residual's (found by shape: d != h)."""
    state = state_of(student, residual, "Residual(fn)")
    expect_registered(state, "Residual(fn)")
    by_shape = {tuple(t.shape): name for name, t in state["parameters"].items()}
    if len(by_shape) != len(params) or any(tuple(v.shape) not in by_shape for v in params.values()):
        fail(f"Residual(fn).parameters() should be fn's {len(params)} parameters, got {shapes_of(state) or 'none'}: "
             "assign fn as an attribute (self.fn = fn) so that it is registered as a submodule")
    names = {name: by_shape[tuple(v.shape)] for name, v in params.items()}
    expect_in_state_dict(state, list(names.values()), "Residual(fn)")
    return names


def residual_mistakes(x: torch.Tensor, p: Params) -> dict[str, torch.Tensor]:
    x, p = values_of(x), as_float64(p)
    return {"this is fn(x) alone: a residual block returns x + fn(x)": inner_forward(x, p)}


@check("Residual", "values", hidden=True)
def residual_adds_input_to_fn(student, inputs):
    """Residual(fn)(x) = x + fn(x) for a random two-layer fn and a non-contiguous input."""
    _, residual, params, d = residual_setup(student, inputs)
    x = noncontiguous(inputs.randn(inputs.sizes(1, 13, 20)[0], d))
    expect_output(student.call(residual, x), residual_forward(values_of(x), as_float64(params)),
                  "Residual(fn)(x)", mistakes=residual_mistakes(x, params))


@check("Residual", "api", hidden=True)
def residual_parameters_are_fn_parameters(student, inputs):
    """Residual(fn).parameters() are fn's parameters (same values), also in state_dict()."""
    _, residual, params, _ = residual_setup(student, inputs)
    names = residual_names(student, residual, params)
    got = state_of(student, residual, "Residual(fn)")["parameters"]
    for name, value in params.items():
        expect_close(got[names[name]], values_of(value), what=f"Residual(fn) parameter {names[name]}",
                     dtype=torch.float32, atol=0, rtol=0)


@check("Residual", "values", hidden=True)
def residual_uses_fn_itself(student, inputs):
    """New weights loaded into fn after Residual(fn) was built show in the Residual (no copy of fn)."""
    fn, residual, params, d = residual_setup(student, inputs)
    fresh = {name: -2 * v for name, v in params.items()}
    load(student, fn, fresh)
    x = inputs.randn(9, d)
    out = student.call(residual, x)
    old = residual_forward(values_of(x), as_float64(params))
    expect_output(out, residual_forward(values_of(x), as_float64(fresh)),
                  "Residual(fn)(x) after changing fn's weights",
                  mistakes={"Residual holds a copy of fn (copy.deepcopy?): store fn itself (self.fn = fn), so that "
                            "fn's parameters are the Residual's parameters": old})


@check("Residual", "gradients", hidden=True)
def residual_gradients(student, inputs):
    """The input gradient is g + J^T g, and every parameter of fn gets its gradient."""
    _, residual, params, d = residual_setup(student, inputs)
    names = residual_names(student, residual, params)
    expect_forward_backward(
        student, inputs, residual, inputs.randn(11, d), params, residual_forward, "Residual(fn)", names=names,
        wrong_gradients={"the gradient skips fn: x + fn(x) must keep fn(x) and x in the graph (no .detach())":
                         lambda x, p: x + inner_forward(x.detach(), p)})


@check("Residual", "shapes", hidden=True)
def residual_batched_float64(student, inputs):
    """A float64 fn on a float64 [B, T, d] input gives a float64 [B, T, d] result."""
    _, residual, params, d = residual_setup(student, inputs, F64)
    x = inputs.randn(4, 3, d, dtype=F64)
    expect_output(student.call(residual, x), residual_forward(x, params), "Residual(fn) (float64) on x[B, T, d]",
                  dtype=F64)


@check("Residual", "values", hidden=True)
def residual_leaves_input_unchanged(student, inputs):
    """The input is not modified in place (x += fn(x) would)."""
    _, residual, params, d = residual_setup(student, inputs)
    x = inputs.randn(8, d)
    outcome = student.run(residual, x, return_args=True)
    expect_output(outcome.result(), residual_forward(values_of(x), as_float64(params)),
                  "Residual(fn)(x)")
    expect_unchanged([x], outcome.args_after, what="Residual(fn)(x)")


@check("Residual", "device", hidden=True)
def residual_to_moves_fn(student, inputs):
    """.to('meta') moves fn's parameters; after .to('cuda') (simulated) the forward runs on cuda:0."""
    _, residual, _, _ = residual_setup(student, inputs)
    expect_moved_to_meta(student, residual, "Residual(fn)")
    _, residual, params, d = residual_setup(student, inputs)
    x = inputs.randn(5, d)
    expect_forward_on_sim_cuda(student, residual, x,
                               residual_forward(values_of(x), as_float64(params)), "Residual(fn)")


@check("Residual", "convergence", hidden=True)
def residual_sgd_trains_fn(student, inputs):
    """SGD over Residual(fn).parameters() trains fn: the float64 trajectory matches the reference."""
    _, residual, params, d = residual_setup(student, inputs, F64)
    names = residual_names(student, residual, params)
    x, y = inputs.randn(20, d, dtype=F64), inputs.randn(20, d, dtype=F64)
    expect_trajectory(student, residual, params, residual_forward, x, y, steps=8, lr=0.1, what="Residual(fn)",
                      names=names)


@check("Residual", "device", hidden=True, requires="cuda")
def residual_on_real_cuda(student, inputs):
    _, residual, params, d = residual_setup(student, inputs)
    x = inputs.randn(5, d)
    expect_forward_on_cuda(student, residual, x,
                           residual_forward(values_of(x), as_float64(params)), "Residual(fn)")


# -- LayerNorm --------------------------------------------------------------------------

def layer_norm_forward(eps: float = 1e-5, unbiased: bool = False, eps_inside: bool = True, dims=(-1,),
                       detach_stats: bool = False) -> Forward:
    """LayerNorm over ``dims`` and the classic ways to get it wrong (the reference is the default)."""
    def forward(x: torch.Tensor, p: Params) -> torch.Tensor:
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, correction=1 if unbiased else 0)
        if detach_stats:
            mean, var = mean.detach(), var.detach()
        scale = torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps
        return (x - mean) / scale * p["weight"] + p["bias"]
    return forward


def layer_norm_reference(x: torch.Tensor, p: Params, eps: float = 1e-5) -> torch.Tensor:
    x, p = values_of(x), as_float64(p)
    return F.layer_norm(x, (x.shape[-1],), p["weight"], p["bias"], eps)


def layer_norm_mistakes(x: torch.Tensor, p: Params, eps: float = 1e-5) -> dict[str, torch.Tensor]:
    x, p = values_of(x), as_float64(p)
    wrong = {
        "unbiased variance: LayerNorm uses the biased one (mean of squared deviations; var(unbiased=False))":
            layer_norm_forward(eps, unbiased=True),
        "eps must be inside the square root: (x - mean) / sqrt(var + eps)": layer_norm_forward(eps, eps_inside=False),
        "normalised over the wrong dim: statistics are over the last dim (dim=-1) of each row":
            layer_norm_forward(eps, dims=(0,)),
    }
    if eps != 1e-5:
        wrong[f"eps={eps} was ignored: use the eps passed to __init__"] = layer_norm_forward(1e-5)
    return {hint: fn(x, p) for hint, fn in wrong.items()}


def layer_norm_setup(student, inputs, d: int, eps: float | None = None, dtype=torch.float32):
    model = build(student, "LayerNorm", d) if eps is None else build(student, "LayerNorm", d, eps=eps)
    state = state_of(student, model, f"LayerNorm({d})")
    expect_layer_norm_parameters(state, d)
    if dtype != torch.float32:
        to_dtype(student, model, dtype)
    params = {"weight": 1 + inputs.randn(d, dtype=dtype, scale=0.5), "bias": inputs.randn(d, dtype=dtype, scale=0.5)}
    load(student, model, params)
    return model, params


def expect_layer_norm_parameters(state: dict, d: int) -> None:
    got = shapes_of(state)
    missing = [name for name in ("weight", "bias") if got.get(name) != (d,)]
    if missing:
        plain = state["plain_tensors"]
        hint = (f"{', '.join(plain)} {'is a plain tensor' if len(plain) == 1 else 'are plain tensors'}: wrap them in "
                "nn.Parameter(...) to register them" if plain else f"create them with nn.Parameter(torch.ones({d})) "
                f"and nn.Parameter(torch.zeros({d}))")
        fail(f"LayerNorm({d}) should have parameters weight [{d}] and bias [{d}], got {got or 'none'}: {hint}")


def layer_norm_input(inputs, *shape: int, dtype=torch.float32, scale: float = 1.0) -> torch.Tensor:
    """Rows with their own offset and spread, so that the mean and variance matter.

    Each row's standard deviation is exactly ``scale`` times a spread in [0.5, 1.5], and its offset
    is N(0, scale^2): mean^2 / variance stays moderate, so that float32 E[x^2] - E[x]^2, a sound
    formulation, loses no more than a few ulps to cancellation.
    """
    z = inputs.randn(*shape, dtype=F64)
    z = (z - z.mean(dim=-1, keepdim=True)) / z.std(dim=-1, keepdim=True, correction=0)
    offset = inputs.randn(*shape[:-1], 1, dtype=F64)
    spread = 0.5 + inputs.rand(*shape[:-1], 1, dtype=F64)
    return (scale * (offset + spread * z)).to(dtype)


@check("LayerNorm", "api", hidden=True)
def layer_norm_initial_parameters(student, inputs):
    """weight and bias are registered parameters of shape [D], initially ones and zeros."""
    d = inputs.sizes(1, 3, 16)[0]
    model = build(student, "LayerNorm", d)
    state = state_of(student, model, f"LayerNorm({d})")
    expect_layer_norm_parameters(state, d)
    expect_close(state["parameters"]["weight"], torch.ones(d, dtype=F64), what="the initial weight", atol=0, rtol=0)
    expect_close(state["parameters"]["bias"], torch.zeros(d, dtype=F64), what="the initial bias", atol=0, rtol=0)
    if not all(state["requires_grad"].values()):
        fail("LayerNorm's weight and bias must require grad (they are trained)")
    expect_in_state_dict(state, ["weight", "bias"], f"LayerNorm({d})")


@check("LayerNorm", "values", hidden=True)
def layer_norm_random_rows(student, inputs):
    """Same output as nn.LayerNorm (float64 reference) for random weight, bias and a non-contiguous input."""
    n, d = inputs.sizes(2, 3, 12)
    model, params = layer_norm_setup(student, inputs, d)
    x = noncontiguous(layer_norm_input(inputs, n, d))
    expect_output(student.call(model, x), layer_norm_reference(x, params), f"LayerNorm({d})(x[{n},{d}])",
                  mistakes=layer_norm_mistakes(x, params))


@check("LayerNorm", "values", hidden=True)
def layer_norm_eps_inside_sqrt(student, inputs):
    """With eps=0.01 and rows of small variance, eps sits inside the square root."""
    n, d = inputs.sizes(2, 3, 12)
    model, params = layer_norm_setup(student, inputs, d, eps=0.01)
    x = layer_norm_input(inputs, n, d, scale=0.1)
    expect_output(student.call(model, x), layer_norm_reference(x, params, eps=0.01),
                  f"LayerNorm({d}, eps=0.01)(x) on rows of variance about 0.01",
                  mistakes=layer_norm_mistakes(x, params, eps=0.01))


@check("LayerNorm", "values", hidden=True)
def layer_norm_constant_rows(student, inputs):
    """Rows with zero variance give the bias (no NaN), and rows of tiny variance use the default eps=1e-5."""
    n, d = inputs.sizes(2, 4, 12)
    model, params = layer_norm_setup(student, inputs, d)
    x = layer_norm_input(inputs, n, d, scale=2e-3)
    x[: n // 2] = (x[: n // 2, :1] * 2**12).round() / 2**12  # dyadic: the float32 mean of the row is exact
    expect_output(student.call(model, x), layer_norm_reference(x, params),
                  "LayerNorm(d)(x) with constant rows and rows of variance about 1e-5",
                  mistakes={"eps=1e-5 is missing from the variance": layer_norm_forward(1e-20)(values_of(x), params)})


@check("LayerNorm", "gradients", hidden=True)
def layer_norm_gradients(student, inputs):
    """Gradients with respect to the input, weight and bias match nn.LayerNorm's, compared in float64."""
    n, d = inputs.sizes(2, 3, 12)
    model, params = layer_norm_setup(student, inputs, d, dtype=F64)
    expect_forward_backward(
        student, inputs, model, layer_norm_input(inputs, n, d, dtype=F64), params, layer_norm_forward(),
        f"LayerNorm({d}) (float64)",
        wrong_gradients={"the input gradient is the one of detached statistics: the mean and variance must stay in "
                         "the graph (no .detach(), .item() or .data)": layer_norm_forward(detach_stats=True)})


@check("LayerNorm", "gradients", hidden=True)
def layer_norm_gradcheck(student, inputs):
    """torch.autograd.gradcheck in float64 with respect to the input, weight and bias."""
    n, d = inputs.sizes(2, 2, 4)  # small: gradcheck makes two requests per input element
    model, params = layer_norm_setup(student, inputs, d, dtype=F64)
    forward = student.fixture("modules.with_parameters", model, ["weight", "bias"])
    expect_gradcheck(student, forward, layer_norm_input(inputs, n, d, dtype=F64), params["weight"], params["bias"],
                     what=f"LayerNorm({d}) as a function of (x, weight, bias)")


@check("LayerNorm", "shapes", hidden=True)
def layer_norm_batched_float64(student, inputs):
    """A float64 LayerNorm normalises a float64 [B, T, D] input over its last dim only."""
    b, t, d = inputs.sizes(3, 3, 9)
    model, params = layer_norm_setup(student, inputs, d, dtype=F64)
    x = layer_norm_input(inputs, b, t, d, dtype=F64)
    expect_output(student.call(model, x), layer_norm_reference(x, params), f"LayerNorm({d}) on float64 x[{b},{t},{d}]",
                  dtype=F64, mistakes={"normalised over more than the last dim: statistics are per row (dim=-1)":
                                       layer_norm_forward(dims=(-2, -1))(x, params)})


@check("LayerNorm", "device", hidden=True)
def layer_norm_to_moves_weight_and_bias(student, inputs):
    """.to('meta') moves weight and bias; after .to('cuda') (simulated) the forward runs on cuda:0."""
    n, d = inputs.sizes(2, 3, 12)
    expect_moved_to_meta(student, build(student, "LayerNorm", d), f"LayerNorm({d})")
    model, params = layer_norm_setup(student, inputs, d)
    x = layer_norm_input(inputs, n, d)
    expect_forward_on_sim_cuda(student, model, x, layer_norm_reference(x, params), f"LayerNorm({d})")


@check("LayerNorm", "device", hidden=True, requires="cuda")
def layer_norm_on_real_cuda(student, inputs):
    n, d = inputs.sizes(2, 3, 12)
    model, params = layer_norm_setup(student, inputs, d)
    x = layer_norm_input(inputs, n, d)
    expect_forward_on_cuda(student, model, x, layer_norm_reference(x, params), f"LayerNorm({d})")


# -- Dropout ----------------------------------------------------------------------------
# Student code draws masks from torch's global generator in its own process: each check seeds
# it from the check's inputs first, so a run is fresh, and replayable from its seed.

DROPOUT_RATES = [0.2, 0.3, 0.4, 0.6, 0.7, 0.8]  # never 0.5, so that p and 1 - p differ
DROPOUT_TOLERANCE = 0.02


def dropout_model(student, inputs, p: float | None = None) -> Handle:
    student.fixture("modules.manual_seed", inputs.py.randrange(2**31))
    return build(student, "Dropout") if p is None else build(student, "Dropout", p)


def dropout_input(inputs, *shape: int, dtype=torch.float32) -> torch.Tensor:
    """Values of magnitude in [0.5, 1.5): no zeros, so a zero in the output is a dropped element."""
    sign = inputs.randint(0, 2, *shape).to(F64) * 2 - 1
    return (sign * (0.5 + inputs.rand(*shape, dtype=F64))).to(dtype)


def large_shape(inputs) -> tuple[int, int]:
    """At least 100 x 200 = 20000 elements, for the bounds below."""
    n, d = inputs.sizes(2, 100, 230)
    return min(n, d), max(n, d) + 100


def expect_dropout_values(out, x: torch.Tensor, p: float, what: str, device="cpu") -> torch.Tensor:
    """Every element is 0 or x / (1 - p); returns the mask of kept elements."""
    out = expect_tensor(out, what=what, shape=tuple(x.shape), dtype=x.dtype, device=device)
    kept = values_of(out) != 0
    xs = values_of(x)
    eps = torch.finfo(x.dtype).eps
    expect_close(out, kept * xs / (1 - p), what=what, atol=0, rtol=4 * eps,
                 mistakes={f"survivors are scaled by (1-p) = {1 - p:g}: inverted dropout divides them by (1-p)":
                               kept * xs * (1 - p),
                           "survivors are not scaled: divide them by (1-p) so that the expected value is unchanged":
                               kept * xs})
    return kept


def expect_drop_rate(kept: torch.Tensor, p: float, what: str) -> None:
    """The zeroed fraction is within DROPOUT_TOLERANCE of p.

    Hoeffding, two-sided, for n >= 20000 independent Bernoulli(p) drops:
    P(|zeroed - p| >= 0.02) <= 2 exp(-2 n 0.02^2) <= 2 exp(-16) = 2.3e-7 <= 1e-6.
    """
    n = kept.numel()
    zeroed = 1 - float(kept.double().mean())
    if abs(zeroed - p) >= DROPOUT_TOLERANCE:
        hint = (": it looks like elements are *kept* with probability p; zero each with probability p"
                if abs(zeroed - (1 - p)) < DROPOUT_TOLERANCE else "")
        fail(f"{what} zeroed {zeroed:.1%} of {n} elements, expected p = {p:.0%} (± {DROPOUT_TOLERANCE:.0%}){hint}")


@check("Dropout", "errors", hidden=True)
def dropout_validates_p(student, inputs):
    """p outside [0, 1] raises ValueError; p = 0 and p = 1 are accepted."""
    for p in (-inputs.choice([0.1, 0.5, 2.0]), 1 + inputs.choice([0.01, 0.5, 3.0])):
        expect_raises(student.run("Dropout", p), "ValueError", what=f"Dropout({p:g})")
    for p in (0.0, 1.0):
        outcome = student.run("Dropout", p)
        if outcome.raised is not None:
            fail(f"Dropout({p:g}) raised {outcome.raised.type}: {outcome.raised.message}; p may be any value in [0, 1]")


@check("Dropout", "values", hidden=True)
def dropout_training_statistics(student, inputs):
    """In training mode each element is zeroed with probability p, survivors scaled exactly by 1/(1-p)."""
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *large_shape(inputs))
    outcome = student.run(model, x, return_args=True)
    kept = expect_dropout_values(outcome.result(), x, p, f"Dropout({p:g}) in training mode")
    expect_drop_rate(kept, p, f"Dropout({p:g})")
    expect_unchanged([x], outcome.args_after, what=f"Dropout({p:g})(x)")


@check("Dropout", "values", hidden=True)
def dropout_default_p_is_half(student, inputs):
    """Dropout() drops with p = 0.5."""
    model = dropout_model(student, inputs)
    x = dropout_input(inputs, *large_shape(inputs))
    expect_drop_rate(expect_dropout_values(student.call(model, x), x, 0.5, "Dropout()"), 0.5, "Dropout()")


@check("Dropout", "values", hidden=True)
def dropout_eval_mode_is_identity_at_random(student, inputs):
    """In eval mode the input comes back unchanged; back in training mode it is dropped again."""
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *inputs.sizes(2, 20, 40))
    student.fixture("common.set_mode", model, False)
    out = expect_tensor(student.call(model, x), what=f"Dropout({p:g}) in eval mode", shape=tuple(x.shape),
                        dtype=x.dtype, device="cpu")
    got, scaled = values_of(out), values_of(x) / (1 - p)
    if bool(((got == 0) | ((got - scaled).abs() <= 1e-6 * scaled.abs())).all()) and not bool((got == 0).all()):
        fail(f"Dropout({p:g}) still drops and scales elements in eval mode: there it must return the input "
             "unchanged (read self.training at every call)")
    expect_close(out, values_of(x), what=f"Dropout({p:g}) in eval mode", atol=0, rtol=0)
    student.fixture("common.set_mode", model, True)
    kept = expect_dropout_values(student.call(model, x), x, p, f"Dropout({p:g}) back in training mode")
    if bool(kept.all()):
        fail(f"Dropout({p:g}) dropped nothing after model.train(): read self.training at every call")


@check("Dropout", "values", hidden=True)
def dropout_p_one_and_zero(student, inputs):
    """p = 1 gives zeros without NaN; p = 0 gives the input unchanged."""
    x = dropout_input(inputs, *inputs.sizes(2, 20, 40))
    out = student.call(dropout_model(student, inputs, 1.0), x)
    expect_close(out, torch.zeros(x.shape, dtype=F64), what="Dropout(1.0) in training mode", dtype=torch.float32,
                 atol=0, rtol=0)
    out = student.call(dropout_model(student, inputs, 0.0), x)
    expect_close(out, values_of(x), what="Dropout(0.0) in training mode", dtype=torch.float32, atol=0, rtol=0)


@check("Dropout", "values", hidden=True)
def dropout_draws_fresh_independent_masks(student, inputs):
    """Two calls draw different masks, and the rows of one call are not all masked alike."""
    # For an honest implementation, two masks of n >= 20000 elements agree everywhere with
    # probability (p^2 + (1-p)^2)^n <= 0.68^20000, and all N >= 100 rows of one mask equal the
    # first with probability <= 0.68^(D (N - 1)): both far below 1e-6.
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *large_shape(inputs))
    first = expect_dropout_values(student.call(model, x), x, p, f"Dropout({p:g})")
    second = expect_dropout_values(student.call(model, x), x, p, f"Dropout({p:g}), called again")
    if torch.equal(first, second):
        fail(f"two calls of Dropout({p:g}) on the same input dropped exactly the same elements: draw a fresh random "
             "mask at every call (no fixed pattern, no reseeding)")
    if bool((first == first[:1]).all()):
        fail(f"Dropout({p:g}) dropped the same columns in every row: draw the mask with the input's full shape "
             "(torch.rand_like(x)), one independent draw per element")


@check("Dropout", "gradients", hidden=True)
def dropout_gradients(student, inputs):
    """The gradient is the upstream gradient masked like the output and scaled by 1/(1-p)."""
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *inputs.sizes(2, 20, 40))
    g = inputs.randn(*x.shape)
    result = student.fixture("common.forward_backward", model, x, g)
    kept = expect_dropout_values(result["out"], x, p, f"Dropout({p:g})")
    if result["input_grad"] is None:
        fail(f"no gradient reaches the input of Dropout({p:g}): the graph is broken (.detach(), .data, torch.tensor)")
    expect_close(result["input_grad"], kept * values_of(g) / (1 - p), what=f"the gradient of Dropout({p:g})",
                 dtype=torch.float32, atol=0, rtol=4 * torch.finfo(torch.float32).eps)


@check("Dropout", "shapes", hidden=True)
def dropout_follows_dtype_and_shape(student, inputs):
    """A float64 [B, T, D] input gives a float64 [B, T, D] result."""
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *inputs.sizes(3, 5, 20), dtype=F64)
    expect_dropout_values(student.call(model, x), x, p, f"Dropout({p:g}) on a float64 [B, T, D] input")


@check("Dropout", "device", hidden=True)
def dropout_follows_device(student, inputs):
    """On a (simulated) cuda:0 input the mask is drawn there and the result stays there."""
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *inputs.sizes(2, 20, 40))
    kept = expect_dropout_values(student.call(model, to_sim(x)), x, p, f"Dropout({p:g}) on a (simulated) cuda:0 input",
                                 device=SIM_DEVICE)
    if bool(kept.all()) or not bool(kept.any()):
        fail(f"Dropout({p:g}) on a cuda:0 input kept {'all' if kept.all() else 'none'} of the elements")


@check("Dropout", "device", hidden=True, requires="cuda")
def dropout_on_real_cuda(student, inputs):
    p = inputs.choice(DROPOUT_RATES)
    model = dropout_model(student, inputs, p)
    x = dropout_input(inputs, *large_shape(inputs))
    kept = expect_dropout_values(student.call(model, x.to(CUDA)), x, p, f"Dropout({p:g}) on cuda", device=CUDA)
    expect_drop_rate(kept, p, f"Dropout({p:g}) on cuda")


# -- checkpoint -------------------------------------------------------------------------

def checkpoint_forward(x: torch.Tensor, p: Params) -> torch.Tensor:
    """The model of every checkpoint check: Sequential(Linear(d, h), Tanh(), Linear(h, 1))."""
    return inner_forward(x, p)


class Run:
    """A training run in the student's process (model, optimizer, data) and its float64 twin here."""

    def __init__(self, student, inputs, optimizer: str = "Adam", device: str | None = None) -> None:
        d, h = inputs.sizes(2, 3, 9)
        self.student, self.inputs, self.device = student, inputs, device
        self.spec = [["Linear", d, h], ["Tanh"], ["Linear", h, 1]]
        self.shapes = {"0.weight": (h, d), "0.bias": (h,), "2.weight": (1, h), "2.bias": (1,)}
        self.x, self.y = inputs.randn(16, d, dtype=F64), inputs.randn(16, 1, dtype=F64)
        self.optimizer_name = optimizer
        self.options = {"lr": 0.05} if optimizer == "Adam" else {"lr": 0.1, "momentum": 0.9}
        initial = random_params(inputs, self.shapes, F64)
        self.model, self.optimizer = self.fresh(initial)
        self.reference = {name: v.clone().requires_grad_() for name, v in initial.items()}
        self.ref_optimizer = self.reference_optimizer(self.reference)

    def reference_optimizer(self, params: Params) -> torch.optim.Optimizer:
        return getattr(torch.optim, self.optimizer_name)(list(params.values()), **self.options)

    def fresh(self, params: Params) -> tuple[Handle, Handle]:
        """A new model with these weights and a new optimizer, in the student's process."""
        model = self.student.fixture("common.sequential", self.spec, params, dtype=F64)
        if self.device:
            model = self.student.fixture("common.to_device", model, self.device)
        return model, self.student.fixture("common.optimizer", self.optimizer_name, model, **self.options)

    def train(self, steps: int, model: Handle | None = None,
              optimizer: Handle | None = None) -> tuple[list[float], list[float]]:
        """``steps`` steps of the trusted loop there (default: the run's own model and optimizer) and here."""
        x, y = (self.x.to(self.device), self.y.to(self.device)) if self.device else (self.x, self.y)
        losses = self.student.fixture("modules.train_steps", model or self.model, optimizer or self.optimizer, x, y,
                                      steps)
        return losses, reference_steps(checkpoint_forward, self.reference, self.ref_optimizer, self.x, self.y, steps)

    def snapshot(self) -> Params:
        return {name: v.detach().clone() for name, v in self.reference.items()}

    def save(self, epoch: int) -> str:
        path = self.student.fixture("modules.temp_path")
        self.student.call("save_checkpoint", path, self.model, self.optimizer, epoch)
        return path

    def load_into_fresh(self, path: str) -> tuple[Handle, Handle, object]:
        """A new model with other weights and a new optimizer, then load_checkpoint(path, model, optimizer)."""
        model, optimizer = self.fresh(random_params(self.inputs, self.shapes, F64))
        return model, optimizer, self.student.call("load_checkpoint", path, model, optimizer)

    def expect_weights(self, model: Handle, expected: Params, what: str,
                       mistakes: dict[str, Params] | None = None) -> None:
        got = state_of(self.student, model, "the model")["parameters"]
        for name, reference in expected.items():
            expect_close(got[name], reference, what=f"{name} {what}", dtype=F64,
                         atol=1e-9 * float(reference.abs().max()), rtol=1e-8,
                         mistakes={hint: wrong[name] for hint, wrong in (mistakes or {}).items()})


def find_all(content, predicate) -> list:
    """Every value in nested plain data (dicts and lists) that satisfies ``predicate``."""
    found = [content] if predicate(content) else []
    children = content.values() if isinstance(content, dict) else content if isinstance(content, list) else []
    for child in children:
        found += find_all(child, predicate)
    return found


def is_optimizer_state(value) -> bool:
    return isinstance(value, dict) and "state" in value and "param_groups" in value


def expect_epoch(epoch, expected: int, mistakes: dict[int, str] | None = None) -> None:
    """``mistakes``: a wrong epoch -> what it reveals."""
    if type(epoch) is not int:
        shown = repr(epoch) if isinstance(epoch, (torch.Tensor, float, str)) else describe(epoch)
        fail(f"load_checkpoint returned {shown}, expected the saved epoch as a Python int ({expected})")
    if epoch != expected:
        hint = (mistakes or {}).get(epoch)
        fail(f"load_checkpoint returned epoch {epoch}, expected the saved epoch {expected}"
             + (f" — {hint}" if hint else ""))


@check("checkpoint", "api", hidden=True)
def checkpoint_file_holds_state_dicts_and_epoch(student, inputs):
    """torch.load(path, weights_only=True) reads the model and optimizer state_dicts and the epoch."""
    run = Run(student, inputs)
    run.train(3)
    epoch = inputs.py.randrange(11, 60)  # above every integer an optimizer state_dict holds
    path = run.save(epoch)
    outcome = student.run("modules.load_plain", path, fixture=True)
    if outcome.raised is not None and outcome.raised.type == "FileNotFoundError":
        fail("after save_checkpoint(path, ...) there is no file at path: save with torch.save(obj, path)")
    if outcome.raised is not None:
        message = re.sub(r"\x1b\[[0-9;]*m", "", outcome.raised.message).strip().splitlines()[0][:200]
        fail(f"torch.load(path, weights_only=True) cannot read the checkpoint ({outcome.raised.type}: {message}): "
             "save plain data (model.state_dict(), optimizer.state_dict() and the epoch, e.g. in a dict) with "
             "torch.save(obj, path), not the model or optimizer objects")
    content = outcome.value
    models = find_all(content, lambda v: isinstance(v, dict) and set(v) == set(run.shapes))
    if not models:
        fail(f"the checkpoint holds no model state_dict (a dict with keys {sorted(run.shapes)}): save "
             "model.state_dict()")
    for name, reference in run.snapshot().items():
        expect_close(models[0][name], reference, what=f"the saved {name}", dtype=F64,
                     atol=1e-9 * float(reference.abs().max()), rtol=1e-8)
    if not find_all(content, is_optimizer_state):
        fail("the checkpoint holds no optimizer state_dict (a dict with 'state' and 'param_groups'): save "
             "optimizer.state_dict() too, or resumed training cannot follow the same trajectory")
    if not find_all(content, lambda v: type(v) is int and v == epoch):
        fail(f"the checkpoint does not hold the epoch {epoch} as a Python int")


@check("checkpoint", "values", hidden=True)
def checkpoint_load_restores_model_and_epoch(student, inputs):
    """load_checkpoint writes the saved weights into another model in place and returns the saved epoch."""
    run = Run(student, inputs)
    run.train(inputs.py.randrange(2, 6))
    epoch = inputs.py.randrange(11, 60)
    model, _, returned = run.load_into_fresh(run.save(epoch))
    expect_epoch(returned, epoch)
    run.expect_weights(model, run.snapshot(), "after load_checkpoint")


@check("checkpoint", "values", hidden=True)
def checkpoint_load_restores_optimizer_state(student, inputs):
    """load_checkpoint restores the optimizer's state (Adam's moments and step count) in place."""
    run = Run(student, inputs)
    run.train(inputs.py.randrange(2, 6))
    _, optimizer, _ = run.load_into_fresh(run.save(inputs.py.randrange(11, 60)))
    got = student.fixture("modules.optimizer_state", optimizer)
    for index, ref_state in run.ref_optimizer.state_dict()["state"].items():
        state = got["state"].get(str(index))
        if not state:
            fail(f"after load_checkpoint the optimizer has no state for parameter {index} (Adam's exp_avg, exp_avg_sq "
                 "and step): save optimizer.state_dict() and restore it with optimizer.load_state_dict(...)")
        for key, value in ref_state.items():
            reference = values_of(value)
            expect_close(state.get(key), reference, what=f"the optimizer's {key} for parameter {index} after "
                         "load_checkpoint", atol=1e-9 * float(reference.abs().max()), rtol=1e-8)


@check("checkpoint", "convergence", hidden=True)
def checkpoint_resumed_training_matches_uninterrupted(student, inputs):
    """Train, save, load into a fresh model and optimizer, train on: the trajectory is the uninterrupted one."""
    run = Run(student, inputs)
    before, after = inputs.py.randrange(3, 7), inputs.py.randrange(4, 8)
    run.train(before)
    model, optimizer, _ = run.load_into_fresh(run.save(before))
    restarted = {name: v.requires_grad_() for name, v in run.snapshot().items()}
    restarted_losses = reference_steps(checkpoint_forward, restarted, run.reference_optimizer(restarted), run.x, run.y,
                                       after)
    losses, ref_losses = run.train(after, model, optimizer)
    expected = torch.tensor(ref_losses, dtype=F64)
    expect_close(torch.tensor(losses, dtype=F64), expected, what=f"the losses of {after} Adam steps after resuming",
                 atol=1e-9 * float(expected.abs().max()), rtol=1e-8,
                 mistakes={"resumed training follows a fresh optimizer: the optimizer state (Adam's moments and step "
                           "count) was not saved or not restored": torch.tensor(restarted_losses, dtype=F64)})
    run.expect_weights(model, run.snapshot(), "after resumed training")


@check("checkpoint", "values", hidden=True)
def checkpoint_reads_the_given_path(student, inputs):
    """Two checkpoints at two paths: loading the first gives back the first epoch and weights."""
    run = Run(student, inputs, optimizer="SGD")
    run.train(2)
    first_epoch, first = inputs.py.randrange(11, 30), run.snapshot()
    first_path = run.save(first_epoch)
    run.train(3)
    second_epoch = inputs.py.randrange(31, 60)
    run.save(second_epoch)
    model, _, returned = run.load_into_fresh(first_path)
    expect_epoch(returned, first_epoch, mistakes={
        second_epoch: "that of the second checkpoint, saved at another path: save_checkpoint must write to path and "
                      "load_checkpoint read from it"})
    run.expect_weights(model, first, "after loading the first of two checkpoints", mistakes={
        "these are the weights the model had at the second save, not at the first: load_checkpoint must read the "
        "file at path, whose tensors were fixed when torch.save wrote it (state_dict() tensors are live references)":
            run.snapshot()})


@check("checkpoint", "convergence", hidden=True, requires="cuda")
def checkpoint_resume_on_cuda(student, inputs):
    """On cuda too, resumed training follows the uninterrupted trajectory."""
    run = Run(student, inputs, device="cuda")
    run.train(4)
    model, optimizer, returned = run.load_into_fresh(run.save(4))
    expect_epoch(returned, 4)
    losses, ref_losses = run.train(5, model, optimizer)
    expected = torch.tensor(ref_losses, dtype=F64)
    expect_close(torch.tensor(losses, dtype=F64), expected, what="the losses of 5 Adam steps after resuming on cuda",
                 atol=1e-7 * float(expected.abs().max()), rtol=1e-6)
