"""05_modules: other correct ways to write an item, each of which must keep full marks. Instructor-only."""
ALTERNATIVES = [
    # TwoLayerNet
    dict(item="TwoLayerNet", name="relu_submodule", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.act = nn.ReLU()
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(self.act(self.linear1(x)))
"""),
    dict(item="TwoLayerNet", name="clamp_and_old_style_super", code="""
class TwoLayerNet(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super(TwoLayerNet, self).__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(self.linear1(x).clamp(min=0))
"""),
    # MLP
    dict(item="MLP", name="sequential_with_relu_modules", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least two sizes")
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
"""),
    dict(item="MLP", name="add_module_by_name", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) <= 1:
            raise ValueError(f"need at least two sizes, got {len(sizes)}")
        self.depth = len(sizes) - 1
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            self.add_module(f"fc{i}", nn.Linear(a, b))

    def forward(self, x):
        for i in range(self.depth):
            x = getattr(self, f"fc{i}")(x)
            if i + 1 < self.depth:
                x = torch.relu(x)
        return x
"""),
    dict(item="MLP", name="module_dict", code="""
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("sizes must hold an input and an output size")
        pairs = zip(sizes[:-1], sizes[1:])
        self.layers = nn.ModuleDict({f"layer{i}": nn.Linear(a, b) for i, (a, b) in enumerate(pairs)})

    def forward(self, x):
        layers = list(self.layers.values())
        for i, layer in enumerate(layers):
            x = layer(x)
            if i < len(layers) - 1:
                x = x.relu()
        return x
"""),
    # Residual
    dict(item="Residual", name="add_module_and_torch_add", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.add_module("block", fn)

    def forward(self, x):
        return torch.add(self.block(x), x)
"""),
    dict(item="Residual", name="sequential_holder", code="""
class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.body = nn.Sequential(fn)

    def forward(self, x):
        out = self.body(x)
        return out + x
"""),
    # LayerNorm
    dict(item="LayerNorm", name="var_mean_rsqrt", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape = normalized_shape
        self.eps = eps
        self.register_parameter("weight", nn.Parameter(torch.ones(normalized_shape)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(normalized_shape)))

    def forward(self, x):
        var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
        return self.weight * (x - mean) * torch.rsqrt(var + self.eps) + self.bias
"""),
    dict(item="LayerNorm", name="second_moment_expansion", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones((normalized_shape,)))
        self.bias = nn.Parameter(torch.zeros((normalized_shape,)))

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = (x * x).mean(-1, keepdim=True) - mean * mean
        return torch.addcmul(self.bias, (x - mean) / (var + self.eps).sqrt(), self.weight)
"""),
    dict(item="LayerNorm", name="correction_zero", code="""
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))

    def forward(self, x):
        centred = x - x.mean(dim=-1, keepdim=True)
        std = torch.sqrt(x.var(dim=-1, keepdim=True, correction=0) + self.eps)
        return centred / std * self.weight + self.bias
"""),
    # Dropout
    dict(item="Dropout", name="bernoulli_mask", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"p={p} is not a probability")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x.clone()
        if self.p == 1.0:
            return torch.zeros_like(x)
        keep = torch.bernoulli(torch.full_like(x, 1.0 - self.p))
        return x * keep * (1.0 / (1.0 - self.p))
"""),
    dict(item="Dropout", name="uniform_where", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not (0 <= p <= 1):
            raise ValueError("p must be between 0 and 1")
        self.p = p

    def forward(self, x):
        if self.training and self.p > 0:
            dropped = x.new_empty(x.shape).uniform_() < self.p
            scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
            return torch.where(dropped, torch.zeros_like(x), x * scale)
        return x
"""),
    dict(item="Dropout", name="bernoulli_inplace_on_new_tensor", code="""
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("p out of range")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x.mul(0)
        mask = torch.empty_like(x).bernoulli_(1 - self.p)
        return x.masked_fill(mask == 0, 0.0) / (1 - self.p)
"""),
    # checkpoint
    dict(item="checkpoint", name="other_keys_and_map_location", code="""
def save_checkpoint(path, model, optimizer, epoch):
    state = {"epoch": int(epoch), "model_state_dict": model.state_dict(),
             "optimizer_state_dict": optimizer.state_dict()}
    torch.save(state, path)


def load_checkpoint(path, model, optimizer):
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(state["model_state_dict"])
    optimizer.load_state_dict(state["optimizer_state_dict"])
    return state["epoch"]
"""),
    dict(item="checkpoint", name="tuple_container_with_copies", code="""
import copy

def save_checkpoint(path, model, optimizer, epoch):
    torch.save((copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()), epoch), path)


def load_checkpoint(path, model, optimizer):
    model_state, optimizer_state, epoch = torch.load(path, weights_only=True)
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    return epoch
"""),
]
