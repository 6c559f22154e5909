"""Where an assignment's items and checks live.

Public checks ship inside the package (``autograder.public``): students' self-check and
``autograder check`` need nothing else. Hidden checks live only in the instructor's course
directory, ``source/ASSIGNMENT/hidden_checks.py``, which nbgrader never releases.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.assignments import ASSIGNMENTS
from autograder.checks.api import Check, Item, collect

HIDDEN_CHECKS_FILE = "hidden_checks.py"


class CourseError(Exception):
    """The grader cannot run: unknown assignment, missing hidden checks."""


@dataclass(frozen=True)
class Suite:
    """An assignment's items and the checks to run on them."""

    assignment: str
    items: tuple[Item, ...]
    checks: tuple[Check, ...]

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)

    def checks_for(self, item_id: str) -> list[Check]:
        return [c for c in self.checks if c.item == item_id]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise CourseError(f"{self.assignment} has no item {item_id!r}; items: {', '.join(i.id for i in self.items)}")


def course_root(explicit: str | Path | None = None) -> Path:
    """The instructor's course directory: --course, $AUTOGRADER_COURSE, the cwd, or the kit's checkout."""
    candidates = [explicit, os.environ.get("AUTOGRADER_COURSE"), Path.cwd(), Path(__file__).resolve().parents[1]]
    for candidate in candidates:
        if candidate and (Path(candidate) / "source").is_dir():
            return Path(candidate).resolve()
    return Path.cwd()


def load_suite(assignment: str, *, hidden: bool, course: str | Path | None = None) -> Suite:
    if assignment not in ASSIGNMENTS:
        raise CourseError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    public = importlib.import_module(ASSIGNMENTS[assignment])
    checks = collect(vars(public))
    if any(c.hidden for c in checks):
        raise CourseError(f"{public.__name__} defines hidden checks; they belong in {HIDDEN_CHECKS_FILE}")
    if hidden:
        checks += _hidden_checks(assignment, course_root(course))
    items = tuple(public.ITEMS)
    known = {i.id for i in items}
    names = [(c.item, c.name) for c in checks]
    repeated = sorted({f"{item}.{name}" for item, name in names if names.count((item, name)) > 1})
    if repeated:
        raise CourseError(f"check names repeat within an item of {assignment}: {repeated}")
    strays = [c.name for c in checks if c.item not in known]
    if strays:
        raise CourseError(f"checks for unknown items in {assignment}: {strays}")
    return Suite(assignment, items, tuple(checks))


def _hidden_checks(assignment: str, course: Path) -> list[Check]:
    path = course / "source" / assignment / HIDDEN_CHECKS_FILE
    if not path.is_file():
        raise CourseError(f"hidden checks not found at {path}: grading needs the instructor's course "
                          "directory (run from it, or pass --course)")
    spec = importlib.util.spec_from_file_location(f"autograder_hidden_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = collect(vars(module))
    if not all(c.hidden for c in checks):
        raise CourseError(f"{path} defines checks without hidden=True")
    return checks
