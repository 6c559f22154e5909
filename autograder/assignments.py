"""The assignments of CURRICULUM.md and the package module holding each one's public checks."""

ASSIGNMENTS: dict[str, str] = {
    "01_tensors": "autograder.public.tensors",
    "02_autograd": "autograder.public.autograd",
    "03_nn": "autograder.public.networks",
    "04_optim": "autograder.public.optim",
    "05_modules": "autograder.public.modules",
    "06_data": "autograder.public.data",
}

# torch.optim's first use imports torch._dynamo (most of a second); the zygote pays that once,
# before forking, except for assignments that build no optimizer.
WITHOUT_OPTIMIZERS = frozenset({"01_tensors", "02_autograd"})


def warms_optimizers(assignments: list[str]) -> bool:
    """Whether grading these assignments builds optimizers, so the zygote should warm them up."""
    return not assignments or not set(assignments) <= WITHOUT_OPTIMIZERS
