"""The student release is current, and nothing students get contains a hidden check."""
import shutil

import nbformat
import pytest

from autograder.assignments import ASSIGNMENTS
from autograder.build import build_course
from autograder.course import load_suite
from conftest import ASSIGNMENT, ROOT, SOLUTION, cli

PACKAGE = ROOT / "autograder"


def cells_of(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source", course / "source")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    build_course(course)
    return course


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_committed_release_and_solutions_are_not_stale(rebuilt, folder):
    for built in sorted((rebuilt / folder).rglob("*.ipynb")):
        committed = ROOT / built.relative_to(rebuilt)
        assert committed.exists(), f"{committed} is missing: run `make build`"
        assert cells_of(committed) == cells_of(built), f"{committed} is stale: run `make build`"
    assert sorted(p.name for p in (rebuilt / folder).rglob("*") if p.is_file()) == \
        sorted(p.name for p in (ROOT / folder).rglob("*") if p.is_file())


def hidden_markers():
    names = [c.name for a in ASSIGNMENTS for c in load_suite(a, hidden=True, course=ROOT).checks if c.hidden]
    assert len(names) > 6 * len(ASSIGNMENTS)
    return names + ["BEGIN HIDDEN", "hidden=True", "hidden_checks", "MUTANTS", "ALTERNATIVES"]


def test_release_contains_no_hidden_check():
    markers = hidden_markers()
    files = [p for p in (ROOT / "exercises").rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text()
        assert not [m for m in markers if m in text], path


def test_package_used_by_check_contains_no_hidden_check():
    markers = [m for m in hidden_markers() if m not in ("hidden=True", "hidden_checks", "MUTANTS", "ALTERNATIVES")]  # loaders name them
    for path in PACKAGE.rglob("*.py"):
        assert not [m for m in markers if m in path.read_text()], path


def test_check_runs_with_only_the_package_and_the_release(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    shutil.copy(SOLUTION, tmp_path / "mine.ipynb")
    env = {"PYTHONPATH": str(tmp_path), "AUTOGRADER_COURSE": str(tmp_path)}
    run = cli("check", ASSIGNMENT, "mine.ipynb", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "21/21" in run.stdout
    refused = cli("grade", ASSIGNMENT, "mine.ipynb", cwd=tmp_path, env=env)
    assert refused.returncode != 0 and "hidden checks not found" in refused.stderr
