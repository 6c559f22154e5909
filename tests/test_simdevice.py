import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.runtime.simdevice import SIM_DEVICE, from_sim, is_sim, simulated_device, to_sim

SAME_DEVICE_ERROR = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
NUMPY_ERROR = "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."


def assert_sim_equal(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert is_sim(actual) and actual.device == SIM_DEVICE
    torch.testing.assert_close(from_sim(actual), expected)


@pytest.fixture
def labels() -> torch.Tensor:
    return to_sim(torch.tensor([0, 2, 1, 2]))


@pytest.fixture
def points() -> torch.Tensor:
    return to_sim(torch.randn(5, 3, generator=torch.Generator().manual_seed(0)))


# Student-style functions -------------------------------------------------------------

def one_hot_correct(labels: torch.Tensor, c: int) -> torch.Tensor:
    return torch.zeros(len(labels), c, device=labels.device).scatter_(1, labels[:, None], 1.0)


def one_hot_cpu_scatter(labels: torch.Tensor, c: int) -> torch.Tensor:
    return torch.zeros(len(labels), c).scatter_(1, labels[:, None], 1.0)


def one_hot_cpu_loop(labels: torch.Tensor, c: int) -> torch.Tensor:
    out = torch.zeros(len(labels), c)
    for i, label in enumerate(labels.tolist()):
        out[i, label] = 1.0
    return out


def sq_dists_broadcast(x: torch.Tensor) -> torch.Tensor:
    return ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)


def sq_dists_matmul(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(1)
    return (sq[:, None] - 2 * x @ x.T + sq[None, :]).clamp_min(0)


def sq_dists_cdist(x: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x, x) ** 2


def normalize_rows(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps)


def validated_counts(labels: torch.Tensor, c: int) -> torch.Tensor:
    if (labels < 0).any() or (labels >= c).any():
        raise ValueError("labels out of range")
    return torch.bincount(labels, minlength=c)


# Conversions -------------------------------------------------------------------------

def test_to_sim_copies_data_and_metadata_and_from_sim_returns_plain_cpu_tensor():
    cpu = torch.arange(6, dtype=torch.float64).reshape(2, 3).T
    sim = to_sim(cpu)
    assert is_sim(sim) and sim.device == SIM_DEVICE and sim.is_cuda
    assert (sim.shape, sim.dtype, sim.stride(), sim.is_contiguous()) == (cpu.shape, cpu.dtype, cpu.stride(), False)
    back = from_sim(sim)
    assert type(back) is torch.Tensor and back.device.type == "cpu" and back.stride() == cpu.stride()
    assert torch.equal(back, cpu)
    cpu.add_(1)  # to_sim copied
    assert not torch.equal(from_sim(sim), cpu)
    assert from_sim(cpu) is cpu and not is_sim(cpu)


def test_to_sim_of_grad_requiring_tensor_is_grad_requiring_leaf():
    sim = to_sim(torch.ones(3, requires_grad=True) * 2)
    assert sim.requires_grad and sim.is_leaf
    assert not to_sim(torch.ones(3)).requires_grad


# Student functions under the simulated device -------------------------------------------

def test_correct_one_hot_returns_sim_tensor_with_right_values(labels):
    with simulated_device():
        out = one_hot_correct(labels, 3)
    assert_sim_equal(out, F.one_hot(from_sim(labels), 3).float())


def test_one_hot_allocated_on_cpu_raises_same_device_error(labels):
    with simulated_device(), pytest.raises(RuntimeError) as err:
        one_hot_cpu_scatter(labels, 3)
    assert str(err.value) == SAME_DEVICE_ERROR


def test_one_hot_filled_on_cpu_via_tolist_returns_cpu_tensor(labels):
    with simulated_device():
        out = one_hot_cpu_loop(labels, 3)
    assert not is_sim(out) and out.device.type == "cpu"


def test_eye_on_labels_device_indexed_by_labels_works(labels):
    with simulated_device():
        out = torch.eye(3, device=labels.device)[labels]
    assert_sim_equal(out, F.one_hot(from_sim(labels), 3).float())


def test_cpu_eye_indexed_by_sim_labels_raises_like_cuda(labels):
    with simulated_device(), pytest.raises(RuntimeError, match="indices should be either on cpu or on the same device"):
        torch.eye(3)[labels]


def test_library_op_allocating_internally_stays_on_sim_device(labels):
    with simulated_device():
        out = F.one_hot(labels, 3)
    assert_sim_equal(out, F.one_hot(from_sim(labels), 3))


def test_cpu_numpy_works_but_numpy_on_sim_raises_cuda_type_error(points):
    with simulated_device():
        assert (points.detach().cpu().numpy() == from_sim(points).numpy()).all()
        with pytest.raises(TypeError) as err:
            points.detach().numpy()
    assert str(err.value) == NUMPY_ERROR


@pytest.mark.parametrize("sq_dists", [sq_dists_broadcast, sq_dists_matmul, sq_dists_cdist])
def test_pairwise_squared_distances_match_cpu(points, sq_dists):
    with simulated_device():
        out = sq_dists(points)
    expected = sq_dists_broadcast(from_sim(points))
    assert is_sim(out)
    torch.testing.assert_close(from_sim(out), expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(from_sim(out), sq_dists(from_sim(points)))


def test_normalize_rows_with_clamped_norm_matches_cpu(points):
    with simulated_device():
        out = normalize_rows(points)
    assert_sim_equal(out, normalize_rows(from_sim(points)))


def test_data_dependent_validation_runs_on_sim(labels):
    with simulated_device():
        assert_sim_equal(validated_counts(labels, 3), torch.tensor([1, 1, 2]))
        with pytest.raises(ValueError):
            validated_counts(to_sim(torch.tensor([0, -1])), 3)


# Autograd ------------------------------------------------------------------------------

def test_gradient_of_sim_leaf_reaches_its_cpu_values():
    x = torch.tensor([1.0, -2.0, 3.0])
    sim = to_sim(x.requires_grad_())
    with simulated_device():
        (sim**2).sum().backward()
    assert_sim_equal(sim.grad, 2 * x.detach())


def test_gradient_flows_through_cuda_and_cpu_moves_and_internal_allocations(labels):
    w = torch.randn(3, 4, requires_grad=True)
    with simulated_device():
        table = w.cuda()
        loss = (table[labels] ** 2).sum() + (F.one_hot(labels, 3).float() @ table).sum()
        loss.cpu().backward()
    expected_w = w.detach().clone().requires_grad_()
    idx = from_sim(labels)
    ((expected_w[idx] ** 2).sum() + (F.one_hot(idx, 3).float() @ expected_w).sum()).backward()
    torch.testing.assert_close(w.grad, expected_w.grad)


# Factories and moves -------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda d: torch.zeros(2, 3, device=d),
    lambda d: torch.ones(2, device=d),
    lambda d: torch.empty(2, device=d),
    lambda d: torch.full((2,), 7.0, device=d),
    lambda d: torch.arange(4, device=d),
    lambda d: torch.eye(3, device=d),
    lambda d: torch.tensor([1, 2], device=d),
    lambda d: torch.as_tensor([1.0, 2.0], device=d),
    lambda d: torch.rand(2, device=d),
    lambda d: torch.randn(2, device=d),
    lambda d: torch.randint(0, 5, (2,), device=d),
    lambda d: torch.linspace(0, 1, 5, device=d),
])
@pytest.mark.parametrize("device", ["cuda", "cuda:0", SIM_DEVICE])
def test_factories_with_cuda_device_return_sim_tensors(make, device):
    with simulated_device():
        out = make(device)
    assert is_sim(out) and out.device == SIM_DEVICE


def test_factory_with_requires_grad_returns_grad_requiring_sim_leaf():
    with simulated_device():
        out = torch.zeros(2, device="cuda", requires_grad=True)
    assert is_sim(out) and out.requires_grad and out.is_leaf


def test_moves_between_cpu_and_sim(points):
    cpu = torch.ones(2, dtype=torch.int64)
    with simulated_device():
        for moved in (cpu.to("cuda"), cpu.to(points.device), cpu.to(device=points.device), cpu.cuda()):
            assert_sim_equal(moved, cpu)
        like = cpu.to(points)
        assert is_sim(like) and like.dtype == points.dtype
        for back in (points.cpu(), points.to("cpu"), points.to(device="cpu")):
            assert type(back) is torch.Tensor and back.device.type == "cpu"
            assert torch.equal(back, from_sim(points))
        double = points.to(torch.float64)
        assert is_sim(double) and double.dtype == torch.float64
        assert points.cuda() is points


def test_like_and_new_factories_stay_on_sim_device(points):
    with simulated_device():
        outs = [torch.zeros_like(points), torch.ones_like(points), torch.empty_like(points), torch.rand_like(points),
                points.new_zeros(2), points.new_ones(2), points.new_full((2,), 1.0), points.new_tensor([1.0, 2.0])]
        explicit_cpu = torch.zeros_like(points, device="cpu")
    assert all(is_sim(out) for out in outs)
    assert not is_sim(explicit_cpu) and explicit_cpu.device.type == "cpu"


# Mixing rules --------------------------------------------------------------------------

def test_mixing_sim_with_non_scalar_cpu_tensor_raises(points):
    with simulated_device():
        for op in (lambda: points + torch.ones(3), lambda: points @ torch.ones(3, 3),
                   lambda: torch.cat([points, torch.zeros(1, 3)]), lambda: torch.where(points > 0, points, torch.zeros(5, 3))):
            with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
                op()


def test_mixing_sim_with_zero_dim_cpu_tensor_is_allowed(points):
    with simulated_device():
        out = points * torch.tensor(2.0)
    assert_sim_equal(out, from_sim(points) * 2)


# Tensor API on sim tensors ---------------------------------------------------------------

def test_scalar_conversions_and_printing(points, labels):
    with simulated_device():
        assert points.sum().item() == pytest.approx(from_sim(points).sum().item())
        assert bool((labels >= 0).all()) and labels.tolist() == [0, 2, 1, 2]
        assert float(points[0, 0]) == pytest.approx(from_sim(points)[0, 0].item())
        assert int(labels.max()) == 2 and len(labels) == 4
        assert "device='cuda:0'" in repr(points) and "device='cuda:0'" in str(labels)
        assert f"{points.sum():.2f}" == f"{from_sim(points).sum().item():.2f}"
        assert (points.shape, points.dtype, points.device) == (torch.Size([5, 3]), torch.float32, SIM_DEVICE)


def test_indexing_with_sim_cpu_and_python_indices(points):
    expected = from_sim(points)[[0, 2]]
    with simulated_device():
        for index in (to_sim(torch.tensor([0, 2])), torch.tensor([0, 2]), [0, 2]):
            assert_sim_equal(points[index], expected)
        assert_sim_equal(points[points > 0], from_sim(points)[from_sim(points) > 0])
        assert_sim_equal(points[1:3, 0], from_sim(points)[1:3, 0])


def test_in_place_ops_keep_the_sim_tensor_and_match_cpu(labels):
    def fill(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        assert out.scatter_(1, labels[:2, None], 1.0) is out
        out.index_put_((labels[2:], labels[2:]), torch.tensor(5.0))
        out[out > 4] = 2.0
        return out.masked_fill_(out == 0, -1.0)

    with simulated_device():
        out = fill(torch.zeros(4, 3, device="cuda"), labels)
        copied = torch.empty(2, device="cuda").copy_(torch.tensor([3.0, 4.0]))
        filled = torch.empty(2, device="cuda").fill_(9)
    assert_sim_equal(out, fill(torch.zeros(4, 3), from_sim(labels)))
    assert_sim_equal(copied, torch.tensor([3.0, 4.0]))
    assert_sim_equal(filled, torch.full((2,), 9.0))


def test_views_layout_and_autograd_flags(points):
    with simulated_device():
        t = points.T
        assert is_sim(t) and not t.is_contiguous() and t.contiguous().is_contiguous()
        assert_sim_equal(points.permute(1, 0), from_sim(points).T)
        clone = points.clone().requires_grad_()
        assert clone.requires_grad and not clone.detach().requires_grad and is_sim(clone.detach())
        assert_sim_equal(torch.cat([points, points]), torch.cat([from_sim(points)] * 2))


def test_in_place_metadata_change_is_reported_as_unsupported(points):
    with simulated_device(), pytest.raises(NotImplementedError):
        points.clone().t_()


# Context behaviour -----------------------------------------------------------------------

def cuda_zeros_error() -> tuple[type, str]:
    try:
        torch.zeros(2, device="cuda")
    except Exception as exc:  # CPU-only builds raise AssertionError("Torch not compiled ...")
        return type(exc), str(exc)
    pytest.skip("real CUDA is available")


def test_leaving_context_restores_normal_torch(points):
    before = cuda_zeros_error()
    with simulated_device():
        assert is_sim(torch.zeros(2, device="cuda"))
    assert cuda_zeros_error() == before
    assert torch.overrides._get_current_function_mode_stack() == []
    assert not is_sim(torch.zeros(2)) and not torch.cuda.is_available()


def test_context_is_restored_after_an_exception():
    before = cuda_zeros_error()
    with pytest.raises(KeyError), simulated_device():
        raise KeyError
    assert cuda_zeros_error() == before


def test_nested_contexts_are_safe(labels):
    before = cuda_zeros_error()
    with simulated_device():
        with simulated_device():
            inner = one_hot_correct(labels, 3)
        outer = one_hot_correct(labels, 3)
        with pytest.raises(RuntimeError, match="Expected all tensors"):
            one_hot_cpu_scatter(labels, 3)
    assert is_sim(inner) and is_sim(outer)
    assert cuda_zeros_error() == before


def test_cuda_availability_is_not_patched():
    with simulated_device():
        assert torch.cuda.is_available() is False


def test_sim_tensor_escaping_the_context_stays_usable(labels):
    with simulated_device():
        out = one_hot_correct(labels, 3)
    assert out.device == SIM_DEVICE
    assert type(from_sim(out)) is torch.Tensor and type(out.cpu()) is torch.Tensor
    assert_sim_equal(out * 2, from_sim(out) * 2)


def test_module_moves_to_sim_device_trains_and_moves_back(points):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with simulated_device():
        model.to(points.device)
        assert all(p.device == SIM_DEVICE and isinstance(p, nn.Parameter) for p in model.parameters())
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model(points).pow(2).mean().backward()
        opt.step()
        clone = copy.deepcopy(model)
        model.cpu()
    assert all(type(p) is nn.Parameter and p.device.type == "cpu" for p in model.parameters())
    assert all(is_sim(p) for p in clone.parameters())
    torch.testing.assert_close(from_sim(clone[0].weight), model[0].weight)
