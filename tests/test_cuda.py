"""The real-CUDA tier of the device checks: runs wherever CUDA is available, skipped elsewhere."""
import pytest
import torch

from conftest import failed_messages, item

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def cuda_checks(result):
    return [c for i in result.items for c in i.checks if c.name.endswith("real_cuda")]


def test_solution_passes_every_real_cuda_check(grade, solution_cells):
    result = grade(solution_cells)
    checks = cuda_checks(result)
    assert len(checks) == 6 and all(c.passed for c in checks), [(c.name, c.message) for c in checks]
    assert result.score == 21.0


@pytest.mark.parametrize("name", ["created_on_cpu", "numpy_without_cpu"])
def test_cpu_bound_code_fails_on_a_real_gpu(name, grade, solution_cells, mutants):
    mutant = next(m for m in mutants if m["name"] == name and m["item"] in ("one_hot", "to_numpy"))
    result = grade(solution_cells + [mutant["code"]])
    failed = [c for c in item(result, mutant["item"]).checks if c.name.endswith("real_cuda") and not c.passed]
    assert failed, failed_messages(result, mutant["item"])
