"""03_nn: other correct ways to write each item; every one must keep full marks. Instructor-only."""
ALTERNATIVES = [
    # two_layer_sequential
    dict(item="two_layer_sequential", name="named_layers", code="""
from collections import OrderedDict

def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(d_in, hidden)), ("act", nn.ReLU()),
                                      ("fc2", nn.Linear(hidden, d_out))]))
"""),
    dict(item="two_layer_sequential", name="inplace_relu_from_list", code="""
def two_layer_sequential(d_in, hidden, d_out):
    layers = [nn.Linear(d_in, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, d_out)]
    return nn.Sequential(*layers)
"""),
    # count_parameters
    dict(item="count_parameters", name="dedupe_by_identity", code="""
def count_parameters(model, trainable_only=True):
    unique = {}
    for module in model.modules():
        for p in module._parameters.values():
            if p is not None and (p.requires_grad or not trainable_only):
                unique[id(p)] = p
    return sum(p.numel() for p in unique.values())
"""),
    dict(item="count_parameters", name="numpy_prod", code="""
import numpy as np

def count_parameters(model, trainable_only=True):
    total = 0
    for _, p in model.named_parameters():
        if trainable_only and not p.requires_grad:
            continue
        total += int(np.prod(p.shape))
    return total
"""),
    dict(item="count_parameters", name="math_prod", code="""
def count_parameters(model, trainable_only=True):
    params = filter(lambda p: p.requires_grad, model.parameters()) if trainable_only else model.parameters()
    return sum(math.prod(p.shape) for p in params)
"""),
    # mse
    dict(item="mse", name="torch_mean_of_pow", code="""
def mse(pred, target):
    return torch.mean((pred - target) ** 2)
"""),
    dict(item="mse", name="sum_over_numel", code="""
def mse(pred, target):
    return (pred - target).pow(2).sum() / pred.numel()
"""),
    dict(item="mse", name="square", code="""
def mse(pred, target):
    return torch.square(pred - target).mean()
"""),
    # cross_entropy
    dict(item="cross_entropy", name="max_shift_by_hand", code="""
def cross_entropy(logits, labels):
    m = logits.max(dim=1, keepdim=True).values
    log_z = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    picked = logits[torch.arange(logits.shape[0], device=logits.device), labels]
    return (log_z - picked).mean()
"""),
    dict(item="cross_entropy", name="one_hot_mask", code="""
def cross_entropy(logits, labels):
    mask = torch.zeros_like(logits).scatter_(1, labels.unsqueeze(1), 1.0)
    return (torch.logsumexp(logits, dim=1) - (logits * mask).sum(dim=1)).mean()
"""),
    dict(item="cross_entropy", name="detached_shift_log_probs", code="""
def cross_entropy(logits, labels):
    shifted = logits - logits.detach().amax(dim=1, keepdim=True)
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[torch.arange(len(labels)), labels].mean()
"""),
    # manual_sgd_step
    dict(item="manual_sgd_step", name="autograd_grad", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    params = [p for p in model.parameters() if p.requires_grad]
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(lr * g)
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="zero_after_update_on_data", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    loss = loss_fn(model(x), y)
    loss.backward()
    for p in model.parameters():
        if p.grad is not None:
            p.data.add_(p.grad, alpha=-lr)
            p.grad = None
    return float(loss)
"""),
    dict(item="manual_sgd_step", name="grad_zero_in_place", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    for p in model.parameters():
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(p - lr * p.grad)
    return loss.detach().cpu().item()
"""),
    # classifier
    dict(item="classifier", name="named_layers", code="""
from collections import OrderedDict

def classifier(d_in, hidden, n_classes):
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(d_in, hidden)), ("bn", nn.BatchNorm1d(hidden)),
                                      ("relu", nn.ReLU()), ("out", nn.Linear(hidden, n_classes))]))
"""),
    dict(item="classifier", name="add_module", code="""
def classifier(d_in, hidden, n_classes):
    model = nn.Sequential()
    model.add_module("hidden", nn.Linear(d_in, hidden))
    model.add_module("norm", nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1))
    model.add_module("act", nn.ReLU(inplace=True))
    model.add_module("logits", nn.Linear(hidden, n_classes))
    return model
"""),
    # init_xavier_
    dict(item="init_xavier_", name="apply", code="""
def _xavier_linear(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight, gain=1.0)
        if module.bias is not None:
            nn.init.constant_(module.bias, 0.0)

def init_xavier_(model):
    return model.apply(_xavier_linear)
"""),
    dict(item="init_xavier_", name="bound_by_hand", code="""
def init_xavier_(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                fan_out, fan_in = m.weight.shape
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                m.weight.uniform_(-bound, bound)
                if m.bias is not None:
                    m.bias.zero_()
    return model
"""),
    dict(item="init_xavier_", name="data_and_copy", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6.0 / (m.in_features + m.out_features))
            fresh = torch.rand(m.weight.shape, dtype=torch.float64) * 2 * bound - bound
            m.weight.data.copy_(fresh)
            if m.bias is not None:
                m.bias.data.fill_(0.0)
    return model
"""),
]
