"""What a check is: a plain function of the student handle and seeded inputs, with metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from autograder.checks.inputs import Inputs
    from autograder.grading.student import Student

CATEGORIES = ("shapes", "gradients", "convergence", "device", "values", "api", "errors")


class CheckFailed(AssertionError):
    """Raised by a check (usually through an ``expect_*`` helper) with a message for the student."""


@dataclass(frozen=True)
class Item:
    """A graded item of an assignment: its id, points and the APIs it bans."""

    id: str
    points: float
    banned: tuple[str, ...] = ()
    timeout: float = 10.0


@dataclass(frozen=True)
class Check:
    item: str
    name: str
    category: str
    weight: float
    hidden: bool
    requires: str | None
    fn: Callable[["Student", "Inputs"], None] = field(compare=False)

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0] if self.fn.__doc__ else self.name


def check(item: str, category: str, *, weight: float = 1.0, hidden: bool = False,
          requires: str | None = None) -> Callable:
    """Mark ``fn(student, inputs)`` as a check of ``item`` in ``category``.

    ``requires="cuda"`` runs the check only where CUDA is available (skipped elsewhere,
    and then left out of the item's score).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; use one of {CATEGORIES}")

    def mark(fn: Callable) -> Callable:
        fn.__check__ = Check(item, fn.__name__, category, weight, hidden, requires, fn)
        return fn

    return mark


def collect(namespace: dict) -> list[Check]:
    """The checks defined in a module namespace, in definition order."""
    return [value.__check__ for value in namespace.values() if isinstance(getattr(value, "__check__", None), Check)]
