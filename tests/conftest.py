"""Shared fixtures: one zygote for the session, the 01_tensors suite and its solution."""
from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import load_suite
from autograder.grading.processes import Zygote
from autograder.grading.results import SubmissionResult
from autograder.grading.runner import Grader
from autograder.submissions import Submission, notebook_cells

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_tensors"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def needs_bubblewrap():
    """Skip, saying why, where bubblewrap cannot run (the kit then falls back with a warning)."""
    from autograder.grading.sandbox import bwrap_problem

    problem = bwrap_problem()
    if problem:
        pytest.skip(f"sandbox unavailable here: {problem}")


@pytest.fixture(scope="session")
def zygote():
    z = Zygote()
    yield z
    z.close()


@pytest.fixture(scope="session")
def suite():
    return load_suite(ASSIGNMENT, hidden=True, course=ROOT)


@pytest.fixture(scope="session")
def solution_cells() -> list[str]:
    return notebook_cells(nbformat.read(SOLUTION, as_version=4))


@pytest.fixture(scope="session")
def mutants() -> list[dict]:
    return runpy.run_path(str(ROOT / "source" / ASSIGNMENT / "mutants.py"))["MUTANTS"]


@pytest.fixture
def grade(suite, zygote):
    """grade(cells, seed=...) -> SubmissionResult, through the real child processes."""

    def run(cells: list[str], seed: int = 1234, sub_id: str = "s") -> SubmissionResult:
        return Grader(suite, seed=seed, zygote=zygote).grade(Submission(sub_id, "-", cells))

    return run


def item(result: SubmissionResult, item_id: str):
    return next(i for i in result.items if i.id == item_id)


def failed_messages(result: SubmissionResult, item_id: str) -> list[str]:
    return [c.message for c in item(result, item_id).checks if not c.passed]


def nbgrader(course: Path, *args: str) -> None:
    """Run one of nbgrader's own commands in a course directory."""
    from autograder.build import tool_env

    subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=course, check=True,
                   env=tool_env(), timeout=600)


def new_course(root: Path) -> Path:
    """A copy of the course's source and config, with the release and solutions generated."""
    shutil.copytree(ROOT / "source", root / "source")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader(root, "generate_solution", ASSIGNMENT, "--force")
    return root


def submit(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def gradebook_scores(course: Path, students: list[str]) -> dict[str, dict[str, float | None]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {g.name: (None if g.needs_manual_grade else g.score)
                    for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades} for s in students}


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder`` as a user would."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
