"""04_optim: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one function on top of the reference solution; ``expect`` is a
phrase the failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # make_optimizer
    dict(item="make_optimizer", name="case_sensitive", expect="case-insensitively", code="""
def make_optimizer(name, params, lr):
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    if name not in optimizers:
        raise ValueError(f"unknown optimizer {name!r}: choose one of sgd, adam, rmsprop")
    return optimizers[name](params, lr=lr)
"""),
    dict(item="make_optimizer", name="adam_betas_changed", expect="PyTorch's default", code="""
def make_optimizer(name, params, lr):
    key = name.lower()
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if key == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError("choose one of sgd, adam, rmsprop")
"""),
    dict(item="make_optimizer", name="sgd_with_momentum", expect="momentum=0.9", code="""
def make_optimizer(name, params, lr):
    key = name.lower()
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if key == "adam":
        return torch.optim.Adam(params, lr=lr)
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError("choose one of sgd, adam, rmsprop")
"""),
    dict(item="make_optimizer", name="rmsprop_alpha_tensorflow", expect="alpha=0.9", code="""
def make_optimizer(name, params, lr):
    key = name.lower()
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if key == "adam":
        return torch.optim.Adam(params, lr=lr)
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9)
    raise ValueError("choose one of sgd, adam, rmsprop")
"""),
    dict(item="make_optimizer", name="adamw_for_adam", expect="expected a torch.optim.adam.Adam", code="""
def make_optimizer(name, params, lr):
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    if name.lower() not in optimizers:
        raise ValueError("choose one of sgd, adam, rmsprop")
    return optimizers[name.lower()](params, lr=lr)
"""),
    dict(item="make_optimizer", name="falls_back_to_sgd", expect="should raise ValueError", code="""
def make_optimizer(name, params, lr):
    optimizers = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    return optimizers.get(name.lower(), torch.optim.SGD)(params, lr=lr)
"""),
    dict(item="make_optimizer", name="substring_match", expect="should raise ValueError", code="""
def make_optimizer(name, params, lr):
    key = name.lower()
    if "rmsprop" in key:
        return torch.optim.RMSprop(params, lr=lr)
    if "adam" in key:
        return torch.optim.Adam(params, lr=lr)
    if "sgd" in key:
        return torch.optim.SGD(params, lr=lr)
    raise ValueError("choose one of sgd, adam, rmsprop")
"""),
    dict(item="make_optimizer", name="vague_error", expect="should name the allowed optimizers", code="""
def make_optimizer(name, params, lr):
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    if name.lower() not in optimizers:
        raise ValueError("unknown optimizer")
    return optimizers[name.lower()](params, lr=lr)
"""),
    dict(item="make_optimizer", name="fixed_lr", expect="pass lr=lr", code="""
def make_optimizer(name, params, lr):
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    if name.lower() not in optimizers:
        raise ValueError("choose one of sgd, adam, rmsprop")
    return optimizers[name.lower()](params, lr=0.01)
"""),
    dict(item="make_optimizer", name="consumes_generator", expect="one-shot generator", code="""
def make_optimizer(name, params, lr):
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    if name.lower() not in optimizers:
        raise ValueError("choose one of sgd, adam, rmsprop")
    print(f"optimizing {sum(p.numel() for p in params)} numbers")
    return optimizers[name.lower()](params, lr=lr)
"""),
    # fit_line
    dict(item="fit_line", name="no_zero_grad", expect="call optimizer.zero_grad() every step", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="loss_after_step", expect="record it before optimizer.step()", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        ((w * x - y) ** 2).mean().backward()
        optimizer.step()
        with torch.no_grad():
            losses.append(((w * x - y) ** 2).mean().item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="starts_at_zero", expect="w must start at 0.1", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.zeros((), requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="sum_not_mean", expect="not their sum", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="returns_tensors", expect="convert with .item()", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return w.detach(), losses
"""),
    dict(item="fit_line", name="ignores_lr_and_steps", expect="should return a list of", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=0.1)
    losses = []
    for _ in range(200):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="w_on_cpu", expect="same device", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = torch.full((1,), 0.1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    dict(item="fit_line", name="too_few_default_steps", expect="should return a list of 200", code="""
def fit_line(x, y, steps=20, lr=0.1):
    w = torch.tensor(0.1, requires_grad=True, device=x.device)
    optimizer = torch.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return w.item(), losses
"""),
    # train_epoch
    dict(item="train_epoch", name="no_zero_grad", expect="stale gradients", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""),
    dict(item="train_epoch", name="zero_grad_after_step", expect="stale gradients", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""),
    dict(item="train_epoch", name="no_train_mode", expect="model.train()", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""),
    dict(item="train_epoch", name="unweighted_mean", expect="weight each batch's loss by its size", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
"""),
    dict(item="train_epoch", name="last_batch_loss", expect="not the last batch's loss", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()
"""),
    dict(item="train_epoch", name="returns_tensor", expect="convert with .item()", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total = total + loss * len(x)
        count += len(x)
    return total / count
"""),
    dict(item="train_epoch", name="casts_to_float32", expect="float64", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model.float()(x.float()), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""),
    dict(item="train_epoch", name="batches_to_cpu", expect="same device", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.cpu(), y.cpu()
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
"""),
    # evaluate_accuracy
    dict(item="evaluate_accuracy", name="no_eval_mode", expect="eval mode", code="""
def evaluate_accuracy(model, loader):
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=-1) == y).sum().item()
            total += len(y)
    return correct / total
"""),
    dict(item="evaluate_accuracy", name="no_restore", expect="restore it with model.train(saved)", code="""
def evaluate_accuracy(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=-1) == y).sum().item()
            total += len(y)
    return correct / total
"""),
    dict(item="evaluate_accuracy", name="always_back_to_train", expect="restore it with model.train(saved)", code="""
def evaluate_accuracy(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=-1) == y).sum().item()
            total += len(y)
    model.train()
    return correct / total
"""),
    dict(item="evaluate_accuracy", name="builds_graph", expect="torch.no_grad()", code="""
def evaluate_accuracy(model, loader):
    was_training = model.training
    model.eval()
    correct, total = 0, 0
    for x, y in loader:
        correct += (model(x).argmax(dim=-1) == y).sum().item()
        total += len(y)
    model.train(was_training)
    return correct / total
"""),
    dict(item="evaluate_accuracy", name="mean_of_batch_accuracies", expect="per-batch accuracies", code="""
def evaluate_accuracy(model, loader):
    was_training = model.training
    model.eval()
    accuracies = []
    with torch.no_grad():
        for x, y in loader:
            accuracies.append((model(x).argmax(dim=-1) == y).float().mean().item())
    model.train(was_training)
    return sum(accuracies) / len(accuracies)
"""),
    dict(item="evaluate_accuracy", name="returns_tensor", expect="convert with .item()", code="""
def evaluate_accuracy(model, loader):
    was_training = model.training
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            correct = correct + (model(x).argmax(dim=-1) == y).sum()
            total += len(y)
    model.train(was_training)
    return correct / total
"""),
    dict(item="evaluate_accuracy", name="counter_on_cpu", expect="same device", code="""
def evaluate_accuracy(model, loader):
    was_training = model.training
    model.eval()
    correct, total = torch.zeros(1, dtype=torch.long), 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=-1) == y).sum()
            total += len(y)
    model.train(was_training)
    return correct.item() / total
"""),
    # fit_two_clusters
    dict(item="fit_two_clusters", name="too_few_steps", expect="accuracy", code="""
def fit_two_clusters(x, y, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    dict(item="fit_two_clusters", name="returned_in_train_mode", expect="call model.eval()", code="""
def fit_two_clusters(x, y, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.02)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model
"""),
    dict(item="fit_two_clusters", name="unseeded", expect="seed the initialisation", code="""
def fit_two_clusters(x, y, seed=0):
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.02)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    dict(item="fit_two_clusters", name="softmax_output", expect="raw logits", code="""
def fit_two_clusters(x, y, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2), nn.Softmax(dim=1))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.02)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.nll_loss(torch.log(model(x)), y).backward()
        optimizer.step()
    return model.eval()
"""),
    dict(item="fit_two_clusters", name="normalises_x_in_place", expect="in place", code="""
def fit_two_clusters(x, y, seed=0):
    x -= 0.5
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.02)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    dict(item="fit_two_clusters", name="unregistered_standardisation", expect="register_buffer", code="""
class _Standardised(nn.Module):
    def __init__(self, net, mean, std):
        super().__init__()
        self.net, self.mean, self.std = net, mean, std

    def forward(self, inputs):
        return self.net((inputs - self.mean) / self.std)


def fit_two_clusters(x, y, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    model = _Standardised(net, x.mean(0), x.std(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    dict(item="fit_two_clusters", name="too_slow", expect="timed out", code="""
def fit_two_clusters(x, y, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 2))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.02)
    for _ in range(20000):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    # MomentumSGD
    dict(item="MomentumSGD", name="wraps_torch_sgd", expect="banned torch.optim.SGD", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        self.inner = torch.optim.SGD(self.param_groups, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def step(self, closure=None):
        return self.inner.step(closure)
"""),
    dict(item="MomentumSGD", name="subclasses_torch_sgd", expect="banned torch.optim.SGD", code="""
from torch.optim import SGD as _StockSGD

class MomentumSGD(_StockSGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
"""),
    dict(item="MomentumSGD", name="functional_sgd_alias", expect="banned torch.optim._functional.sgd", code="""
from torch.optim import _functional as _optim_functional
_sgd_update = _optim_functional.sgd

class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            buffers = [self.state[p].get("momentum_buffer") for p in params]
            _sgd_update(params, [p.grad for p in params], buffers, weight_decay=group["weight_decay"],
                        momentum=group["momentum"], lr=group["lr"], dampening=0.0, nesterov=False, maximize=False)
            for p, buf in zip(params, buffers):
                if buf is not None:
                    self.state[p]["momentum_buffer"] = buf
        return loss
"""),
    dict(item="MomentumSGD", name="sgd_step_unbound", expect="banned torch.optim.SGD", code="""
class MomentumSGD(torch.optim.Optimizer):
    _init_group = torch.optim.SGD._init_group

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "dampening": 0, "nesterov": False, "maximize": False, "foreach": None,
                                  "differentiable": False, "fused": None})

    def step(self, closure=None):
        return torch.optim.SGD.step(self, closure)
"""),
    dict(item="MomentumSGD", name="global_options", expect="read them from the group", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + self.weight_decay * p
                if self.momentum:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else self.momentum * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(self.lr * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="dampening", expect="no dampening", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + (1 - m) * d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="decay_after_momentum", expect="before it enters the momentum buffer", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * (d_p + group["weight_decay"] * p))
        return loss
"""),
    dict(item="MomentumSGD", name="buffer_not_kept", expect="must persist across steps", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = torch.zeros_like(p)
                buf = group["momentum"] * buf + p.grad + group["weight_decay"] * p
                p.sub_(group["lr"] * buf)
        return loss
"""),
    dict(item="MomentumSGD", name="nesterov", expect="not nesterov", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = d_p + m * state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="crashes_on_none_grad", expect="skip parameters whose .grad is None", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                d_p = p.grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="none_grad_as_zero", expect="skipped entirely", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                grad = p.grad if p.grad is not None else torch.zeros_like(p)
                d_p = grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="closure_loss_dropped", expect="return the loss the closure returned", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            with torch.enable_grad():
                closure()
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
"""),
    dict(item="MomentumSGD", name="closure_under_no_grad", expect="enable_grad", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + group["weight_decay"] * p
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="update_recorded_by_autograd", expect="torch.no_grad()", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            m = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad + group["weight_decay"] * p.detach()
                if m:
                    state = self.state[p]
                    state["buf"] = d_p.clone() if "buf" not in state else m * state["buf"] + d_p
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="buffer_on_cpu", expect="zeros_like", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "buf" not in state:
                    state["buf"] = torch.zeros(p.shape, dtype=p.dtype)
                d_p = p.grad + group["weight_decay"] * p
                if group["momentum"]:
                    state["buf"].mul_(group["momentum"]).add_(d_p)
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
    dict(item="MomentumSGD", name="buffer_float32", expect="differs from the reference", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "buf" not in state:
                    state["buf"] = torch.zeros(p.shape, device=p.device)
                d_p = p.grad + group["weight_decay"] * p
                if group["momentum"]:
                    state["buf"].mul_(group["momentum"]).add_(d_p)
                    d_p = state["buf"]
                p.sub_(group["lr"] * d_p)
        return loss
"""),
]
