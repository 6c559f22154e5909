"""01_tensors: other correct ways to write each item; each must keep full marks. Instructor-only."""
ALTERNATIVES = [
    dict(item="pairwise_sq_dists", name="clamped_expansion", code="""
def pairwise_sq_dists(x, y):
    y = y.to(x.dtype)
    return ((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T).clamp_min(0)
"""),
    dict(item="pairwise_sq_dists", name="cdist_squared", code="""
def pairwise_sq_dists(x, y):
    return torch.cdist(x, y.to(x.dtype)) ** 2
"""),
    dict(item="pairwise_sq_dists", name="einsum", code="""
def pairwise_sq_dists(x, y):
    diff = x[:, None, :] - y[None, :, :]
    return torch.einsum("nmd,nmd->nm", diff, diff)
"""),
    dict(item="pairwise_sq_dists", name="addmm", code="""
def pairwise_sq_dists(x, y):
    xx, yy = x.pow(2).sum(1, keepdim=True), y.pow(2).sum(1)
    return torch.addmm(xx + yy, x, y.t(), alpha=-2).clamp(min=0)
"""),
    dict(item="normalize_rows", name="functional_normalize", code="""
def normalize_rows(x, eps=1e-12):
    return torch.nn.functional.normalize(x, p=2.0, dim=1, eps=eps)
"""),
    dict(item="normalize_rows", name="vector_norm_maximum", code="""
def normalize_rows(x, eps=1e-12):
    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return x / torch.maximum(norms, torch.tensor(eps, dtype=x.dtype, device=x.device))
"""),
    dict(item="one_hot", name="comparison", code="""
def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    return (labels[:, None] == torch.arange(num_classes, device=labels.device)).float()
"""),
    dict(item="one_hot", name="eye_rows", code="""
def one_hot(labels, num_classes):
    if ((labels < 0) | (labels >= num_classes)).any():
        raise ValueError(f"labels must lie in [0, {num_classes})")
    return torch.eye(num_classes, device=labels.device)[labels]
"""),
    dict(item="to_numpy", name="force", code="""
def to_numpy(t):
    return t.numpy(force=True)
"""),
    dict(item="from_numpy_shared", name="as_tensor", code="""
def from_numpy_shared(a):
    return torch.as_tensor(a)
"""),
    dict(item="attention_scores", name="einsum", code="""
def attention_scores(q, k):
    return torch.einsum("...nd,...md->...nm", q, k) / math.sqrt(q.shape[-1])
"""),
    dict(item="attention_scores", name="mT", code="""
def attention_scores(q, k):
    return (q @ k.mT) * q.shape[-1] ** -0.5
"""),
    dict(item="nhwc_to_nchw", name="movedim", code="""
def nhwc_to_nchw(x):
    return x.movedim(-1, 1).contiguous()
"""),
    dict(item="nhwc_to_nchw", name="einsum", code="""
def nhwc_to_nchw(x):
    return torch.einsum("nhwc->nchw", x).contiguous()
"""),
]
