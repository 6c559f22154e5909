"""01_tensors: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one function on top of the reference solution; ``expect`` is a
phrase the failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # pairwise_sq_dists
    dict(item="pairwise_sq_dists", name="transposed", expect="transposed", code="""
def pairwise_sq_dists(x, y):
    return ((y[:, None, :] - x[None, :, :]) ** 2).sum(-1)
"""),
    dict(item="pairwise_sq_dists", name="mis_broadcast", expect="broadcasting", code="""
def pairwise_sq_dists(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(0)
"""),
    dict(item="pairwise_sq_dists", name="distances_not_squared", expect="not squared distances", code="""
def pairwise_sq_dists(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1).sqrt()
"""),
    dict(item="pairwise_sq_dists", name="expansion_without_clamp", expect="clamp", code="""
def pairwise_sq_dists(x, y):
    return (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
"""),
    dict(item="pairwise_sq_dists", name="python_loop", expect="python loop", code="""
def pairwise_sq_dists(x, y):
    rows = [((x[i] - y) ** 2).sum(-1) for i in range(x.shape[0])]
    return torch.stack(rows)
"""),
    dict(item="pairwise_sq_dists", name="detached", expect="graph is broken", code="""
def pairwise_sq_dists(x, y):
    return ((x.detach()[:, None, :] - y.detach()[None, :, :]) ** 2).sum(-1)
"""),
    dict(item="pairwise_sq_dists", name="cast_to_float32", expect="dtype", code="""
def pairwise_sq_dists(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1).float()
"""),
    dict(item="pairwise_sq_dists", name="created_on_cpu", expect="device=x.device", code="""
def pairwise_sq_dists(x, y):
    out = torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype)
    return out + ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
"""),
    # normalize_rows
    dict(item="normalize_rows", name="nan_on_zero_rows", expect="nan", code="""
def normalize_rows(x, eps=1e-12):
    return x / x.norm(dim=1, keepdim=True)
"""),
    dict(item="normalize_rows", name="wrong_dim", expect="wrong dim", code="""
def normalize_rows(x, eps=1e-12):
    return x / x.norm(dim=0, keepdim=True).clamp_min(eps)
"""),
    dict(item="normalize_rows", name="in_place", expect="in place", code="""
def normalize_rows(x, eps=1e-12):
    return x.div_(x.norm(dim=1, keepdim=True).clamp_min(eps))
"""),
    dict(item="normalize_rows", name="eps_added", expect="max(norm, eps)", code="""
def normalize_rows(x, eps=1e-12):
    return x / (x.norm(dim=1, keepdim=True) + eps)
"""),
    dict(item="normalize_rows", name="eps_on_cpu", expect="device", code="""
def normalize_rows(x, eps=1e-12):
    return x / torch.maximum(x.norm(dim=1, keepdim=True), torch.full((x.shape[0], 1), eps, dtype=x.dtype))
"""),
    dict(item="normalize_rows", name="cast_to_float32", expect="dtype", code="""
def normalize_rows(x, eps=1e-12):
    x = x.float()
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps)
"""),
    # one_hot
    dict(item="one_hot", name="banned_one_hot", expect="banned torch.nn.functional.one_hot", code="""
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    return torch.nn.functional.one_hot(labels, num_classes).float()
"""),
    dict(item="one_hot", name="banned_one_hot_alias", expect="banned torch.nn.functional.one_hot", code="""
from torch.nn import functional as _F
_oh = _F.one_hot
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    return _oh(labels, num_classes).to(torch.float32)
"""),
    dict(item="one_hot", name="created_on_cpu", expect="device=x.device", code="""
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    out = torch.zeros(labels.shape[0], num_classes)
    out[torch.arange(labels.shape[0]), labels.cpu()] = 1.0
    return out
"""),
    dict(item="one_hot", name="no_validation", expect="should raise valueerror", code="""
def one_hot(labels, num_classes):
    return (labels[:, None] == torch.arange(num_classes, device=labels.device)).float()
"""),
    dict(item="one_hot", name="classes_from_max_label", expect="shape", code="""
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    return torch.eye(int(labels.max()) + 1, device=labels.device)[labels]
"""),
    dict(item="one_hot", name="int64_result", expect="dtype", code="""
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    return (labels[:, None] == torch.arange(num_classes, device=labels.device)).long()
"""),
    # to_numpy
    dict(item="to_numpy", name="numpy_without_detach", expect="detach", code="""
def to_numpy(t):
    return t.cpu().numpy()
"""),
    dict(item="to_numpy", name="numpy_without_cpu", expect=".cpu()", code="""
def to_numpy(t):
    return t.detach().numpy()
"""),
    dict(item="to_numpy", name="always_float64", expect="dtype", code="""
def to_numpy(t):
    return t.detach().cpu().numpy().astype("float64")
"""),
    # from_numpy_shared
    dict(item="from_numpy_shared", name="copies", expect="copy, not shared", code="""
def from_numpy_shared(a):
    return torch.tensor(a)
"""),
    dict(item="from_numpy_shared", name="float32_copy", expect="dtype", code="""
def from_numpy_shared(a):
    return torch.from_numpy(a).float()
"""),
    # attention_scores
    dict(item="attention_scores", name="missing_scale", expect="1/sqrt(d) scale", code="""
def attention_scores(q, k):
    return q @ k.transpose(-2, -1)
"""),
    dict(item="attention_scores", name="divided_by_d", expect="instead of sqrt(d)", code="""
def attention_scores(q, k):
    return q @ k.transpose(-2, -1) / q.shape[-1]
"""),
    dict(item="attention_scores", name="dot_T_on_batched", expect="transpose", code="""
def attention_scores(q, k):
    return q @ k.T / math.sqrt(q.shape[-1])
"""),
    dict(item="attention_scores", name="transpose_0_1_on_batched", expect="transpose(-2, -1)", code="""
def attention_scores(q, k):
    return q @ k.transpose(0, 1) / math.sqrt(q.shape[-1])
"""),
    dict(item="attention_scores", name="scale_on_cpu", expect="device", code="""
def attention_scores(q, k):
    return q @ k.transpose(-2, -1) / torch.tensor([q.shape[-1]], dtype=q.dtype).sqrt()
"""),
    # nhwc_to_nchw
    dict(item="nhwc_to_nchw", name="reshape_not_permute", expect="permute", code="""
def nhwc_to_nchw(x):
    n, h, w, c = x.shape
    return x.reshape(n, c, h, w)
"""),
    dict(item="nhwc_to_nchw", name="wrong_permute", expect="shape", code="""
def nhwc_to_nchw(x):
    return x.permute(0, 3, 2, 1).contiguous()
"""),
    dict(item="nhwc_to_nchw", name="not_contiguous", expect="contiguous", code="""
def nhwc_to_nchw(x):
    return x.permute(0, 3, 1, 2)
"""),
]
