"""02_autograd: other correct ways to write an item, each of which must keep full marks. Instructor-only.

Each alternative redefines one item on top of the reference solution.
"""
ALTERNATIVES = [
    # poly_grads
    dict(item="poly_grads", name="autograd_grad_float32", code="""
def poly_grads(x, y):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    gx, gy = torch.autograd.grad(xt ** 2 * yt + xt * yt, (xt, yt))
    return float(gx), float(gy)
"""),
    dict(item="poly_grads", name="func_grad", code="""
def poly_grads(x, y):
    dz = torch.func.grad(lambda a, b: a ** 2 * b + a * b, argnums=(0, 1))
    gx, gy = dz(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))
    return gx.item(), gy.item()
"""),
    dict(item="poly_grads", name="one_leaf_vector", code="""
def poly_grads(x, y):
    p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
    z = p[0] ** 2 * p[1] + p[0] * p[1]
    z.backward()
    dx, dy = p.grad.tolist()
    return dx, dy
"""),
    # grad
    dict(item="grad", name="backward_on_detached_clone", code="""
def grad(f, x):
    leaf = x.detach().clone().requires_grad_(True)
    out = f(leaf)
    if out.numel() != 1:
        raise ValueError("f(x) must return a single element")
    out.backward()
    return leaf.grad
"""),
    dict(item="grad", name="reshape_and_autograd_grad", code="""
def grad(f, x):
    with torch.enable_grad():
        leaf = x.detach().requires_grad_()
        out = f(leaf).reshape(-1)
        if out.shape != (1,):
            raise ValueError(f"expected one element, got {out.numel()}")
        return torch.autograd.grad(out[0], [leaf])[0].detach()
"""),
    dict(item="grad", name="functional_vjp", code="""
def grad(f, x):
    out = f(x.detach())
    if out.numel() != 1:
        raise ValueError("f(x) has more than one element")
    return torch.autograd.functional.vjp(f, x.detach(), torch.ones_like(out))[1]
"""),
    # vjp
    dict(item="vjp", name="functional_vjp", code="""
def vjp(f, x, v):
    return torch.autograd.functional.vjp(f, x.detach(), v)[1]
"""),
    dict(item="vjp", name="backward_weighted_sum", code="""
def vjp(f, x, v):
    leaf = x.detach().clone().requires_grad_(True)
    (f(leaf) * v).sum().backward()
    return leaf.grad
"""),
    dict(item="vjp", name="backward_with_gradient", code="""
def vjp(f, x, v):
    leaf = x.detach().requires_grad_(True)
    f(leaf).backward(gradient=v)
    return leaf.grad
"""),
    # sum_of_grads
    dict(item="sum_of_grads", name="autograd_grad_of_sum", code="""
def sum_of_grads(w, loss_fns):
    total = sum(loss_fn(w) for loss_fn in loss_fns)
    (g,) = torch.autograd.grad(total, w)
    w.grad = None
    return g
"""),
    dict(item="sum_of_grads", name="entry_grad_subtracted", code="""
def sum_of_grads(w, loss_fns):
    before = torch.zeros_like(w) if w.grad is None else w.grad.clone()
    for loss_fn in loss_fns:
        loss_fn(w).backward()
    total = w.grad - before
    w.grad = None
    return total
"""),
    dict(item="sum_of_grads", name="sum_of_separate_grads", code="""
def sum_of_grads(w, loss_fns):
    grads = [torch.autograd.grad(loss_fn(w), w)[0] for loss_fn in loss_fns]
    w.grad = None
    return torch.stack(grads).sum(0)
"""),
    # stop_gradient_mse
    dict(item="stop_gradient_mse", name="functional_mse_loss", code="""
def stop_gradient_mse(pred, target):
    return torch.nn.functional.mse_loss(pred, target.detach())
"""),
    dict(item="stop_gradient_mse", name="no_grad_copy", code="""
def stop_gradient_mse(pred, target):
    with torch.no_grad():
        constant = target.clone()
    diff = pred - constant
    return (diff * diff).sum() / diff.numel()
"""),
    # StableSoftplus
    dict(item="StableSoftplus", name="logaddexp", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.logaddexp(x, torch.zeros_like(x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="threshold_like_pytorch", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 20, x, torch.log1p(torch.exp(x.clamp(max=20))))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 + torch.exp(-x))
"""),
    dict(item="StableSoftplus", name="saves_output", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out * -torch.expm1(-out)   # sigmoid(x) = 1 - exp(-softplus(x))
"""),
    dict(item="StableSoftplus", name="log_not_log1p", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.maximum(x, torch.zeros_like(x)) + torch.log(1 + torch.exp(-torch.abs(x)))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))
"""),
    # numerical_grad
    dict(item="numerical_grad", name="basis_vectors", code="""
def numerical_grad(f, x, eps=1e-6):
    out = torch.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = torch.zeros_like(x)
        step[index] = eps
        out[index] = (f(x + step) - f(x - step)).item() / (2 * eps)
    return out
"""),
    dict(item="numerical_grad", name="clone_per_side", code="""
def numerical_grad(f, x, eps=1e-6):
    base = x.detach()
    grads = []
    with torch.no_grad():
        for i in range(base.numel()):
            plus, minus = base.clone().reshape(-1), base.clone().reshape(-1)
            plus[i] += eps
            minus[i] -= eps
            grads.append((float(f(plus.reshape(base.shape))) - float(f(minus.reshape(base.shape)))) / (2 * eps))
    return torch.tensor(grads, dtype=x.dtype, device=x.device).reshape(x.shape)
"""),
    dict(item="numerical_grad", name="restore_from_saved_tensor_value", code="""
def numerical_grad(f, x, eps=1e-6):
    work = x.clone()
    out = torch.empty_like(work)
    for index in np.ndindex(*work.shape):
        saved = work[index].clone()
        work[index] = saved + eps
        f_plus = f(work)
        work[index] = saved - eps
        f_minus = f(work)
        work[index] = saved
        out[index] = (f_plus - f_minus).reshape(()) / (2 * eps)
    return out
"""),
]
