"""01_tensors: items and public checks (small fixed examples students can run themselves)."""
import math

import numpy as np
import torch

from autograder.checks import Item, check, expect_close, expect_equal, expect_raises, expect_tensor, fail

# Each item's checks take well under 0.1 s on the reference: 3 s per item still leaves a
# 30-fold margin for a slow machine, and a hang costs little.
ITEMS = [
    Item("pairwise_sq_dists", 3, timeout=3.0),
    Item("normalize_rows", 3, timeout=3.0),
    Item("one_hot", 3, banned=("torch.nn.functional.one_hot",), timeout=3.0),
    Item("to_numpy", 3, timeout=3.0),
    Item("from_numpy_shared", 3, timeout=3.0),
    Item("attention_scores", 3, timeout=3.0),
    Item("nhwc_to_nchw", 3, timeout=3.0),
]

T = torch.tensor


@check("pairwise_sq_dists", "shapes")
def pairwise_gives_n_by_m(student, inputs):
    """x[4,3], y[6,3] give a float32 [4,6] result."""
    x, y = torch.ones(4, 3), torch.zeros(6, 3)
    x[1, 0], y[2, 2] = 3.0, -1.0
    expected = torch.full((4, 6), 3.0, dtype=torch.float64)
    expected[1] += 8.0
    expected[:, 2] += 3.0  # (x[i, 2] + 1)^2 replaces x[i, 2]^2 = 1
    out = student.call("pairwise_sq_dists", x, y)
    expect_close(out, expected, what="pairwise_sq_dists(x[4,3], y[6,3])", dtype=torch.float32, device="cpu", atol=1e-5)


@check("pairwise_sq_dists", "values")
def pairwise_small_example(student, inputs):
    x, y = T([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), T([[1.0, 0.0], [0.0, 2.0]])
    expected = T([[1.0, 4.0], [1.0, 2.0], [1.0, 8.0]], dtype=torch.float64)
    out = student.call("pairwise_sq_dists", x, y)
    expect_close(out, expected, what="pairwise_sq_dists on a 3x2 / 2x2 example", dtype=torch.float32, atol=1e-5)


@check("normalize_rows", "shapes")
def normalize_keeps_shape_and_dtype(student, inputs):
    x = torch.ones(5, 3)
    x[2] = T([0.0, 5.0, 0.0])
    expected = torch.full((5, 3), 1 / math.sqrt(3), dtype=torch.float64)
    expected[2] = T([0.0, 1.0, 0.0])
    out = student.call("normalize_rows", x)
    expect_close(out, expected, what="normalize_rows(x[5,3])", dtype=torch.float32, device="cpu", atol=1e-6)


@check("normalize_rows", "values")
def normalize_small_example_with_zero_row(student, inputs):
    x = T([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]])
    expected = T([[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    out = student.call("normalize_rows", x)
    expect_close(out, expected, what="normalize_rows([[3,4],[0,0],[0,-2]])", dtype=torch.float32, atol=1e-6)


@check("one_hot", "values")
def one_hot_small_example(student, inputs):
    out = student.call("one_hot", T([2, 0, 1]), 4)
    expected = T([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.float64)
    expect_close(out, expected, what="one_hot([2, 0, 1], 4)", dtype=torch.float32, device="cpu", atol=0, rtol=0)


@check("one_hot", "errors")
def one_hot_rejects_label_out_of_range(student, inputs):
    outcome = student.run("one_hot", T([0, 4]), 4)
    expect_raises(outcome, "ValueError", what="one_hot([0, 4], num_classes=4)")


@check("to_numpy", "values")
def to_numpy_float_tensor(student, inputs):
    out = student.call("to_numpy", T([[1.5, 2.0, -3.0]]))
    if type(out) is not np.ndarray:
        fail(f"to_numpy should return a numpy.ndarray, got a {type(out).__name__}")
    expect_equal(str(out.dtype), "float32", what="the array's dtype")
    if out.shape != (1, 3) or out.tolist() != [[1.5, 2.0, -3.0]]:
        fail(f"to_numpy gave {out.tolist()} with shape {out.shape}, expected [[1.5, 2.0, -3.0]] with shape (1, 3)")


@check("to_numpy", "gradients")
def to_numpy_tensor_requiring_grad(student, inputs):
    out = student.call("to_numpy", T([1.0, 2.0], requires_grad=True))
    if type(out) is not np.ndarray or out.tolist() != [1.0, 2.0]:
        fail(f"to_numpy on a tensor that requires grad gave {out!r}, expected array([1., 2.], dtype=float32)")


@check("from_numpy_shared", "values")
def from_numpy_keeps_float64(student, inputs):
    a = np.arange(6.0).reshape(2, 3)
    out = student.call("from_numpy_shared", a)
    expect_close(out, torch.arange(6.0, dtype=torch.float64).reshape(2, 3), what="from_numpy_shared(a)",
                 dtype=torch.float64, atol=0, rtol=0)


@check("from_numpy_shared", "values")
def from_numpy_shares_memory(student, inputs):
    outcome = student.run("from_numpy_shared", np.zeros((2, 2), dtype=np.float32), fill_after=(0, 7.0))
    expect_tensor(outcome.result(), what="from_numpy_shared(a)")
    if not bool((outcome.value_after_fill == 7.0).all()):
        fail("after writing 7 into the array, the tensor still holds the old values: it is a copy, "
             "not shared memory (torch.tensor(a) copies; torch.from_numpy(a) shares)")


@check("attention_scores", "values")
def attention_small_example(student, inputs):
    q, k = T([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), T([[2.0, 0.0], [0.0, 2.0]])
    r = math.sqrt(2.0)
    expected = T([[r, 0.0], [0.0, r], [r, r]], dtype=torch.float64)
    out = student.call("attention_scores", q, k)
    expect_close(out, expected, what="attention_scores(q[3,2], k[2,2])", dtype=torch.float32, atol=1e-5)


@check("attention_scores", "shapes")
def attention_batched_shape(student, inputs):
    q, k = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
    q[1] *= 3.0
    expected = torch.full((2, 3, 5), 2.0, dtype=torch.float64)
    expected[1] *= 3.0
    out = student.call("attention_scores", q, k)
    expect_close(out, expected, what="attention_scores(q[2,3,4], k[2,5,4])", dtype=torch.float32, atol=1e-5)


@check("nhwc_to_nchw", "shapes")
def nhwc_shape_and_contiguity(student, inputs):
    x = torch.arange(120.0).reshape(2, 3, 4, 5)
    expected = torch.stack([x[:, :, :, c] for c in range(5)], dim=1).double()
    out = student.call("nhwc_to_nchw", x)
    expect_close(out, expected, what="nhwc_to_nchw(x[2,3,4,5])", dtype=torch.float32, atol=0, rtol=0)
    if not out.is_contiguous():
        fail("the result of nhwc_to_nchw is not contiguous: call .contiguous() after permute")


@check("nhwc_to_nchw", "values")
def nhwc_small_example(student, inputs):
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    expected = torch.stack([x[0, :, :, c] for c in range(4)]).unsqueeze(0).double()
    out = student.call("nhwc_to_nchw", x)
    expect_close(out, expected, what="nhwc_to_nchw(x[1,2,3,4])", dtype=torch.float32, atol=0, rtol=0)
