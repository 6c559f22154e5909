"""Every assignment's checks tell right from wrong (the validator), and the coverage table is current."""
import shutil

import pytest

from autograder.assignments import ASSIGNMENTS
from autograder.coverage import coverage_table
from conftest import ROOT, cli

VALIDATE_SEEDS = "3"  # `autograder validate` defaults to 20; the closing notes report those runs


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_validator_finds_no_flake_no_scoring_stub_and_catches_every_mutant(assignment):
    run = cli("validate", assignment, "--seeds", VALIDATE_SEEDS, "--workers", "2")
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "0 problem(s)" in run.stdout


def test_validator_fails_on_a_mutant_it_cannot_catch(tmp_path):
    for folder in ("source", "exercises", "solutions"):
        shutil.copytree(ROOT / folder / "01_tensors", tmp_path / folder / "01_tensors")
    mutants = tmp_path / "source" / "01_tensors" / "mutants.py"
    mutants.write_text('MUTANTS = [dict(item="one_hot", name="same_as_reference", expect="x", code="pass")]\n')
    run = cli("validate", "01_tensors", "--seeds", "1", "--course", str(tmp_path))
    assert run.returncode == 1
    assert "one_hot/same_as_reference" in run.stdout and "not caught" in run.stdout


def test_coverage_table_in_docs_is_current():
    committed = (ROOT / "docs" / "COVERAGE.md").read_text()
    assert committed == coverage_table(ROOT), "docs/COVERAGE.md is stale: run `autograder coverage > docs/COVERAGE.md`"


def test_every_item_has_checks_in_the_categories_that_prove_values():
    from autograder.course import load_suite

    for assignment in ASSIGNMENTS:
        suite = load_suite(assignment, hidden=True, course=ROOT)
        for item in suite.items:
            checks = suite.checks_for(item.id)
            assert any(not c.hidden for c in checks), f"{assignment}.{item.id} has no public check"
            assert any(c.hidden for c in checks), f"{assignment}.{item.id} has no hidden check"
