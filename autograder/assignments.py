"""The assignments of CURRICULUM.md and the package module holding each one's public checks."""

ASSIGNMENTS: dict[str, str] = {
    "01_tensors": "autograder.public.tensors",
    "02_autograd": "autograder.public.autograd",
    "03_nn": "autograder.public.networks",
    "04_optim": "autograder.public.optim",
    "05_modules": "autograder.public.modules",
    "06_data": "autograder.public.data",
}
