"""05_modules: items and public checks (small fixed examples students can run themselves)."""
import torch

from autograder.checks import Item, check, expect_close, expect_equal, expect_raises, expect_tensor, fail
from autograder.runtime.wire import Handle

LAYER_NORM_BANNED = ("torch.nn.functional.layer_norm", "torch.layer_norm", "torch.native_layer_norm",
                     "torch.nn.LayerNorm")
DROPOUT_BANNED = (
    "torch.nn.functional.dropout", "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d",
    "torch.nn.functional.dropout3d", "torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout",
    "torch.dropout", "torch.dropout_", "torch.feature_dropout", "torch.feature_dropout_", "torch.alpha_dropout",
    "torch.alpha_dropout_", "torch.feature_alpha_dropout", "torch.feature_alpha_dropout_", "torch.native_dropout",
    "torch.nn.Dropout",
)

ITEMS = [
    Item("TwoLayerNet", 3),
    Item("MLP", 3),
    Item("Residual", 3),
    Item("LayerNorm", 4, banned=LAYER_NORM_BANNED),
    Item("Dropout", 3, banned=DROPOUT_BANNED),
    Item("checkpoint", 3),
]

T = torch.tensor


def build(student, name: str, *args) -> Handle:
    """An instance of the student's class ``name``, left in the student's process."""
    module = student.call(name, *args)
    if not isinstance(module, Handle):
        fail(f"{name}(...) should give an nn.Module instance, got {module!r}")
    return module


def parameter_shapes(student, module: Handle) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in student.fixture("common.tensors_of", module)["parameters"].items()}


def expect_parameter_shapes(student, module: Handle, expected: dict[str, tuple[int, ...]], what: str) -> None:
    shapes = parameter_shapes(student, module)
    if shapes != expected:
        fail(f"{what} has parameters {shapes or 'none'}, expected {expected}: assign nn.Linear layers to the "
             "attributes linear1 and linear2 in __init__ (attributes register them; a plain list would not)")


@check("TwoLayerNet", "api")
def two_layer_net_has_linear1_and_linear2(student, inputs):
    """TwoLayerNet(3, 5, 2) registers linear1 = Linear(3, 5) and linear2 = Linear(5, 2)."""
    expected = {"linear1.weight": (5, 3), "linear1.bias": (5,), "linear2.weight": (2, 5), "linear2.bias": (2,)}
    expect_parameter_shapes(student, build(student, "TwoLayerNet", 3, 5, 2), expected, "TwoLayerNet(3, 5, 2)")


@check("TwoLayerNet", "values")
def two_layer_net_small_example(student, inputs):
    """With fixed weights, the forward pass is linear2(relu(linear1(x)))."""
    model = build(student, "TwoLayerNet", 2, 3, 1)
    expect_parameter_shapes(student, model, {"linear1.weight": (3, 2), "linear1.bias": (3,), "linear2.weight": (1, 3),
                                             "linear2.bias": (1,)}, "TwoLayerNet(2, 3, 1)")
    student.fixture("common.load_tensors", model, {
        "linear1.weight": T([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), "linear1.bias": T([0.0, 0.0, -1.0]),
        "linear2.weight": T([[1.0, 2.0, 3.0]]), "linear2.bias": T([0.5])})
    x = T([[1.0, -2.0], [2.0, 3.0]])
    # hidden: relu([1, -2, -2]) = [1, 0, 0] and relu([2, 3, 4]) = [2, 3, 4]
    expected = T([[1.5], [2.0 + 6.0 + 12.0 + 0.5]], dtype=torch.float64)
    expect_close(student.call(model, x), expected, what="TwoLayerNet(2, 3, 1) on a 2x2 example", dtype=torch.float32,
                 atol=1e-5)


@check("MLP", "errors")
def mlp_rejects_a_single_size(student, inputs):
    expect_raises(student.run("MLP", [4]), "ValueError", what="MLP([4])")


@check("MLP", "api")
def mlp_registers_every_layer(student, inputs):
    """MLP([3, 5, 4, 2]) registers three Linear layers: six parameters, in order."""
    shapes = list(parameter_shapes(student, build(student, "MLP", [3, 5, 4, 2])).values())
    expected = [(5, 3), (5,), (4, 5), (4,), (2, 4), (2,)]
    if shapes != expected:
        fail(f"MLP([3, 5, 4, 2]) has parameters of shapes {shapes}, expected {expected}: one nn.Linear per pair of "
             "consecutive sizes, kept in an nn.ModuleList (a plain Python list hides them from parameters())")


@check("Residual", "values")
def residual_small_example(student, inputs):
    """Residual(Linear(2, 2)) computes x + fn(x)."""
    fn = student.fixture("common.sequential", [["Linear", 2, 2]],
                         {"0.weight": T([[1.0, 2.0], [3.0, 4.0]]), "0.bias": T([0.5, -0.5])})
    x = T([[1.0, 1.0], [0.0, -1.0]])
    expected = T([[1.0 + 3.5, 1.0 + 6.5], [0.0 - 1.5, -1.0 - 4.5]], dtype=torch.float64)
    expect_close(student.call(build(student, "Residual", fn), x), expected, what="Residual(fn)(x)",
                 dtype=torch.float32, atol=1e-5)


@check("Residual", "api")
def residual_owns_fn_parameters(student, inputs):
    """fn's parameters are the Residual's parameters."""
    fn = student.fixture("common.sequential", [["Linear", 2, 3]])
    shapes = sorted(parameter_shapes(student, build(student, "Residual", fn)).values())
    if shapes != [(3,), (3, 2)]:
        fail(f"Residual(Linear(2, 3)) has parameters of shapes {shapes}, expected fn's: [(3,), (3, 2)] — assign fn "
             "to an attribute (self.fn = fn) so that it is registered as a submodule")


@check("LayerNorm", "api")
def layer_norm_parameters(student, inputs):
    """LayerNorm(4) has parameters weight (ones) and bias (zeros)."""
    params = student.fixture("common.tensors_of", build(student, "LayerNorm", 4))["parameters"]
    if sorted(params) != ["bias", "weight"]:
        fail(f"LayerNorm(4) has parameters {sorted(params)}, expected ['bias', 'weight']: create them with "
             "nn.Parameter(...) (a plain tensor attribute is not registered)")
    expect_close(params["weight"], torch.ones(4, dtype=torch.float64), what="weight", dtype=torch.float32, atol=0)
    expect_close(params["bias"], torch.zeros(4, dtype=torch.float64), what="bias", dtype=torch.float32, atol=0)


@check("LayerNorm", "values")
def layer_norm_small_example(student, inputs):
    """Rows [1, 2, 3, 4] and [2, 2, 2, 2]: biased variance 1.25 and 0, eps inside the square root."""
    x = T([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]])
    expected = torch.zeros(2, 4, dtype=torch.float64)
    expected[0] = T([-1.5, -0.5, 0.5, 1.5], dtype=torch.float64) / (1.25 + 1e-5) ** 0.5
    expect_close(student.call(build(student, "LayerNorm", 4), x), expected, what="LayerNorm(4) on a 2x4 example",
                 dtype=torch.float32, atol=1e-5)


@check("Dropout", "errors")
def dropout_rejects_p_above_one(student, inputs):
    expect_raises(student.run("Dropout", 1.5), "ValueError", what="Dropout(1.5)")


@check("Dropout", "values")
def dropout_eval_mode_is_identity(student, inputs):
    """In eval mode Dropout(0.5) returns its input unchanged."""
    model = build(student, "Dropout", 0.5)
    student.fixture("common.set_mode", model, False)
    x = torch.arange(1.0, 7.0).reshape(2, 3)
    out = expect_tensor(student.call(model, x), what="Dropout(0.5) in eval mode", shape=(2, 3))
    if bool(((out == 0) | (out == 2 * x)).all()) and not bool((out == 0).all()):
        fail("Dropout(0.5) still drops and scales elements in eval mode: there it must return the input unchanged "
             "(read self.training at every call)")
    expect_close(out, x.double(), what="Dropout(0.5) in eval mode", dtype=torch.float32, atol=0, rtol=0)


@check("Dropout", "values")
def dropout_training_zeroes_or_scales(student, inputs):
    """In training mode Dropout(0.5) turns each 1.0 into 0.0 or 2.0, about half of each."""
    out = expect_tensor(student.call(build(student, "Dropout", 0.5), torch.ones(2000)), what="Dropout(0.5)(x)")
    expect_close(out, (out != 0).double() * 2.0, what="Dropout(0.5) on ones(2000)", dtype=torch.float32, atol=1e-6,
                 mistakes={"survivors must be scaled by 1/(1-p) = 2": (out != 0).double()})
    zeroed = float((out == 0).double().mean())
    # Hoeffding: P(|zeroed - 0.5| >= 0.1) <= 2 exp(-2 * 2000 * 0.1^2) = 8.5e-18
    if abs(zeroed - 0.5) >= 0.1:
        fail(f"Dropout(0.5) zeroed {zeroed:.1%} of 2000 elements; each should be zeroed with probability 0.5")


@check("checkpoint", "values")
def checkpoint_round_trip(student, inputs):
    """A checkpoint saved at epoch 3 restores the weights into another model and gives back 3."""
    weights = {"0.weight": T([[1.0, -2.0]]), "0.bias": T([0.5])}
    model = student.fixture("common.sequential", [["Linear", 2, 1]], weights)
    path = student.fixture("modules.temp_path")
    student.call("save_checkpoint", path, model, student.fixture("common.optimizer", "SGD", model, lr=0.1), 3)
    other = student.fixture("common.sequential", [["Linear", 2, 1]], {"0.weight": T([[0.0, 0.0]]), "0.bias": T([0.0])})
    epoch = student.call("load_checkpoint", path, other, student.fixture("common.optimizer", "SGD", other, lr=0.1))
    expect_equal(epoch, 3, what="load_checkpoint(...) (the saved epoch)")
    restored = student.fixture("common.tensors_of", other)["parameters"]
    for name, value in weights.items():
        expect_close(restored.get(name), value.double(), what=f"{name} after load_checkpoint", dtype=torch.float32,
                     atol=0)
