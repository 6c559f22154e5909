"""Authoring validator: do an assignment's checks tell right from wrong, every time?

For each assignment it grades, through the real isolated path:
- the reference solution over K seeds: any check that ever fails is a flake;
- the untouched release: every item must score 0;
- each known mistake of ``source/ASSIGNMENT/mutants.py``: it must lose points on its own
  item, with a message containing its ``expect`` phrase, and on no other item;
- each alternative correct solution of ``source/ASSIGNMENT/alternatives.py`` (another
  sound way to write an item, put on top of the reference): it must keep full marks.
"""
from __future__ import annotations

import runpy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import CourseError, load_suite
from autograder.grading.processes import Zygote
from autograder.grading.results import SubmissionResult
from autograder.grading.runner import Grader
from autograder.submissions import Submission, read_cells

MUTANTS_FILE = "mutants.py"
ALTERNATIVES_FILE = "alternatives.py"


@dataclass
class ItemReport:
    """What validation saw of one item."""

    id: str
    points: float
    reference_full: int = 0
    reference_runs: int = 0
    flaky_checks: set[str] = field(default_factory=set)
    release_score: float = 0.0
    mutants: int = 0
    mutants_caught: int = 0
    alternatives: int = 0
    alternatives_full: int = 0


@dataclass
class Validation:
    assignment: str
    seeds: list[int]
    items: dict[str, ItemReport]
    problems: list[str] = field(default_factory=list)

    def table(self) -> str:
        header = ("item", "points", "reference", "release", "mutants caught", "alternatives full")
        rows = [(r.id, f"{r.points:g}", f"{r.reference_full}/{r.reference_runs} full"
                 + (f" (flaky: {', '.join(sorted(r.flaky_checks))})" if r.flaky_checks else ""),
                 f"{r.release_score:g}", f"{r.mutants_caught}/{r.mutants}", f"{r.alternatives_full}/{r.alternatives}")
                for r in self.items.values()]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"{self.assignment} (seeds {self.seeds[0]}..{self.seeds[-1]}, {len(self.seeds)} runs)"]
        lines += ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
        lines += [f"PROBLEM: {p}" for p in self.problems] or ["ok"]
        return "\n".join(lines) + "\n"


def notebook_of(course: Path, folder: str, assignment: str) -> list[str]:
    path = course / folder / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise CourseError(f"{path} not found: run `autograder build` first")
    return read_cells(path)


def load_variants(course: Path, assignment: str, filename: str, name: str) -> list[dict]:
    """The list ``name`` of ``source/ASSIGNMENT/filename``: dicts with item, name, code (and expect)."""
    path = course / "source" / assignment / filename
    return runpy.run_path(str(path))[name] if path.is_file() else []


def validate(assignment: str, course: Path, zygote: Zygote, seeds: list[int], workers: int = 1) -> Validation:
    suite = load_suite(assignment, hidden=True, course=course)
    report = Validation(assignment, seeds, {i.id: ItemReport(i.id, i.points) for i in suite.items})
    solution, release = notebook_of(course, "solutions", assignment), notebook_of(course, "exercises", assignment)
    mutants = load_variants(course, assignment, MUTANTS_FILE, "MUTANTS")
    alternatives = load_variants(course, assignment, ALTERNATIVES_FILE, "ALTERNATIVES")
    jobs = [("reference", seed, solution, None) for seed in seeds] + [("release", seeds[0], release, None)]
    jobs += [("mutant", seeds[i % len(seeds)], solution + [m["code"]], m) for i, m in enumerate(mutants)]
    jobs += [("alternative", seeds[i % len(seeds)], solution + [a["code"]], a) for i, a in enumerate(alternatives)]

    def grade(job: tuple) -> SubmissionResult:
        kind, seed, cells, mutant = job
        return Grader(suite, zygote=zygote, seed=seed).grade(Submission(mutant["name"] if mutant else kind, kind, cells))

    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = list(pool.map(grade, jobs))
    if not mutants:
        report.problems.append(f"no known mistakes in source/{assignment}/{MUTANTS_FILE}")
    for (kind, seed, _, mutant), result in zip(jobs, results):
        if result.error:
            report.problems.append(f"{kind} {mutant['name'] if mutant else ''} (seed {seed}) not graded: {result.error}")
        elif kind == "reference":
            _reference(report, result, seed)
        elif kind == "release":
            _release(report, result)
        elif kind == "alternative":
            _alternative(report, result, mutant, seed)
        else:
            _mutant(report, result, mutant, seed)
    return report


def _reference(report: Validation, result: SubmissionResult, seed: int) -> None:
    for graded in result.items:
        item = report.items[graded.id]
        item.reference_runs += 1
        item.reference_full += graded.score == graded.max_score
        for c in graded.checks:
            if not c.passed:
                item.flaky_checks.add(c.name)
                report.problems.append(f"reference fails {graded.id}.{c.name} with seed {seed}: {c.message}")


def _release(report: Validation, result: SubmissionResult) -> None:
    for graded in result.items:
        report.items[graded.id].release_score = graded.score
        if graded.score:
            report.problems.append(f"the untouched release scores {graded.score:g} on {graded.id}")


def _mutant(report: Validation, result: SubmissionResult, mutant: dict, seed: int) -> None:
    name, own = f"mutant {mutant['item']}/{mutant['name']} (seed {seed})", mutant["item"]
    if own not in report.items:
        report.problems.append(f"{name}: unknown item")
        return
    item = report.items[own]
    item.mutants += 1
    graded = next(i for i in result.items if i.id == own)
    messages = [c.message for c in graded.checks if not c.passed]
    if graded.score >= graded.max_score:
        report.problems.append(f"{name} keeps full marks: not caught")
        return
    item.mutants_caught += 1
    if not any(mutant["expect"].lower() in m.lower() for m in messages):
        report.problems.append(f"{name} is caught, but no message says {mutant['expect']!r}: {messages}")
    allowed = {own, *mutant.get("also", ())}
    others = [i.id for i in result.items if i.id not in allowed and i.score < i.max_score]
    if others:
        report.problems.append(f"{name} also costs points on {', '.join(others)}")


def _alternative(report: Validation, result: SubmissionResult, alternative: dict, seed: int) -> None:
    name = f"alternative {alternative['item']}/{alternative['name']} (seed {seed})"
    if alternative["item"] in report.items:
        report.items[alternative["item"]].alternatives += 1
    lost = [(i.id, c.name, c.message) for i in result.items for c in i.checks if not c.passed]
    if lost:
        report.problems.append(f"{name} loses points: {lost}")
    elif alternative["item"] in report.items:
        report.items[alternative["item"]].alternatives_full += 1
