"""Every classic mistake of the contract loses points on its own item, with a message naming it."""
import runpy

import pytest

from conftest import ROOT, failed_messages, item

MUTANTS = runpy.run_path(str(ROOT / "source" / "01_tensors" / "mutants.py"))["MUTANTS"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m['item']}-{m['name']}" for m in MUTANTS])
def test_mistake_costs_points_on_its_item_only(mutant, grade, solution_cells):
    result = grade(solution_cells + [mutant["code"]])
    graded = item(result, mutant["item"])
    assert graded.score < graded.max_score
    messages = failed_messages(result, mutant["item"])
    assert any(mutant["expect"].lower() in m.lower() for m in messages), messages
    assert all(i.score == i.max_score for i in result.items if i.id != mutant["item"])


def test_banned_api_costs_the_whole_item(grade, solution_cells):
    banned = next(m for m in MUTANTS if m["name"] == "banned_one_hot")
    graded = item(grade(solution_cells + [banned["code"]]), "one_hot")
    assert graded.score == 0
    assert any(c.name == "no_banned_api" and not c.passed for c in graded.checks)
