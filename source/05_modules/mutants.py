"""05_modules: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one class or function on top of the reference solution; ``expect`` is a
phrase the failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # TwoLayerNet
    dict(item="TwoLayerNet", name="no_relu", expect="relu between linear1 and linear2 is missing", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(self.linear1(x))
"""),
    dict(item="TwoLayerNet", name="relu_after_output", expect="relu after linear2", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return torch.relu(self.linear2(torch.relu(self.linear1(x))))
"""),
    dict(item="TwoLayerNet", name="other_names", expect="named linear1 and linear2", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""),
    dict(item="TwoLayerNet", name="layers_in_plain_list", expect="nn.ModuleList", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.layers = [nn.Linear(d_in, hidden), nn.Linear(hidden, d_out)]

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x)))
"""),
    dict(item="TwoLayerNet", name="no_super_init", expect="super().__init__()", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(torch.relu(self.linear1(x)))
"""),
    dict(item="TwoLayerNet", name="hidden_without_bias", expect="no parameter linear1.bias", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden, bias=False)
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(torch.relu(self.linear1(x)))
"""),
    # MLP
    dict(item="MLP", name="layers_in_plain_list", expect="nn.ModuleList", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("need at least two sizes")
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
"""),
    dict(item="MLP", name="layers_in_plain_dict", expect="not registered", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("need at least two sizes")
        self.layers = {f"fc{i}": nn.Linear(a, b) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))}

    def forward(self, x):
        layers = list(self.layers.values())
        for layer in layers[:-1]:
            x = torch.relu(layer(x))
        return layers[-1](x)
"""),
    dict(item="MLP", name="relu_after_last", expect="relu after the last layer", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("need at least two sizes")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
"""),
    dict(item="MLP", name="no_relu", expect="no relu between the layers", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("need at least two sizes")
        self.layers = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))

    def forward(self, x):
        return self.layers(x)
"""),
    dict(item="MLP", name="no_validation", expect="should raise valueerror", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
"""),
    dict(item="MLP", name="last_layer_dropped", expect="linear layers", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("need at least two sizes")
        self.layers = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(max(1, len(sizes) - 2)))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
"""),
    # Residual
    dict(item="Residual", name="no_skip", expect="fn(x) alone", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)
"""),
    dict(item="Residual", name="in_place_add", expect="in place", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        x += self.fn(x)
        return x
"""),
    dict(item="Residual", name="deep_copy_of_fn", expect="copy of fn", code="""
import copy

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = copy.deepcopy(fn)

    def forward(self, x):
        return x + self.fn(x)
"""),
    dict(item="Residual", name="fn_in_plain_list", expect="not registered", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fns = [fn]

    def forward(self, x):
        return x + self.fns[0](x)
"""),
    dict(item="Residual", name="detached_fn_input", expect="the gradient skips fn", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x.detach())
"""),
    # LayerNorm
    dict(item="LayerNorm", name="unbiased_variance", expect="unbiased variance", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="eps_outside_sqrt", expect="inside the square root", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        std = ((x - mean) ** 2).mean(dim=-1, keepdim=True).sqrt()
        return (x - mean) / (std + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="eps_ignored", expect="was ignored", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="no_eps", expect="eps=1e-5 is missing", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps * 1e-6) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="wrong_dim", expect="wrong dim", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=0, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="over_all_trailing_dims", expect="more than the last dim", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        dims = tuple(range(1, x.dim()))
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="plain_tensors", expect="nn.Parameter", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.ones(normalized_shape, requires_grad=True)
        self.bias = torch.zeros(normalized_shape, requires_grad=True)

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="detached_statistics", expect="detached statistics", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True).detach()
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True).detach()
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
"""),
    dict(item="LayerNorm", name="banned_functional", expect="banned torch.nn.functional.layer_norm", code="""
import torch.nn.functional as F

class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
"""),
    dict(item="LayerNorm", name="banned_torch_alias", expect="banned torch.layer_norm", code="""
_normalise = torch.layer_norm

class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        return _normalise(x, [x.shape[-1]], self.weight, self.bias, self.eps)
"""),
    dict(item="LayerNorm", name="banned_module", expect="banned torch.nn.functional.layer_norm", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.inner = nn.LayerNorm(normalized_shape, eps=eps)
        self.weight, self.bias = self.inner.weight, self.inner.bias

    def forward(self, x):
        return self.inner(x)
"""),
    # Dropout
    dict(item="Dropout", name="ignores_eval_mode", expect="self.training", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if self.p == 1.0:
            return x * 0.0
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="scales_by_keep_probability", expect="scaled by (1-p)", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        return x * (torch.rand_like(x) >= self.p) * (1.0 - self.p)
"""),
    dict(item="Dropout", name="unscaled", expect="not scaled", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        return x * (torch.rand_like(x) >= self.p)
"""),
    dict(item="Dropout", name="keeps_with_probability_p", expect="kept* with probability p", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x * (torch.rand_like(x) < self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="nan_for_p_one", expect="nan", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        return x * (torch.rand_like(x) >= self.p) / torch.tensor(1.0 - self.p, dtype=x.dtype)
"""),
    dict(item="Dropout", name="reseeds_every_call", expect="no reseeding", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        torch.manual_seed(0)
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="one_mask_for_all_rows", expect="same columns in every row", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = torch.rand(x.shape[-1], dtype=x.dtype, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)
"""),
    dict(item="Dropout", name="mask_on_cpu", expect="device=x.device", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x * (torch.rand(x.shape) >= self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="casts_to_float32", expect="dtype", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x.float() * (torch.rand(x.shape, device=x.device) >= self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="in_place", expect="in place", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x.mul_(torch.rand_like(x) >= self.p).div_(1.0 - self.p)
"""),
    dict(item="Dropout", name="no_validation", expect="should raise valueerror", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)
"""),
    dict(item="Dropout", name="banned_functional", expect="banned torch.nn.functional.dropout", code="""
import torch.nn.functional as F

class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)
"""),
    dict(item="Dropout", name="banned_torch_alias", expect="banned torch.dropout", code="""
from torch import dropout as _drop

class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        return _drop(x, self.p, self.training)
"""),
    dict(item="Dropout", name="banned_module", expect="banned torch.nn.functional.dropout", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.inner = nn.Dropout(p)

    def forward(self, x):
        return self.inner(x)
"""),
    dict(item="Dropout", name="banned_native", expect="banned torch.native_dropout", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        return torch.native_dropout(x, self.p, self.training)[0]
"""),
    # checkpoint
    dict(item="checkpoint", name="model_only", expect="optimizer", code="""
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]
"""),
    dict(item="checkpoint", name="optimizer_not_restored", expect="was not saved or not restored", code="""
def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]
"""),
    dict(item="checkpoint", name="new_optimizer_inside_load", expect="optimizer", code="""
def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer = type(optimizer)(model.parameters(), **optimizer.defaults)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
"""),
    dict(item="checkpoint", name="whole_objects_pickled", expect="weights_only=true", code="""
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"].state_dict())
    optimizer.load_state_dict(checkpoint["optimizer"].state_dict())
    return checkpoint["epoch"]
"""),
    dict(item="checkpoint", name="returns_next_epoch", expect="expected the saved epoch", code="""
def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"] + 1
"""),
    dict(item="checkpoint", name="epoch_as_tensor", expect="python int", code="""
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": torch.tensor(epoch)}, path)
"""),
    dict(item="checkpoint", name="fixed_file_name", expect="load_checkpoint read from it", code="""
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, "checkpoint.pt")


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load("checkpoint.pt", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
"""),
    dict(item="checkpoint", name="state_dict_by_reference", expect="live references", code="""
_saved = {}

def save_checkpoint(path, model, optimizer, epoch):
    _saved[path] = {"model": model.state_dict(keep_vars=True), "optimizer": optimizer.state_dict(), "epoch": epoch}
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = _saved[path]
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
"""),
]
