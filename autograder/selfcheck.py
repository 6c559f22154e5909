"""Self-check in the student's own kernel: the same checks, run against the notebook's names."""
from __future__ import annotations

import dataclasses
import sys

from autograder.course import CourseError, load_suite
from autograder.grading.results import ItemResult
from autograder.grading.runner import grade_item_locally, new_seed
from autograder.runtime import child


class SelfCheckFailed(AssertionError):
    """Some checks failed; shown in a notebook as the report alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def format_item(result: ItemResult, label: str = "") -> str:
    kind = f"{label} checks" if label else "checks"
    lines = [f"{result.id}: {sum(c.passed for c in result.checks)}/{len(result.checks)} {kind} passed"]
    for c in result.checks:
        mark = "ok  " if c.passed else "FAIL"
        lines.append(f"  {mark} {c.name}" + (f": {c.message}" if c.message else ""))
    return "\n".join(lines)


def selfcheck(assignment: str, item: str, hidden: bool = False) -> ItemResult | None:
    """Run ``item``'s public checks (and hidden ones, where the instructor's copy is at hand).

    Prints a report and raises :class:`SelfCheckFailed` if a check failed. Inside the
    grader's child process it does nothing: grading runs the checks from outside.
    """
    if child.IN_CHILD:
        return None
    try:
        suite = load_suite(assignment, hidden=hidden)
    except CourseError:
        if hidden:
            return None  # students do not have the hidden checks; the grader runs them
        raise
    if hidden:
        suite = dataclasses.replace(suite, checks=tuple(c for c in suite.checks if c.hidden))
    namespace = sys._getframe(1).f_globals
    result = grade_item_locally(suite, item, namespace, new_seed())
    report = format_item(result, "hidden" if hidden else "public")
    if not all(c.passed for c in result.checks):
        raise SelfCheckFailed(report)
    print(report)
    return None
