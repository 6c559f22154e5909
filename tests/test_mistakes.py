"""A banned API costs the whole item (every other mistake is checked by the validator: test_curriculum)."""
import runpy

from conftest import ROOT, item

MUTANTS = runpy.run_path(str(ROOT / "source" / "01_tensors" / "mutants.py"))["MUTANTS"]


def test_banned_api_costs_the_whole_item(grade, solution_cells):
    banned = next(m for m in MUTANTS if m["name"] == "banned_one_hot")
    graded = item(grade(solution_cells + [banned["code"]]), "one_hot")
    assert graded.score == 0
    assert any(c.name == "no_banned_api" and not c.passed for c in graded.checks)
