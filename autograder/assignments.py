"""The assignments of CURRICULUM.md and the package module holding each one's public checks."""

ASSIGNMENTS: dict[str, str] = {
    "01_tensors": "autograder.public.tensors",
}
