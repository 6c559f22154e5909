"""Tampered notebooks under nbgrader: grades come from the instructor's checks, never from the
student's copy of the grade cells, and nothing is left as "needs manual grading"."""
import copy

import nbformat
import pytest

from conftest import ASSIGNMENT, gradebook_scores, nbgrader, new_course, submit

pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")  # the duplicate is the test
ITEMS = ["pairwise_sq_dists", "normalize_rows", "one_hot", "to_numpy", "from_numpy_shared", "attention_scores",
         "nhwc_to_nchw"]


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def tampered(solution, release):
    """student -> notebook, each with one kind of tampering."""
    edited = copy.deepcopy(release)  # stubs, with grade cells rewritten to look passing
    for item in ITEMS:
        cell_of(edited, item).source = "print('all checks passed')\n3.0"
    deleted = copy.deepcopy(solution)
    deleted.cells.remove(cell_of(deleted, "one_hot"))
    repointed = copy.deepcopy(release)
    cell_of(repointed, "one_hot").metadata.nbgrader.update(points=100)
    cell_of(repointed, "to_numpy").metadata.nbgrader.update(grade_id="bonus_points", points=50)
    duplicated = copy.deepcopy(release)
    duplicated.cells.append(copy.deepcopy(cell_of(duplicated, "pairwise_sq_dists")))
    moved = copy.deepcopy(solution)  # the pairwise solution lives in its grade cell now
    solution_cell = cell_of(moved, "sol_pairwise_sq_dists")
    cell_of(moved, "pairwise_sq_dists").source = solution_cell.source
    moved.cells.remove(solution_cell)
    return {"edited": edited, "deleted": deleted, "repointed": repointed, "duplicated": duplicated, "moved": moved}


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("course"))
    solution = nbformat.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    notebooks = tampered(solution, release)
    for student, nb in notebooks.items():
        submit(course, student, nb)
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return gradebook_scores(course, list(notebooks))


def test_rewritten_grade_cells_earn_nothing(scores):
    assert scores["edited"] == {item: 0.0 for item in ITEMS}


def test_a_deleted_grade_cell_is_restored_and_graded(scores):
    assert scores["deleted"] == {item: 3.0 for item in ITEMS}


def test_changed_points_and_grade_ids_are_ignored(scores):
    assert scores["repointed"] == {item: 0.0 for item in ITEMS}


def test_duplicated_grade_cells_count_once(scores):
    assert scores["duplicated"] == {item: 0.0 for item in ITEMS}


def test_code_moved_into_a_grade_cell_is_not_graded(scores):
    assert scores["moved"]["pairwise_sq_dists"] == 0.0
    assert all(scores["moved"][item] == 3.0 for item in ITEMS if item != "pairwise_sq_dists")
