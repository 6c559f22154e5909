"""06_data: other correct ways to write each item; each must keep full marks. Instructor-only."""
ALTERNATIVES = [
    # TwoClusters
    dict(item="TwoClusters", name="numpy_default_rng", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        rng = np.random.default_rng(seed)
        labels = np.repeat([0, 1], [n // 2, n - n // 2])
        points = np.array([[0.2, 0.2], [0.8, 0.8]])[labels] + rng.normal(0.0, std, size=(n, 2))
        self.x = torch.as_tensor(points, dtype=torch.float32)
        self.y = torch.as_tensor(labels, dtype=torch.int64)
    def __len__(self):
        return self.x.shape[0]
    def __getitem__(self, index):
        return self.x[index], self.y[index]
"""),
    dict(item="TwoClusters", name="fork_rng_per_cluster", code="""
class TwoClusters(torch.utils.data.Dataset):
    def __init__(self, n, seed=0, std=0.1):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            first = torch.randn(n // 2, 2) * std + 0.2
            second = torch.randn(n - n // 2, 2) * std + 0.8
        self.points = torch.cat([first, second])
        self.labels = [0] * (n // 2) + [1] * (n - n // 2)
    def __len__(self):
        return len(self.labels)
    def __getitem__(self, i):
        return self.points[i].clone(), torch.tensor(self.labels[i], dtype=torch.long)
"""),
    dict(item="TwoClusters", name="tensor_dataset_subclass", code="""
class TwoClusters(torch.utils.data.TensorDataset):
    def __init__(self, n, seed=0, std=0.1):
        g = torch.Generator()
        g.manual_seed(seed)
        y = torch.cat([torch.zeros(n // 2, dtype=torch.long), torch.ones(n - n // 2, dtype=torch.long)])
        centre = 0.2 + 0.6 * y.float()[:, None]
        super().__init__(centre + torch.normal(0.0, std, (n, 2), generator=g), y)
"""),
    # make_loaders
    dict(item="make_loaders", name="randperm_subsets", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    n_val = int(len(dataset) * val_fraction)
    perm = torch.randperm(len(dataset), generator=generator).tolist()
    train = Subset(dataset, perm[n_val:])
    val = Subset(dataset, perm[:n_val])
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="samplers", code="""
from torch.utils.data import SubsetRandomSampler

def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n = len(dataset)
    n_val = int(n * val_fraction)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    train_idx, val_idx = order[: n - n_val].tolist(), sorted(order[n - n_val:].tolist())
    sampler = SubsetRandomSampler(train_idx, generator=torch.Generator().manual_seed(seed + 1))
    return (DataLoader(dataset, batch_size=batch_size, sampler=sampler),
            DataLoader(dataset, batch_size=batch_size, sampler=val_idx))
"""),
    dict(item="make_loaders", name="numpy_split_shared_generator", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(val_fraction * len(dataset))
    idx = np.random.default_rng(seed).permutation(len(dataset))
    g = torch.Generator()
    g.manual_seed(seed)
    train = DataLoader(Subset(dataset, idx[n_val:].tolist()), batch_size, shuffle=True, generator=g)
    val = DataLoader(Subset(dataset, idx[:n_val].tolist()), batch_size, shuffle=False)
    return train, val
"""),
    # numpy_sigmoid_step
    dict(item="numpy_sigmoid_step", name="classic_deltas", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = 1 / (1 + np.exp(-(np.dot(X, W0))))
    l2 = 1 / (1 + np.exp(-(np.dot(l1, W1))))
    l2_delta = (y - l2) * (l2 * (1 - l2))
    l1_delta = l2_delta.dot(W1.T) * (l1 * (1 - l1))
    W0_new, W1_new = W0.copy(), W1.copy()
    W1_new += lr * l1.T.dot(l2_delta)
    W0_new += lr * X.T.dot(l1_delta)
    return W0_new, W1_new, 0.5 * np.sum(np.square(y - l2))
"""),
    dict(item="numpy_sigmoid_step", name="tanh_sigmoid_einsum", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    act = lambda z: 0.5 * (1 + np.tanh(0.5 * z))
    h = act(np.einsum("nd,dh->nh", X, W0))
    out = act(np.einsum("nh,hk->nk", h, W1))
    err = out - y
    g_out = err * out * (1 - out)
    g_hidden = np.einsum("nk,hk->nh", g_out, W1) * h * (1 - h)
    grad_W1 = np.einsum("nh,nk->hk", h, g_out)
    grad_W0 = np.einsum("nd,nh->dh", X, g_hidden)
    return W0 - lr * grad_W0, W1 - lr * grad_W1, float((err ** 2).sum() / 2)
"""),
    # train_sigmoid_net
    dict(item="train_sigmoid_net", name="module_adam_bce_manual_seed", code="""
class _Net(nn.Module):
    def __init__(self, d_in, hidden):
        super().__init__()
        self.hidden = nn.Linear(d_in, hidden)
        self.out = nn.Linear(hidden, 1)
    def forward(self, x):
        return torch.sigmoid(self.out(torch.sigmoid(self.hidden(x))))

def train_sigmoid_net(X, y, hidden=4):
    torch.manual_seed(0)
    model = _Net(X.shape[1], hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    loss_fn = nn.BCELoss()
    for _ in range(500):
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="parameters_manual_update", code="""
class _TwoLayer(nn.Module):
    def __init__(self, d_in, hidden, generator):
        super().__init__()
        self.W0 = nn.Parameter(torch.rand(d_in, hidden, generator=generator) * 2 - 1)
        self.W1 = nn.Parameter(torch.rand(hidden, 1, generator=generator) * 2 - 1)
    def forward(self, x):
        return torch.sigmoid(torch.sigmoid(x @ self.W0) @ self.W1)

def train_sigmoid_net(X, y, hidden=4):
    model = _TwoLayer(X.shape[1], hidden, torch.Generator().manual_seed(1))
    for _ in range(3000):
        loss = 0.5 * ((model(X) - y) ** 2).sum()
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= 2.0 * g
    return model
"""),
    # predict
    dict(item="predict", name="inference_mode_list", code="""
def predict(model, loader):
    mode = model.training
    device = next(iter(model.parameters())).device
    model.train(False)
    labels = []
    with torch.inference_mode():
        for batch in loader:
            logits = model(batch[0].to(device))
            labels.extend(logits.argmax(-1).tolist())
    model.train(mode)
    return torch.tensor(labels, dtype=torch.long)
"""),
    dict(item="predict", name="decorated_no_grad", code="""
@torch.no_grad()
def _classes(model, loader, device):
    return torch.cat([torch.argmax(model(x.to(device, non_blocking=True)), dim=1).to("cpu") for x, _y in loader])

def predict(model, loader):
    was_training = model.training
    model.eval()
    try:
        return _classes(model, loader, next(model.parameters()).device)
    finally:
        if was_training:
            model.train()
"""),
]
