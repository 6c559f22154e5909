"""03_nn: known mistakes, each of which must lose points on its item. Instructor-only.

Each mutant redefines one function on top of the reference solution; ``expect`` is a
phrase the failing check's message must contain, so the student is told what went wrong.
"""
MUTANTS = [
    # two_layer_sequential
    dict(item="two_layer_sequential", name="sigmoid_activation", expect="nn.ReLU as the activation", code="""
def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Sigmoid(), nn.Linear(hidden, d_out))
"""),
    dict(item="two_layer_sequential", name="no_activation", expect="collapse into one linear map", code="""
def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Linear(hidden, d_out))
"""),
    dict(item="two_layer_sequential", name="softmax_at_the_end", expect="raw logits", code="""
def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out), nn.Softmax(dim=1))
"""),
    dict(item="two_layer_sequential", name="no_bias", expect="bias=True", code="""
def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, d_out, bias=False))
"""),
    dict(item="two_layer_sequential", name="sizes_swapped", expect="[out, in]", code="""
def two_layer_sequential(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(hidden, d_in), nn.ReLU(), nn.Linear(d_out, hidden))
"""),
    dict(item="two_layer_sequential", name="custom_module", expect="should return an nn.Sequential", code="""
class _TwoLayer(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(d_in, hidden), nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(torch.relu(self.linear1(x)))

def two_layer_sequential(d_in, hidden, d_out):
    return _TwoLayer(d_in, hidden, d_out)
"""),
    # count_parameters
    dict(item="count_parameters", name="counts_tensors", expect="p.numel()", code="""
def count_parameters(model, trainable_only=True):
    return len([p for p in model.parameters() if p.requires_grad or not trainable_only])
"""),
    dict(item="count_parameters", name="counts_state_dict", expect="buffers", code="""
def count_parameters(model, trainable_only=True):
    return sum(t.numel() for t in model.state_dict().values())
"""),
    dict(item="count_parameters", name="ignores_trainable_only", expect="frozen parameters were counted", code="""
def count_parameters(model, trainable_only=True):
    return sum(p.numel() for p in model.parameters())
"""),
    dict(item="count_parameters", name="shared_counted_twice", expect="counted twice", code="""
def count_parameters(model, trainable_only=True):
    return sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False)
               if p.requires_grad or not trainable_only)
"""),
    dict(item="count_parameters", name="top_level_only", expect="nested layers were missed", code="""
def count_parameters(model, trainable_only=True):
    return sum(p.numel() for m in model.children() for p in m.parameters(recurse=False)
               if p.requires_grad or not trainable_only)
"""),
    dict(item="count_parameters", name="returns_tensor", expect="should be an int", code="""
def count_parameters(model, trainable_only=True):
    return torch.tensor(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))
"""),
    # mse
    dict(item="mse", name="sum_not_mean", expect="summed instead of averaged", code="""
def mse(pred, target):
    return ((pred - target) ** 2).sum()
"""),
    dict(item="mse", name="root_mean_square", expect="root of the mse", code="""
def mse(pred, target):
    return ((pred - target) ** 2).mean().sqrt()
"""),
    dict(item="mse", name="absolute_error", expect="mean absolute error", code="""
def mse(pred, target):
    return (pred - target).abs().mean()
"""),
    dict(item="mse", name="mean_over_dim_0", expect="0-dim", code="""
def mse(pred, target):
    return ((pred - target) ** 2).mean(0)
"""),
    dict(item="mse", name="returns_float", expect="should be a torch.Tensor", code="""
def mse(pred, target):
    return ((pred - target) ** 2).mean().item()
"""),
    dict(item="mse", name="in_place", expect="in place", code="""
def mse(pred, target):
    diff = pred.sub_(target)
    return (diff * diff).mean()
"""),
    dict(item="mse", name="detached_pred", expect="graph is broken", code="""
def mse(pred, target):
    return ((pred.detach() - target) ** 2).mean()
"""),
    dict(item="mse", name="weights_on_cpu", expect="device=x.device", code="""
def mse(pred, target):
    weights = torch.ones(pred.shape, dtype=pred.dtype)
    return (weights * (pred - target) ** 2).mean()
"""),
    dict(item="mse", name="cast_to_float32", expect="dtype", code="""
def mse(pred, target):
    return ((pred.float() - target.float()) ** 2).mean()
"""),
    dict(item="mse", name="banned_mse_loss", expect="banned torch.nn.functional.mse_loss", code="""
def mse(pred, target):
    return torch.nn.functional.mse_loss(pred, target)
"""),
    dict(item="mse", name="banned_mse_loss_alias", expect="banned torch.nn.functional.mse_loss", code="""
from torch.nn.functional import mse_loss as _squared_error

def mse(pred, target):
    return _squared_error(pred, target)
"""),
    dict(item="mse", name="banned_mse_module", expect="banned torch.nn.functional.mse_loss", code="""
def mse(pred, target):
    return nn.MSELoss()(pred, target)
"""),
    # cross_entropy
    dict(item="cross_entropy", name="naive_log_softmax", expect="log-sum-exp", code="""
def cross_entropy(logits, labels):
    rows = torch.arange(len(labels), device=logits.device)
    return -torch.log(torch.softmax(logits, dim=1)[rows, labels]).mean()
"""),
    dict(item="cross_entropy", name="naive_exp_sum", expect="log-sum-exp", code="""
def cross_entropy(logits, labels):
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.log(torch.exp(logits).sum(dim=1)) - picked).mean()
"""),
    dict(item="cross_entropy", name="softmax_over_batch", expect="wrong dim", code="""
def cross_entropy(logits, labels):
    log_probs = logits - torch.logsumexp(logits, dim=0, keepdim=True)
    return -log_probs.gather(1, labels.unsqueeze(1)).mean()
"""),
    dict(item="cross_entropy", name="sum_over_batch", expect="summed over the batch", code="""
def cross_entropy(logits, labels):
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - picked).sum()
"""),
    dict(item="cross_entropy", name="sign_flipped", expect="sign is flipped", code="""
def cross_entropy(logits, labels):
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (picked - torch.logsumexp(logits, dim=1)).mean()
"""),
    dict(item="cross_entropy", name="one_hot_on_cpu", expect="device=x.device", code="""
def cross_entropy(logits, labels):
    mask = torch.zeros(logits.shape, dtype=logits.dtype)
    mask[torch.arange(len(labels)), labels.cpu()] = 1.0
    return (torch.logsumexp(logits, dim=1) - (logits * mask).sum(dim=1)).mean()
"""),
    dict(item="cross_entropy", name="shifts_logits_in_place", expect="in place", code="""
def cross_entropy(logits, labels):
    logits -= logits.max(dim=1, keepdim=True).values.detach()
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.log(torch.exp(logits).sum(dim=1)) - picked).mean()
"""),
    dict(item="cross_entropy", name="returns_float", expect="should be a torch.Tensor", code="""
def cross_entropy(logits, labels):
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - picked).mean().item()
"""),
    dict(item="cross_entropy", name="banned_f_cross_entropy", expect="banned torch.nn.functional.cross_entropy",
         code="""
def cross_entropy(logits, labels):
    return torch.nn.functional.cross_entropy(logits, labels)
"""),
    dict(item="cross_entropy", name="banned_module", expect="banned torch.nn.functional.cross_entropy", code="""
def cross_entropy(logits, labels):
    return nn.CrossEntropyLoss()(logits, labels)
"""),
    dict(item="cross_entropy", name="banned_tensor_method", expect="banned torch.Tensor.log_softmax", code="""
def cross_entropy(logits, labels):
    return -logits.log_softmax(dim=1).gather(1, labels.unsqueeze(1)).mean()
"""),
    dict(item="cross_entropy", name="banned_alias", expect="banned torch.log_softmax", code="""
from torch import log_softmax as _log_probs

def cross_entropy(logits, labels):
    return -_log_probs(logits, 1).gather(1, labels.unsqueeze(1)).mean()
"""),
    dict(item="cross_entropy", name="banned_special", expect="banned torch.special.log_softmax", code="""
def cross_entropy(logits, labels):
    return -torch.special.log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean()
"""),
    dict(item="cross_entropy", name="banned_nll_loss", expect="banned torch.nn.functional.nll_loss", code="""
def cross_entropy(logits, labels):
    return torch.nn.functional.nll_loss(logits - torch.logsumexp(logits, dim=1, keepdim=True), labels)
"""),
    dict(item="cross_entropy", name="banned_log_softmax_module", expect="banned torch.nn.functional.log_softmax",
         code="""
def cross_entropy(logits, labels):
    return -nn.LogSoftmax(dim=1)(logits).gather(1, labels.unsqueeze(1)).mean()
"""),
    # manual_sgd_step
    dict(item="manual_sgd_step", name="no_zero_grad", expect="gradients accumulate", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="no_no_grad", expect="torch.no_grad()", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    for p in model.parameters():
        if p.grad is not None:
            p -= lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="rebinds_loop_variable", expect="did not change", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p = p - lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="ascends", expect="up the gradient", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p += lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="returns_tensor", expect="python float", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad
    return loss.detach()
"""),
    dict(item="manual_sgd_step", name="returns_loss_after_update", expect="before the update", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss_fn(model(x), y).backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad
        return loss_fn(model(x), y).item()
"""),
    dict(item="manual_sgd_step", name="frozen_grad_is_none", expect="frozen", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="shared_updated_twice", expect="updated twice", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for m in model.modules():
            for p in m.parameters(recurse=False):
                if p.grad is not None:
                    p -= lr * p.grad
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="banned_torch_optim", expect="banned torch.optim", code="""
def manual_sgd_step(model, loss_fn, x, y, lr):
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
"""),
    dict(item="manual_sgd_step", name="banned_torch_optim_alias", expect="banned torch.optim", code="""
from torch.optim import SGD as _Descent

def manual_sgd_step(model, loss_fn, x, y, lr):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    _Descent(model.parameters(), lr=lr).step()
    return loss.item()
"""),
    # classifier
    dict(item="classifier", name="softmax_at_the_end", expect="raw logits", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, n_classes),
                         nn.Softmax(dim=1))
"""),
    dict(item="classifier", name="batchnorm_after_relu", expect="misplaced", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.BatchNorm1d(hidden), nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="batchnorm_first", expect="wrong order", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.BatchNorm1d(d_in), nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="no_running_statistics", expect="running statistics", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden, track_running_stats=False), nn.ReLU(),
                         nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="not_affine", expect="affine=True", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden, affine=False), nn.ReLU(),
                         nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="cumulative_average", expect="momentum 0.1", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden, momentum=None), nn.ReLU(),
                         nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="layer_norm", expect="layer types", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
"""),
    dict(item="classifier", name="other_eps", expect="differs from the reference", code="""
def classifier(d_in, hidden, n_classes):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden, eps=0.1), nn.ReLU(),
                         nn.Linear(hidden, n_classes))
"""),
    # init_xavier_
    dict(item="init_xavier_", name="xavier_normal", expect="above the xavier bound", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="default_init", expect="well inside the xavier bound", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.reset_parameters()
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="relu_gain", expect="a gain other than 1", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="bias_untouched", expect="set it to zero", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
    return model
"""),
    dict(item="init_xavier_", name="children_only", expect="model.modules()", code="""
def init_xavier_(model):
    for m in model.children():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="every_matrix", expect="only nn.Linear layers", code="""
def init_xavier_(model):
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    for m in model.modules():
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="returns_none", expect="should return the very model", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
"""),
    dict(item="init_xavier_", name="initialises_a_copy", expect="a copy?", code="""
import copy

def init_xavier_(model):
    model = copy.deepcopy(model)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
"""),
    dict(item="init_xavier_", name="new_parameters", expect="replaced the parameters", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6 / (m.in_features + m.out_features))
            m.weight = nn.Parameter(torch.empty_like(m.weight).uniform_(-bound, bound))
            if m.bias is not None:
                m.bias = nn.Parameter(torch.zeros_like(m.bias))
    return model
"""),
    dict(item="init_xavier_", name="bias_none_crash", expect="bias=False", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            m.bias.data.zero_()
    return model
"""),
    dict(item="init_xavier_", name="uniform_without_no_grad", expect="torch.no_grad()", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6 / (m.in_features + m.out_features))
            m.weight.uniform_(-bound, bound)
            if m.bias is not None:
                m.bias.zero_()
    return model
"""),
    dict(item="init_xavier_", name="float32_data", expect="dtype", code="""
def init_xavier_(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6 / (m.in_features + m.out_features))
            m.weight.data = torch.empty(m.weight.shape, device=m.weight.device).uniform_(-bound, bound)
            if m.bias is not None:
                m.bias.data.zero_()
    return model
"""),
]
