"""01_tensors: hidden checks. Instructor-only: nbgrader never releases this file.

Inputs are random and fresh every run (seeded per check from the run's seed), with
distinct sizes N != M != D; references are computed here, in float64, from plain data.
"""
import math

import numpy as np
import torch

from autograder.checks import (
    SIM_DEVICE, check, expect_close, expect_grads, expect_raises, expect_tensor, expect_unchanged, fail,
    noncontiguous, to_sim, values_of,
)

EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}
CUDA = torch.device("cuda", 0)


# -- pairwise_sq_dists ------------------------------------------------------------------

def ref_pairwise(x, y):
    """The expansion in float64: its rounding error is far below the float32 tolerance, and it is fast."""
    x, y = values_of(x), values_of(y)
    return (x.pow(2).sum(1)[:, None] + y.pow(2).sum(1)[None, :] - 2 * x @ y.T).clamp_min(0)


def pairwise_tolerance(x, y):
    """Relative to the squared norms involved, so the |x|^2+|y|^2-2x.y expansion passes."""
    xn, yn = values_of(x).pow(2).sum(1), values_of(y).pow(2).sum(1)
    return 64 * EPS[x.dtype] * (xn[:, None] + yn[None, :]) + 1e-30


def pairwise_inputs(inputs, dtype=torch.float32):
    n, m, d = inputs.sizes(3)
    scale = inputs.choice([0.1, 1.0, 10.0])
    return inputs.randn(n, d, dtype=dtype, scale=scale), inputs.randn(m, d, dtype=dtype, scale=scale)


@check("pairwise_sq_dists", "values", hidden=True)
def pairwise_random_non_square(student, inputs):
    x, y = pairwise_inputs(inputs)
    x = noncontiguous(x)
    out = student.call("pairwise_sq_dists", x, y)
    ref = ref_pairwise(x, y)
    expect_close(out, ref, what=f"pairwise_sq_dists(x[{len(x)},{x.shape[1]}], y[{len(y)},{y.shape[1]}])",
                 dtype=torch.float32, device="cpu", atol=pairwise_tolerance(x, y), rtol=0,
                 mistakes={"these are distances, not squared distances": ref.sqrt()})


@check("pairwise_sq_dists", "values", hidden=True)
def pairwise_nonnegative_for_coincident_points(student, inputs):
    n, d = 40, inputs.sizes(1, 5, 12)[0]
    x = inputs.randn(n, d) + 300.0
    y = x[torch.randperm(n, generator=inputs.generator)[:n - 7]].clone()
    out = expect_tensor(student.call("pairwise_sq_dists", x, y), what="pairwise_sq_dists", shape=(n, n - 7))
    smallest = float(values_of(out).min())
    if not smallest >= 0:
        fail(f"pairwise_sq_dists gave a negative squared distance ({smallest:.3g}) for coincident points: "
             "with the |x|^2 + |y|^2 - 2 x.y expansion, clamp the result at 0")
    expect_close(out, ref_pairwise(x, y), what="pairwise_sq_dists for coincident points", dtype=torch.float32,
                 atol=pairwise_tolerance(x, y), rtol=0)


@check("pairwise_sq_dists", "gradients", hidden=True)
def pairwise_gradients_reach_x_and_y(student, inputs):
    x, y = pairwise_inputs(inputs)
    g = inputs.randn(len(x), len(y))
    outcome = student.run("pairwise_sq_dists", x, y, grad_wrt=(0, 1), grad_output=g)
    x64, y64 = x.double().requires_grad_(), y.double().requires_grad_()
    expected = torch.autograd.grad(((x64[:, None] - y64[None]) ** 2).sum(-1), (x64, y64), g.double())
    expect_grads(outcome, list(expected), names=["x", "y"], output_shape=g.shape)


@check("pairwise_sq_dists", "shapes", hidden=True)
def pairwise_keeps_float64(student, inputs):
    x, y = pairwise_inputs(inputs, torch.float64)
    out = student.call("pairwise_sq_dists", x, y)
    expect_close(out, ref_pairwise(x, y), what="pairwise_sq_dists on float64 inputs", dtype=torch.float64,
                 atol=pairwise_tolerance(x, y), rtol=0)


@check("pairwise_sq_dists", "device", hidden=True)
def pairwise_follows_device(student, inputs):
    x, y = pairwise_inputs(inputs)
    out = student.call("pairwise_sq_dists", to_sim(x), to_sim(y))
    expect_close(out, ref_pairwise(x, y), what="pairwise_sq_dists on (simulated) cuda:0 inputs",
                 dtype=torch.float32, device=SIM_DEVICE, atol=pairwise_tolerance(x, y), rtol=0)


@check("pairwise_sq_dists", "api", hidden=True)
def pairwise_is_vectorised(student, inputs):
    d = inputs.sizes(1, 8, 24)[0]
    counts = []
    for n in (8, 16):
        outcome = student.run("pairwise_sq_dists", inputs.randn(n, d), inputs.randn(n + 3, d))
        outcome.result()
        counts.append(outcome.op_count)
    if counts[1] > counts[0]:
        fail(f"the number of torch operations grows with the number of points ({counts[0]} for 8 points, "
             f"{counts[1]} for 16): a Python loop over points? Use broadcasting or matmul")
    x, y = inputs.randn(500, d), inputs.randn(500, d)
    big = student.run("pairwise_sq_dists", x, y)
    expect_close(big.result(), ref_pairwise(x, y), what="pairwise_sq_dists for N = M = 500", dtype=torch.float32,
                 atol=pairwise_tolerance(x, y), rtol=0)
    if big.seconds > 1.0:
        fail(f"pairwise_sq_dists took {big.seconds:.2f} s for N = M = 500; vectorised code takes milliseconds")


@check("pairwise_sq_dists", "device", hidden=True, requires="cuda")
def pairwise_on_real_cuda(student, inputs):
    x, y = pairwise_inputs(inputs)
    out = student.call("pairwise_sq_dists", x.to(CUDA), y.to(CUDA))
    expect_close(out, ref_pairwise(x, y), what="pairwise_sq_dists on cuda inputs", dtype=torch.float32,
                 device=CUDA, atol=pairwise_tolerance(x, y) * 4, rtol=0)


# -- normalize_rows ---------------------------------------------------------------------

def ref_normalize(x, eps=1e-12):
    x = values_of(x)
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps)


def rows_with_zeros(inputs, dtype=torch.float32):
    n, d = inputs.sizes(2, 3, 12)
    x = inputs.randn(n, d, dtype=dtype, scale=inputs.choice([0.01, 1.0, 100.0]))
    x[inputs.py.sample(range(n), 2)] = 0
    return x


@check("normalize_rows", "values", hidden=True)
def normalize_random_rows(student, inputs):
    n, d = inputs.sizes(2, 3, 12)
    x = noncontiguous(inputs.randn(n, d, scale=inputs.choice([0.01, 1.0, 100.0])))
    ref = ref_normalize(x)
    expect_close(student.call("normalize_rows", x), ref, what=f"normalize_rows(x[{n},{d}])", dtype=torch.float32,
                 device="cpu", atol=1e-6, rtol=1e-5,
                 mistakes={"normalised over the wrong dim: each row (dim=1) must have norm 1": values_of(x) / values_of(x).norm(dim=0, keepdim=True)})


@check("normalize_rows", "values", hidden=True)
def normalize_zero_rows_stay_zero(student, inputs):
    x = rows_with_zeros(inputs)
    expect_close(student.call("normalize_rows", x), ref_normalize(x), what="normalize_rows with all-zero rows",
                 dtype=torch.float32, atol=1e-6, rtol=1e-5)


@check("normalize_rows", "values", hidden=True)
def normalize_respects_eps(student, inputs):
    n, d = inputs.sizes(2, 3, 12)
    x = inputs.randn(n, d)
    x[0] = x[0] / x[0].norm() * 1e-4
    ref = ref_normalize(x, eps=1e-3)
    expect_close(student.call("normalize_rows", x, eps=1e-3), ref, what="normalize_rows(x, eps=1e-3) with a row of norm 1e-4",
                 dtype=torch.float32, atol=1e-6, rtol=1e-5,
                 mistakes={"divide by max(norm, eps), not norm + eps": values_of(x) / (values_of(x).norm(dim=1, keepdim=True) + 1e-3)})


@check("normalize_rows", "shapes", hidden=True)
def normalize_keeps_float64(student, inputs):
    x = rows_with_zeros(inputs, torch.float64)
    expect_close(student.call("normalize_rows", x), ref_normalize(x), what="normalize_rows on float64 input",
                 dtype=torch.float64, atol=1e-12, rtol=1e-10)


@check("normalize_rows", "device", hidden=True)
def normalize_follows_device(student, inputs):
    x = rows_with_zeros(inputs)
    expect_close(student.call("normalize_rows", to_sim(x)), ref_normalize(x),
                 what="normalize_rows on a (simulated) cuda:0 input", dtype=torch.float32, device=SIM_DEVICE,
                 atol=1e-6, rtol=1e-5)


@check("normalize_rows", "values", hidden=True)
def normalize_leaves_input_unchanged(student, inputs):
    x = rows_with_zeros(inputs)
    outcome = student.run("normalize_rows", x, return_args=True)
    expect_close(outcome.result(), ref_normalize(x), what="normalize_rows", dtype=torch.float32, atol=1e-6, rtol=1e-5)
    expect_unchanged([x], outcome.args_after, what="normalize_rows")


@check("normalize_rows", "device", hidden=True, requires="cuda")
def normalize_on_real_cuda(student, inputs):
    x = rows_with_zeros(inputs)
    expect_close(student.call("normalize_rows", x.to(CUDA)), ref_normalize(x), what="normalize_rows on cuda",
                 dtype=torch.float32, device=CUDA, atol=1e-6, rtol=1e-5)


# -- one_hot ----------------------------------------------------------------------------

def labels_and_classes(inputs):
    n, c = inputs.sizes(2, 3, 12)
    return inputs.randint(0, c, n), c


def ref_one_hot(labels, c):
    return torch.eye(c, dtype=torch.float64)[values_of(labels).long()]


@check("one_hot", "values", hidden=True)
def one_hot_random_labels(student, inputs):
    labels, c = labels_and_classes(inputs)
    expect_close(student.call("one_hot", labels, c), ref_one_hot(labels, c), what=f"one_hot(labels[{len(labels)}], {c})",
                 dtype=torch.float32, device="cpu", atol=0, rtol=0)


@check("one_hot", "shapes", hidden=True)
def one_hot_uses_num_classes(student, inputs):
    labels, c = labels_and_classes(inputs)
    labels = labels % max(1, c - 2)
    expect_close(student.call("one_hot", labels, c), ref_one_hot(labels, c),
                 what=f"one_hot(labels, num_classes={c}) where every label is below {c - 2}",
                 dtype=torch.float32, atol=0, rtol=0)


@check("one_hot", "errors", hidden=True)
def one_hot_rejects_negative_label(student, inputs):
    labels, c = labels_and_classes(inputs)
    labels[inputs.py.randrange(len(labels))] = -1
    expect_raises(student.run("one_hot", labels, c), "ValueError", what="one_hot with a label of -1")


@check("one_hot", "errors", hidden=True)
def one_hot_rejects_label_equal_to_num_classes(student, inputs):
    labels, c = labels_and_classes(inputs)
    labels[inputs.py.randrange(len(labels))] = c
    expect_raises(student.run("one_hot", labels, c), "ValueError", what=f"one_hot with a label equal to num_classes={c}")


@check("one_hot", "device", hidden=True)
def one_hot_follows_device(student, inputs):
    labels, c = labels_and_classes(inputs)
    expect_close(student.call("one_hot", to_sim(labels), c), ref_one_hot(labels, c),
                 what="one_hot on (simulated) cuda:0 labels", dtype=torch.float32, device=SIM_DEVICE, atol=0, rtol=0)


@check("one_hot", "values", hidden=True)
def one_hot_leaves_labels_unchanged(student, inputs):
    labels, c = labels_and_classes(inputs)
    outcome = student.run("one_hot", labels, c, return_args=True)
    expect_close(outcome.result(), ref_one_hot(labels, c), what="one_hot", dtype=torch.float32, atol=0, rtol=0)
    expect_unchanged([labels], outcome.args_after, what="one_hot")


@check("one_hot", "device", hidden=True, requires="cuda")
def one_hot_on_real_cuda(student, inputs):
    labels, c = labels_and_classes(inputs)
    expect_close(student.call("one_hot", labels.to(CUDA), c), ref_one_hot(labels, c), what="one_hot on cuda labels",
                 dtype=torch.float32, device=CUDA, atol=0, rtol=0)


# -- to_numpy ---------------------------------------------------------------------------

NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64,
                torch.int32: np.int32, torch.bool: np.bool_, torch.uint8: np.uint8}


def expect_array_like(out, t, what):
    if type(out) is not np.ndarray:
        fail(f"{what} should return a numpy.ndarray, got a {type(out).__name__}")
    want = np.dtype(NUMPY_DTYPES[t.dtype])
    if out.shape != tuple(t.shape):
        fail(f"{what} has shape {out.shape}, expected {tuple(t.shape)}")
    if out.dtype != want:
        fail(f"{what} has dtype {out.dtype}, expected {want} (the matching NumPy dtype)")
    if not np.array_equal(out, values_of(t).numpy().astype(want)):
        fail(f"{what} holds different values from the tensor")


@check("to_numpy", "values", hidden=True)
def to_numpy_keeps_every_dtype(student, inputs):
    n, d = inputs.sizes(2)
    for dtype in NUMPY_DTYPES:
        t = (inputs.randn(n, d) * 50).to(dtype)
        expect_array_like(student.call("to_numpy", t), t, f"to_numpy on a {dtype} tensor")


@check("to_numpy", "gradients", hidden=True)
def to_numpy_random_tensor_requiring_grad(student, inputs):
    t = inputs.randn(*inputs.sizes(2)).requires_grad_()
    expect_array_like(student.call("to_numpy", t), t, "to_numpy on a tensor that requires grad")


@check("to_numpy", "device", hidden=True)
def to_numpy_from_another_device(student, inputs):
    t = inputs.randn(*inputs.sizes(2))
    expect_array_like(student.call("to_numpy", to_sim(t)), t, "to_numpy on a (simulated) cuda:0 tensor")


@check("to_numpy", "values", hidden=True)
def to_numpy_noncontiguous(student, inputs):
    t = noncontiguous(inputs.randn(*inputs.sizes(2), dtype=torch.float64))
    expect_array_like(student.call("to_numpy", t), t, "to_numpy on a non-contiguous tensor")


@check("to_numpy", "device", hidden=True, requires="cuda")
def to_numpy_from_real_cuda(student, inputs):
    t = inputs.randn(*inputs.sizes(2)).requires_grad_()
    expect_array_like(student.call("to_numpy", t.detach().to(CUDA).requires_grad_()), t.detach(), "to_numpy on cuda")


# -- from_numpy_shared ------------------------------------------------------------------

def expect_shared(student, a, what):
    fill = 1234.0 if a.dtype.kind == "f" else 77
    outcome = student.run("from_numpy_shared", a, fill_after=(0, fill))
    expected = torch.from_numpy(np.ascontiguousarray(a))
    expect_close(outcome.result(), expected.double(), what=what, dtype=expected.dtype, device="cpu", atol=0, rtol=0)
    if not bool((values_of(outcome.value_after_fill) == fill).all()):
        fail(f"{what}: after writing into the array the tensor still holds the old values — a copy, not shared "
             "memory (torch.tensor(a) and np.array copies; torch.from_numpy(a) shares)")


@check("from_numpy_shared", "values", hidden=True)
def from_numpy_shares_memory_random(student, inputs):
    a = inputs.randn(*inputs.sizes(2)).numpy()
    expect_shared(student, a, "from_numpy_shared on a float32 array")


@check("from_numpy_shared", "shapes", hidden=True)
def from_numpy_keeps_dtypes(student, inputs):
    n, d = inputs.sizes(2)
    for a in (inputs.randn(n, d, dtype=torch.float64).numpy(), inputs.randint(-50, 50, n, d).numpy(),
              inputs.randint(0, 9, n).numpy().astype(np.int32)):
        expect_shared(student, a, f"from_numpy_shared on a {a.dtype} array")


@check("from_numpy_shared", "values", hidden=True)
def from_numpy_noncontiguous_array(student, inputs):
    n, d = inputs.sizes(2)
    a = inputs.randn(n, 2 * d, dtype=torch.float64).numpy()[:, ::2]
    expect_shared(student, a, "from_numpy_shared on a strided (non-contiguous) array")


# -- attention_scores -------------------------------------------------------------------

def ref_attention(q, k):
    q, k = values_of(q), values_of(k)
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


def attention_inputs(inputs, batch=(), dtype=torch.float32):
    n, m, d = inputs.sizes(3, 2, 16)
    return inputs.randn(*batch, n, d, dtype=dtype), inputs.randn(*batch, m, d, dtype=dtype)


def attention_mistakes(q, k):
    ref = ref_attention(q, k)
    d = q.shape[-1]
    return {"missing the 1/sqrt(D) scale": ref * math.sqrt(d), "divided by D instead of sqrt(D)": ref / math.sqrt(d)}


def expect_attention(student, q, k, what, dtype=torch.float32, device="cpu", send=lambda t: t):
    out = student.call("attention_scores", send(q), send(k))
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    expect_close(out, ref_attention(q, k), what=what, dtype=dtype, device=device, atol=tol, rtol=tol * 10,
                 mistakes=attention_mistakes(q, k))


@check("attention_scores", "values", hidden=True)
def attention_unbatched_random(student, inputs):
    q, k = attention_inputs(inputs)
    expect_attention(student, q, k, f"attention_scores(q{list(q.shape)}, k{list(k.shape)})")


@check("attention_scores", "values", hidden=True)
def attention_one_batch_dim(student, inputs):
    q, k = attention_inputs(inputs, batch=(inputs.sizes(1, 2, 5)[0],))
    expect_attention(student, noncontiguous(q), k, f"attention_scores(q{list(q.shape)}, k{list(k.shape)})")


@check("attention_scores", "values", hidden=True)
def attention_two_batch_dims(student, inputs):
    b1, b2 = inputs.sizes(2, 2, 5)
    q, k = attention_inputs(inputs, batch=(b1, b2))
    expect_attention(student, q, k, f"attention_scores(q{list(q.shape)}, k{list(k.shape)}) "
                                    "(transpose the last two dims: .T and transpose(0, 1) are wrong here)")


@check("attention_scores", "gradients", hidden=True)
def attention_gradients_reach_q_and_k(student, inputs):
    q, k = attention_inputs(inputs, batch=(3,))
    g = inputs.randn(*q.shape[:-1], k.shape[-2])
    outcome = student.run("attention_scores", q, k, grad_wrt=(0, 1), grad_output=g)
    q64, k64 = q.double().requires_grad_(), k.double().requires_grad_()
    expected = torch.autograd.grad(q64 @ k64.transpose(-2, -1) / math.sqrt(q.shape[-1]), (q64, k64), g.double())
    expect_grads(outcome, list(expected), names=["q", "k"], output_shape=g.shape)


@check("attention_scores", "shapes", hidden=True)
def attention_keeps_float64(student, inputs):
    q, k = attention_inputs(inputs, batch=(2,), dtype=torch.float64)
    expect_attention(student, q, k, "attention_scores on float64 inputs", dtype=torch.float64)


@check("attention_scores", "device", hidden=True)
def attention_follows_device(student, inputs):
    q, k = attention_inputs(inputs, batch=(2,))
    expect_attention(student, q, k, "attention_scores on (simulated) cuda:0 inputs", device=SIM_DEVICE, send=to_sim)


@check("attention_scores", "device", hidden=True, requires="cuda")
def attention_on_real_cuda(student, inputs):
    q, k = attention_inputs(inputs, batch=(2,))
    expect_attention(student, q, k, "attention_scores on cuda", device=CUDA, send=lambda t: t.to(CUDA))


# -- nhwc_to_nchw -----------------------------------------------------------------------

def nhwc_input(inputs, dtype=torch.float32):
    n, h, w, c = inputs.sizes(4, 2, 9)
    return inputs.randn(n, h, w, c, dtype=dtype)


def ref_nchw(x):
    return torch.einsum("nhwc->nchw", values_of(x))


def expect_nchw(student, x, what, dtype=torch.float32, device="cpu", send=lambda t: t):
    n, h, w, c = x.shape
    out = student.call("nhwc_to_nchw", send(x))
    expect_close(out, ref_nchw(x), what=what, dtype=dtype, device=device, atol=0, rtol=0,
                 mistakes={"reshape/view keeps the memory order; use permute(0, 3, 1, 2)": values_of(x).reshape(n, c, h, w)})


@check("nhwc_to_nchw", "values", hidden=True)
def nhwc_random_distinct_sizes(student, inputs):
    x = nhwc_input(inputs)
    expect_nchw(student, x, f"nhwc_to_nchw(x{list(x.shape)})")


@check("nhwc_to_nchw", "shapes", hidden=True)
def nhwc_result_is_contiguous(student, inputs):
    x = nhwc_input(inputs)
    out = student.call("nhwc_to_nchw", x)
    expect_close(out, ref_nchw(x), what="nhwc_to_nchw", dtype=torch.float32, atol=0, rtol=0)
    if not out.is_contiguous():
        fail("the result of nhwc_to_nchw is not contiguous: call .contiguous() after permute")


@check("nhwc_to_nchw", "values", hidden=True)
def nhwc_noncontiguous_input(student, inputs):
    x = noncontiguous(nhwc_input(inputs))
    expect_nchw(student, x, "nhwc_to_nchw on a non-contiguous input")


@check("nhwc_to_nchw", "shapes", hidden=True)
def nhwc_keeps_float64(student, inputs):
    x = nhwc_input(inputs, torch.float64)
    expect_nchw(student, x, "nhwc_to_nchw on a float64 input", dtype=torch.float64)


@check("nhwc_to_nchw", "device", hidden=True)
def nhwc_follows_device(student, inputs):
    x = nhwc_input(inputs)
    expect_nchw(student, x, "nhwc_to_nchw on a (simulated) cuda:0 input", device=SIM_DEVICE, send=to_sim)


@check("nhwc_to_nchw", "device", hidden=True, requires="cuda")
def nhwc_on_real_cuda(student, inputs):
    x = nhwc_input(inputs)
    expect_nchw(student, x, "nhwc_to_nchw on cuda", device=CUDA, send=lambda t: t.to(CUDA))
