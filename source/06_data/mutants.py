"""06_data: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one name on top of the reference solution; ``expect`` is a phrase the
failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # TwoClusters
    dict(item="TwoClusters", name="global_manual_seed", expect="global random state", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        torch.manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 2)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="numpy_global_seed", expect="NumPy's global random state", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        np.random.seed(seed)
        labels = (np.arange(n) >= n // 2).astype(np.int64)
        centres = np.array([[0.2, 0.2], [0.8, 0.8]])
        self.x = torch.from_numpy(centres[labels] + std * np.random.randn(n, 2)).float()
        self.y = torch.from_numpy(labels)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="unseeded_global_rng", expect="the second time", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 2)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="seed_ignored", expect="the seed is ignored", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(42)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="float64_points", expect="dtype", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        rng = np.random.default_rng(seed)
        labels = (np.arange(n) >= n // 2).astype(np.int64)
        self.x = np.array([[0.2, 0.2], [0.8, 0.8]])[labels] + std * rng.standard_normal((n, 2))
        self.y = labels
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), torch.tensor(self.y[i])
"""),
    dict(item="TwoClusters", name="label_shape_one", expect="0-dim", code="""
_Reference = TwoClusters
class TwoClusters(_Reference):
    def __getitem__(self, i):
        return self.x[i], self.y[i:i + 1]
"""),
    dict(item="TwoClusters", name="label_python_int", expect="python int", code="""
_Reference = TwoClusters
class TwoClusters(_Reference):
    def __getitem__(self, i):
        return self.x[i], int(self.y[i])
"""),
    dict(item="TwoClusters", name="half_rounded_up", expect="round down", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= (n + 1) // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="shuffled_points", expect="not in order", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        labels = (torch.arange(n) >= n // 2).long()[torch.randperm(n, generator=generator)]
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[labels] + std * torch.randn(n, 2, generator=generator)
        self.y = labels
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="classes_swapped", expect="swapped", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.8, 0.8], [0.2, 0.2]])[self.y] + std * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="variance_for_std", expect="std", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std ** 2 * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="std_ignored", expect="with the std argument", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + 0.1 * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="uniform_noise", expect="Gaussian noise", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * (2 * torch.rand(n, 2, generator=generator) - 1)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="shared_noise", expect="same noise", code="""
class TwoClusters(Dataset):
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 1, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    dict(item="TwoClusters", name="not_a_dataset", expect="subclass", code="""
class TwoClusters:
    def __init__(self, n, seed=0, std=0.1):
        generator = torch.Generator().manual_seed(seed)
        self.y = (torch.arange(n) >= n // 2).long()
        self.x = torch.tensor([[0.2, 0.2], [0.8, 0.8]])[self.y] + std * torch.randn(n, 2, generator=generator)
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        return self.x[i], self.y[i]
"""),
    # make_loaders
    dict(item="make_loaders", name="rounded_val_size", expect="int() rounds down", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = round(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="train_size_rounded_down", expect="int() rounds down", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_train = int(len(dataset) * (1 - val_fraction))
    train, val = random_split(dataset, [n_train, len(dataset) - n_train], generator=torch.Generator().manual_seed(seed))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="swapped", expect="swapped", code="""
_reference_make_loaders = make_loaders
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    train, val = _reference_make_loaders(dataset, batch_size, val_fraction, seed)
    return val, train
"""),
    dict(item="make_loaders", name="not_random", expect="split at random", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    n_train = len(dataset) - n_val
    train, val = Subset(dataset, range(n_train)), Subset(dataset, range(n_train, len(dataset)))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="split_unseeded", expect="split the data differently", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val])
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="seed_ignored", expect="ignores the seed", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(42))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(42)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="global_seed_then_shuffle", expect="global random state", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    torch.manual_seed(seed)
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val])
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(val, batch_size=batch_size)
"""),
    dict(item="make_loaders", name="train_not_shuffled", expect="shuffle=True", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
    return DataLoader(train, batch_size=batch_size), DataLoader(val, batch_size=batch_size)
"""),
    dict(item="make_loaders", name="val_shuffled", expect="shuffle=False", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(val, batch_size=batch_size, shuffle=True, generator=generator))
"""),
    dict(item="make_loaders", name="drop_last", expect="drop_last", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=batch_size))
"""),
    dict(item="make_loaders", name="batch_size_ignored", expect="batch_size", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
    return (DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=32))
"""),
    dict(item="make_loaders", name="overlapping_parts", expect="disjoint", code="""
def make_loaders(dataset, batch_size, val_fraction=0.2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    n_val = int(len(dataset) * val_fraction)
    val_idx = torch.randperm(len(dataset), generator=generator)[:n_val].tolist()
    train_idx = torch.randperm(len(dataset), generator=generator)[n_val:].tolist()
    return (DataLoader(Subset(dataset, train_idx), batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(Subset(dataset, val_idx), batch_size=batch_size))
"""),
    # numpy_sigmoid_step
    dict(item="numpy_sigmoid_step", name="no_output_sigmoid_derivative", expect="l2 * (1 - l2)", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = l2 - y
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    return W0 - lr * X.T @ l1_delta, W1 - lr * l1.T @ l2_delta, float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="no_hidden_sigmoid_derivative", expect="l1 * (1 - l1)", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2)
    l1_delta = l2_delta @ W1.T
    return W0 - lr * X.T @ l1_delta, W1 - lr * l1.T @ l2_delta, float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="wrong_sign", expect="wrong sign", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (y - l2) * l2 * (1 - l2)
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    return W0 - lr * X.T @ l1_delta, W1 - lr * l1.T @ l2_delta, float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="in_place_update", expect="in place", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2)
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    W1_new = W1 - lr * l1.T @ l2_delta
    W0 -= lr * X.T @ l1_delta
    return W0, W1_new, float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="updated_w1_in_backprop", expect="before the update", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2)
    W1 = W1 - lr * l1.T @ l2_delta
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    return W0 - lr * X.T @ l1_delta, W1, float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="loss_after_update", expect="before the update", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2)
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    W0, W1 = W0 - lr * X.T @ l1_delta, W1 - lr * l1.T @ l2_delta
    return W0, W1, float(0.5 * np.sum((sigmoid(sigmoid(X @ W0) @ W1) - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="mean_loss", expect="not a mean", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2) / y.size
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    return W0 - lr * X.T @ l1_delta, W1 - lr * l1.T @ l2_delta, float(0.5 * np.mean((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="transposed_gradient", expect="broadcast", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    l1 = sigmoid(X @ W0)
    l2 = sigmoid(l1 @ W1)
    l2_delta = (l2 - y) * l2 * (1 - l2)
    l1_delta = (l2_delta @ W1.T) * l1 * (1 - l1)
    return W0 - lr * (l1_delta.T @ X), W1 - lr * (l1.T @ l2_delta), float(0.5 * np.sum((l2 - y) ** 2))
"""),
    dict(item="numpy_sigmoid_step", name="torch_autograd", expect="numpy only", code="""
def numpy_sigmoid_step(X, y, W0, W1, lr):
    W = [torch.tensor(W0, requires_grad=True), torch.tensor(W1, requires_grad=True)]
    l2 = torch.sigmoid(torch.sigmoid(torch.from_numpy(X) @ W[0]) @ W[1])
    loss = 0.5 * ((l2 - torch.from_numpy(y)) ** 2).sum()
    loss.backward()
    return W0 - lr * W[0].grad.numpy(), W1 - lr * W[1].grad.numpy(), loss.item()
"""),
    dict(item="numpy_sigmoid_step", name="returns_tensors", expect="numpy arrays only", code="""
_reference_step = numpy_sigmoid_step
def numpy_sigmoid_step(X, y, W0, W1, lr):
    W0_new, W1_new, loss = _reference_step(X, y, W0, W1, lr)
    return torch.from_numpy(W0_new), torch.from_numpy(W1_new), loss
"""),
    dict(item="numpy_sigmoid_step", name="float32_weights", expect="dtype", code="""
_reference_step = numpy_sigmoid_step
def numpy_sigmoid_step(X, y, W0, W1, lr):
    W0_new, W1_new, loss = _reference_step(X, y, W0, W1, lr)
    return W0_new.astype(np.float32), W1_new.astype(np.float32), loss
"""),
    # train_sigmoid_net
    dict(item="train_sigmoid_net", name="too_few_steps", expect="max abs error", code="""
def train_sigmoid_net(X, y, hidden=4):
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(X.shape[1], hidden), nn.Sigmoid(), nn.Linear(hidden, 1), nn.Sigmoid())
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-1, 1, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(200):
        optimizer.zero_grad()
        (0.5 * ((model(X) - y) ** 2).sum()).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="unseeded_init", expect="different models", code="""
def train_sigmoid_net(X, y, hidden=4):
    model = nn.Sequential(nn.Linear(X.shape[1], hidden), nn.Sigmoid(), nn.Linear(hidden, 1), nn.Sigmoid())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy(model(X), y).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="logits_model", expect="outside [0, 1]", code="""
def train_sigmoid_net(X, y, hidden=4):
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(X.shape[1], hidden), nn.Sigmoid(), nn.Linear(hidden, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-1, 1, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(X), y).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="hidden_ignored", expect="hidden argument", code="""
_reference_train = train_sigmoid_net
def train_sigmoid_net(X, y, hidden=4):
    return _reference_train(X, y)
"""),
    dict(item="train_sigmoid_net", name="plain_tensor_weights", expect="moves nothing", code="""
class _PlainNet:
    def __init__(self, d_in, hidden, generator):
        self.W0 = (2 * torch.rand(d_in, hidden, generator=generator) - 1).requires_grad_()
        self.W1 = (2 * torch.rand(hidden, 1, generator=generator) - 1).requires_grad_()
    def __call__(self, x):
        return torch.sigmoid(torch.sigmoid(x @ self.W0) @ self.W1)

class _Wrapped(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
    def forward(self, x):
        return self.net(x)

def train_sigmoid_net(X, y, hidden=4):
    net = _PlainNet(X.shape[1], hidden, torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD([net.W0, net.W1], lr=4.0)
    for _ in range(1000):
        optimizer.zero_grad()
        (0.5 * ((net(X) - y) ** 2).sum()).backward()
        optimizer.step()
    return _Wrapped(net)
"""),
    dict(item="train_sigmoid_net", name="tensor_attribute_weight", expect="plain tensor attribute", code="""
class _HalfRegistered(nn.Module):
    def __init__(self, d_in, hidden, generator):
        super().__init__()
        self.W0 = (2 * torch.rand(d_in, hidden, generator=generator) - 1).requires_grad_()
        self.W1 = nn.Parameter(2 * torch.rand(hidden, 1, generator=generator) - 1)
    def forward(self, x):
        return torch.sigmoid(torch.sigmoid(x @ self.W0) @ self.W1)

def train_sigmoid_net(X, y, hidden=4):
    model = _HalfRegistered(X.shape[1], hidden, torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD([model.W0, model.W1], lr=4.0)
    for _ in range(800):
        optimizer.zero_grad()
        (0.5 * ((model(X) - y) ** 2).sum()).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="layers_in_list", expect="plain python list", code="""
class _ListNet(nn.Module):
    def __init__(self, d_in, hidden):
        super().__init__()
        self.layers = [nn.Linear(d_in, hidden), nn.Linear(hidden, 1)]
    def forward(self, x):
        return torch.sigmoid(self.layers[1](torch.sigmoid(self.layers[0](x))))

def train_sigmoid_net(X, y, hidden=4):
    generator = torch.Generator().manual_seed(0)
    model = _ListNet(X.shape[1], hidden)
    params = [p for layer in model.layers for p in layer.parameters()]
    with torch.no_grad():
        for p in params:
            p.uniform_(-1, 1, generator=generator)
    optimizer = torch.optim.Adam(params, lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        (0.5 * ((model(X) - y) ** 2).sum()).backward()
        optimizer.step()
    return model
"""),
    dict(item="train_sigmoid_net", name="squeezed_output", expect="shape", code="""
class _Squeezed(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
    def forward(self, x):
        return self.model(x).squeeze(-1)

_reference_train = train_sigmoid_net
def train_sigmoid_net(X, y, hidden=4):
    return _Squeezed(_reference_train(X, y, hidden))
"""),
    # predict
    dict(item="predict", name="no_eval", expect="model.eval()", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(x.to(device)).argmax(dim=-1).cpu() for x, _ in loader])
"""),
    dict(item="predict", name="no_no_grad", expect="no_grad", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    predictions = [model(x.to(device)).argmax(dim=-1).cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="mode_not_restored", expect="restore", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x.to(device)).argmax(dim=-1).cpu() for x, _ in loader])
"""),
    dict(item="predict", name="always_train_after", expect="do not always call model.train()", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=-1).cpu() for x, _ in loader]
    model.train()
    return torch.cat(predictions)
"""),
    dict(item="predict", name="batches_not_moved", expect="move each batch", code="""
def predict(model, loader):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x).argmax(dim=-1).cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="result_on_model_device", expect="device", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=-1) for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="model_moved_to_cpu", expect="leave the model where it is", code="""
def predict(model, loader):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=-1).cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="argmax_dim0", expect="shape", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=0).cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="dataset_order", expect="dataset's order", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.stack([loader.dataset[i][0] for i in range(len(loader.dataset))])
    with torch.no_grad():
        predictions = model(x.to(device)).argmax(dim=-1).cpu()
    model.train(was_training)
    return predictions
"""),
    dict(item="predict", name="keepdim_classes", expect="shape", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=-1, keepdim=True).cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="squeezed_batches", expect="zero-dimensional", code="""
def predict(model, loader):
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predictions = [model(x.to(device)).argmax(dim=-1).squeeze().cpu() for x, _ in loader]
    model.train(was_training)
    return torch.cat(predictions)
"""),
    dict(item="predict", name="int32_classes", expect="dtype", code="""
_reference_predict = predict
def predict(model, loader):
    return _reference_predict(model, loader).int()
"""),
]
