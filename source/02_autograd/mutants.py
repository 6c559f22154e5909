"""02_autograd: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one function on top of the reference solution; ``expect`` is a
phrase the failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # poly_grads
    dict(item="poly_grads", name="by_hand", expect="no torch call", code="""
def poly_grads(x, y):
    return 2 * x * y + y, x * x + x
"""),
    dict(item="poly_grads", name="swapped", expect="swapped", code="""
def poly_grads(x, y):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    (xt ** 2 * yt + xt * yt).backward()
    return yt.grad.item(), xt.grad.item()
"""),
    dict(item="poly_grads", name="returns_tensors", expect="python floats", code="""
def poly_grads(x, y):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    (xt ** 2 * yt + xt * yt).backward()
    return xt.grad, yt.grad
"""),
    dict(item="poly_grads", name="global_leaves_accumulate", expect="accumulate across calls", code="""
_X = torch.zeros((), dtype=torch.float64, requires_grad=True)
_Y = torch.zeros((), dtype=torch.float64, requires_grad=True)
def poly_grads(x, y):
    with torch.no_grad():
        _X.fill_(x)
        _Y.fill_(y)
    (_X ** 2 * _Y + _X * _Y).backward()
    return _X.grad.item(), _Y.grad.item()
"""),
    dict(item="poly_grads", name="item_cuts_graph", expect="cut from the graph", code="""
def poly_grads(x, y):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    z = xt.item() ** 2 * yt + xt * yt
    z.backward()
    return xt.grad.item(), yt.grad.item()
"""),
    # grad
    dict(item="grad", name="requires_grad_on_x", expect="requires_grad", code="""
def grad(f, x):
    x.requires_grad_(True)
    out = f(x)
    if out.numel() != 1:
        raise ValueError("f(x) must have one element")
    return torch.autograd.grad(out, x)[0]
"""),
    dict(item="grad", name="backward_into_x_grad", expect="x.grad", code="""
def grad(f, x):
    x.requires_grad_(True)
    out = f(x)
    if out.numel() != 1:
        raise ValueError("f(x) must have one element")
    out.backward()
    g = x.grad.clone()
    x.requires_grad_(False)
    return g
"""),
    dict(item="grad", name="no_value_error", expect="should raise valueerror", code="""
def grad(f, x):
    xc = x.detach().requires_grad_(True)
    return torch.autograd.grad(f(xc), xc)[0]
"""),
    dict(item="grad", name="checks_dim_not_numel", expect="numel", code="""
def grad(f, x):
    xc = x.detach().requires_grad_(True)
    out = f(xc)
    if out.dim() != 0:
        raise ValueError("f(x) must be a scalar")
    return torch.autograd.grad(out, xc)[0]
"""),
    dict(item="grad", name="create_graph", expect="requires grad", code="""
def grad(f, x):
    xc = x.detach().requires_grad_(True)
    out = f(xc)
    if out.numel() != 1:
        raise ValueError("f(x) must have one element")
    return torch.autograd.grad(out, xc, create_graph=True)[0]
"""),
    dict(item="grad", name="detached_input", expect="graph is broken", code="""
def grad(f, x):
    xc = x.detach().requires_grad_(True)
    out = f(xc.detach())
    if out.numel() != 1:
        raise ValueError("f(x) must have one element")
    return torch.autograd.grad(out, xc)[0]
"""),
    dict(item="grad", name="cast_to_float32", expect="dtype", code="""
def grad(f, x):
    xc = x.detach().float().requires_grad_(True)
    out = f(xc)
    if out.numel() != 1:
        raise ValueError("f(x) must have one element")
    return torch.autograd.grad(out, xc)[0]
"""),
    # vjp
    dict(item="vjp", name="ignores_v", expect="v is ignored", code="""
def vjp(f, x, v):
    xc = x.detach().requires_grad_(True)
    return torch.autograd.grad(f(xc).sum(), xc)[0]
"""),
    dict(item="vjp", name="jvp_instead", expect="J v", code="""
def vjp(f, x, v):
    return torch.autograd.functional.jvp(f, x, v)[1]
"""),
    dict(item="vjp", name="backward_on_x", expect="x.grad", code="""
def vjp(f, x, v):
    was = x.requires_grad
    x.requires_grad_(True)
    f(x).backward(v)
    g = x.grad.clone()
    x.requires_grad_(was)
    return g
"""),
    dict(item="vjp", name="cast_to_float32", expect="dtype", code="""
def vjp(f, x, v):
    xc = x.detach().float().requires_grad_(True)
    return torch.autograd.grad(f(xc), xc, v.float())[0]
"""),
    dict(item="vjp", name="ones_on_cpu", expect="device", code="""
def vjp(f, x, v):
    xc = x.detach().requires_grad_(True)
    out = f(xc)
    return torch.autograd.grad(out * v, xc, torch.ones(out.shape, dtype=out.dtype))[0]
"""),
    # sum_of_grads
    dict(item="sum_of_grads", name="keeps_entry_grad", expect="held on entry", code="""
def sum_of_grads(w, loss_fns):
    for loss_fn in loss_fns:
        loss_fn(w).backward()
    total = w.grad.clone()
    w.grad = None
    return total
"""),
    dict(item="sum_of_grads", name="leaves_grad", expect="w.grad is not none", code="""
def sum_of_grads(w, loss_fns):
    w.grad = None
    for loss_fn in loss_fns:
        loss_fn(w).backward()
    return w.grad.clone()
"""),
    dict(item="sum_of_grads", name="zeroes_instead_of_none", expect="w.grad = none", code="""
def sum_of_grads(w, loss_fns):
    w.grad = None
    for loss_fn in loss_fns:
        loss_fn(w).backward()
    total = w.grad.clone()
    w.grad.zero_()
    return total
"""),
    dict(item="sum_of_grads", name="alias_then_zeroed", expect="return a copy", code="""
def sum_of_grads(w, loss_fns):
    w.grad = None
    for loss_fn in loss_fns:
        loss_fn(w).backward()
    total = w.grad
    w.grad.zero_()
    w.grad = None
    return total
"""),
    dict(item="sum_of_grads", name="reset_between_losses", expect="last loss only", code="""
def sum_of_grads(w, loss_fns):
    for loss_fn in loss_fns:
        w.grad = None
        loss_fn(w).backward()
    total = w.grad.clone()
    w.grad = None
    return total
"""),
    # stop_gradient_mse
    dict(item="stop_gradient_mse", name="no_detach", expect="flows into target", code="""
def stop_gradient_mse(pred, target):
    return ((pred - target) ** 2).mean()
"""),
    dict(item="stop_gradient_mse", name="detach_in_place", expect="in place", code="""
def stop_gradient_mse(pred, target):
    target.detach_()
    return ((pred - target) ** 2).mean()
"""),
    dict(item="stop_gradient_mse", name="requires_grad_false", expect="in place", code="""
def stop_gradient_mse(pred, target):
    if target.is_leaf:
        target.requires_grad_(False)
    return ((pred - target.detach()) ** 2).mean()
"""),
    dict(item="stop_gradient_mse", name="no_grad_everywhere", expect="graph is broken", code="""
def stop_gradient_mse(pred, target):
    with torch.no_grad():
        return ((pred - target) ** 2).mean()
"""),
    dict(item="stop_gradient_mse", name="detaches_pred", expect="graph is broken", code="""
def stop_gradient_mse(pred, target):
    return ((pred.detach() - target.detach()) ** 2).mean()
"""),
    dict(item="stop_gradient_mse", name="sum_not_mean", expect="not their mean", code="""
def stop_gradient_mse(pred, target):
    return ((pred - target.detach()) ** 2).sum()
"""),
    dict(item="stop_gradient_mse", name="returns_float", expect="should be a torch.tensor", code="""
def stop_gradient_mse(pred, target):
    return ((pred - target.detach()) ** 2).mean().item()
"""),
    # StableSoftplus
    dict(item="StableSoftplus", name="naive_log_exp", expect="overflow", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log(1 + torch.exp(x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="log1p_exp_only", expect="overflow", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log1p(torch.exp(x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="stable_for_positive_only", expect="overflow", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x + torch.log1p(torch.exp(-x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="clamped_exponent", expect="differs from the reference", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log1p(torch.exp(x.clamp(max=20.0)))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="naive_sigmoid_backward", expect="overflows in backward", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp_min(0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.exp(x) / (1 + torch.exp(x))
"""),
    dict(item="StableSoftplus", name="backward_ignores_grad_out", expect="ignores grad_out", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp_min(0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="backward_wrong_sign", expect="gradcheck fails", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp_min(0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(-x)
"""),
    dict(item="StableSoftplus", name="saved_as_attribute", expect="save_for_backward", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x.clamp_min(0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * torch.sigmoid(ctx.x)
"""),
    dict(item="StableSoftplus", name="softplus_bypasses_class", expect="StableSoftplus.apply", code="""
def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))
"""),
    dict(item="StableSoftplus", name="zeros_on_cpu", expect="device", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.maximum(x, torch.zeros(x.shape, dtype=x.dtype)) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="computes_in_float32", expect="dtype", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        x = x.float()
        return x.clamp_min(0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="banned_functional", expect="banned torch.nn.functional.softplus", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.nn.functional.softplus(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="banned_c_alias", expect="banned torch.nn.functional.softplus", code="""
from torch._C._nn import softplus as _softplus
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _softplus(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="banned_module", expect="banned torch.nn.functional.softplus", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.nn.Softplus()(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    dict(item="StableSoftplus", name="banned_aten_op", expect="banned torch.ops.aten.softplus", code="""
class StableSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.ops.aten.softplus(x, 1, 20)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(x)
"""),
    # numerical_grad
    dict(item="numerical_grad", name="one_sided", expect="one-sided", code="""
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    out = torch.empty_like(flat)
    with torch.no_grad():
        f0 = f(flat.view(x.shape)).item()
        for i in range(flat.numel()):
            saved = flat[i].item()
            flat[i] = saved + eps
            out[i] = (f(flat.view(x.shape)).item() - f0) / eps
            flat[i] = saved
    return out.view(x.shape)
"""),
    dict(item="numerical_grad", name="perturbs_x_in_place", expect="changed x", code="""
def numerical_grad(f, x, eps=1e-6):
    out = torch.empty_like(x)
    with torch.no_grad():
        for index in np.ndindex(*x.shape):
            x[index] += eps
            f_plus = f(x).item()
            x[index] -= 2 * eps
            f_minus = f(x).item()
            x[index] += eps
            out[index] = (f_plus - f_minus) / (2 * eps)
    return out
"""),
    dict(item="numerical_grad", name="uses_autograd", expect="exact gradient", code="""
def numerical_grad(f, x, eps=1e-6):
    xc = x.detach().requires_grad_(True)
    return torch.autograd.grad(f(xc), xc)[0]
"""),
    dict(item="numerical_grad", name="ignores_eps", expect="with the eps given", code="""
def numerical_grad(f, x, eps=1e-6):
    h = 1e-6
    flat = x.detach().reshape(-1).clone()
    out = torch.empty_like(flat)
    with torch.no_grad():
        for i in range(flat.numel()):
            saved = flat[i].item()
            flat[i] = saved + h
            f_plus = f(flat.view(x.shape)).item()
            flat[i] = saved - h
            f_minus = f(flat.view(x.shape)).item()
            flat[i] = saved
            out[i] = (f_plus - f_minus) / (2 * h)
    return out.view(x.shape)
"""),
    dict(item="numerical_grad", name="divides_by_eps", expect="constant factor of 2", code="""
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    out = torch.empty_like(flat)
    with torch.no_grad():
        for i in range(flat.numel()):
            saved = flat[i].item()
            flat[i] = saved + eps
            f_plus = f(flat.view(x.shape)).item()
            flat[i] = saved - eps
            f_minus = f(flat.view(x.shape)).item()
            flat[i] = saved
            out[i] = (f_plus - f_minus) / eps
    return out.view(x.shape)
"""),
    dict(item="numerical_grad", name="float32_result", expect="dtype", code="""
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    out = torch.zeros(flat.numel(), device=x.device)
    with torch.no_grad():
        for i in range(flat.numel()):
            saved = flat[i].item()
            flat[i] = saved + eps
            f_plus = f(flat.view(x.shape)).item()
            flat[i] = saved - eps
            f_minus = f(flat.view(x.shape)).item()
            flat[i] = saved
            out[i] = (f_plus - f_minus) / (2 * eps)
    return out.view(x.shape)
"""),
    dict(item="numerical_grad", name="result_on_cpu", expect="device", code="""
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    out = torch.zeros(flat.numel(), dtype=x.dtype)
    with torch.no_grad():
        for i in range(flat.numel()):
            saved = flat[i].item()
            flat[i] = saved + eps
            f_plus = f(flat.view(x.shape)).item()
            flat[i] = saved - eps
            f_minus = f(flat.view(x.shape)).item()
            flat[i] = saved
            out[i] = (f_plus - f_minus) / (2 * eps)
    return out.view(x.shape)
"""),
]
