"""04_optim: other correct ways to write each item; each must keep full marks. Instructor-only."""
ALTERNATIVES = [
    # make_optimizer
    dict(item="make_optimizer", name="getattr_casefold", code="""
def make_optimizer(name, params, lr):
    class_names = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
    if not isinstance(name, str) or name.casefold() not in class_names:
        raise ValueError(f"{name!r} is not one of {sorted(class_names)}")
    return getattr(torch.optim, class_names[name.casefold()])(params, lr)
"""),
    dict(item="make_optimizer", name="if_chain_list_params", code="""
def make_optimizer(name, params, lr):
    params = list(params)
    lowered = name.lower()
    if lowered == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.0)
    elif lowered == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    elif lowered == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=False)
    raise ValueError("Unknown optimizer; expected 'SGD', 'Adam' or 'RMSprop', got " + repr(name))
"""),
    # fit_line
    dict(item="fit_line", name="linear_module_mse_loss", code="""
def fit_line(x, y, steps=200, lr=0.1):
    model = nn.Linear(1, 1, bias=False).to(x.device, x.dtype)
    with torch.no_grad():
        model.weight.fill_(0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    inputs, targets = x.reshape(-1, 1), y.reshape(-1, 1)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        losses.append(float(loss))
        optimizer.step()
    return model.weight.item(), losses
"""),
    dict(item="fit_line", name="parameter_functional_mse", code="""
def fit_line(x, y, steps=200, lr=0.1):
    w = nn.Parameter(torch.full((1,), 0.1, device=x.device))
    optimizer = torch.optim.SGD([w], lr)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(w * x, y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return float(w.detach().cpu()[0]), losses
"""),
    # train_epoch
    dict(item="train_epoch", name="tensor_total_dataset_size", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train(True)
    total = 0.0
    for inputs, targets in loader:
        prediction = model(inputs)
        loss = loss_fn(prediction, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total = total + loss.detach() * targets.shape[0]
    return (total / len(loader.dataset)).item()
"""),
    dict(item="train_epoch", name="model_zero_grad_set_to_none", code="""
def train_epoch(model, loader, loss_fn, optimizer):
    model.train()
    weighted, seen = [], 0
    for batch in loader:
        x, y = batch
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        weighted.append(loss.item() * x.size(0))
        seen += x.size(0)
    return float(sum(weighted) / seen)
"""),
    # evaluate_accuracy
    dict(item="evaluate_accuracy", name="inference_mode_concatenated", code="""
def evaluate_accuracy(model, loader):
    mode = model.training
    model.eval()
    hits = []
    try:
        for x, y in loader:
            with torch.inference_mode():
                predicted = model(x).argmax(-1)
            hits.append((predicted == y).reshape(-1))
    finally:
        model.train(mode)
    return torch.cat(hits).float().mean().item()
"""),
    dict(item="evaluate_accuracy", name="set_grad_enabled_dataset_size", code="""
def evaluate_accuracy(model, loader):
    was_training = model.training
    model.train(False)
    correct = 0
    with torch.set_grad_enabled(False):
        for x, y in loader:
            predicted = torch.max(model(x), dim=-1).indices
            correct += int(predicted.eq(y).sum())
    model.train(was_training)
    return correct / len(loader.dataset)
"""),
    # fit_two_clusters
    dict(item="fit_two_clusters", name="adam_minibatches_generator", code="""
def fit_two_clusters(x, y, seed=0):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=generator)
    for _ in range(15):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb - 0.5), yb).backward()
            optimizer.step()
    model.eval()

    class Shifted(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, inputs):
            return self.net(inputs - 0.5)

    return Shifted(model).eval()
"""),
    dict(item="fit_two_clusters", name="logistic_regression_sgd", code="""
def fit_two_clusters(x, y, seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(150):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    return model.eval()
"""),
    # MomentumSGD
    dict(item="MomentumSGD", name="zero_buffer_plain_ops", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                update = p.grad + group["weight_decay"] * p
                if group["momentum"] > 0:
                    state = self.state[p]
                    if "step" not in state:
                        state["step"] = 0
                        state["velocity"] = torch.zeros_like(p)
                        state["velocity"].copy_(update)
                    else:
                        state["velocity"] = group["momentum"] * state["velocity"] + update
                    state["step"] += 1
                    update = state["velocity"]
                p -= group["lr"] * update
        return loss
"""),
    dict(item="MomentumSGD", name="data_attribute_own_dict", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd:
                    g = g.add(p.data, alpha=wd)
                if mu:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    buf = g.clone() if buf is None else buf.mul(mu).add(g)
                    state["momentum_buffer"] = buf
                    g = buf
                p.data.add_(g, alpha=-lr)
        return loss
"""),
    dict(item="MomentumSGD", name="foreach_ops_per_group", code="""
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = list(torch._foreach_add(grads, params, alpha=group["weight_decay"]))
            if group["momentum"]:
                for i, p in enumerate(params):
                    state = self.state[p]
                    if "momentum_buffer" in state:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(grads[i])
                    else:
                        state["momentum_buffer"] = grads[i].clone()
                    grads[i] = state["momentum_buffer"]
            torch._foreach_add_(params, grads, alpha=-group["lr"])
        return loss
"""),
]
