"""nbgrader's own commands work on the course and grade through the engine, with partial credit."""
import csv

import nbformat
import pytest

from conftest import ASSIGNMENT, gradebook_scores, nbgrader, new_course, submit

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
NAN_ON_ZERO_ROWS = "def normalize_rows(x, eps=1e-12):\n    return x / x.norm(dim=1, keepdim=True)\n"
WARNS = ("import sys, warnings\n"
         "warnings.warn('a deprecation from my code', UserWarning)\n"
         "print('noise on stderr', file=sys.stderr)\n"
         "_plain = pairwise_sq_dists\n"
         "def pairwise_sq_dists(x, y):\n"
         "    warnings.warn('torch-style warning', UserWarning)\n"
         "    print('more noise', file=sys.stderr)\n"
         "    return _plain(x, y)\n")


def with_extra_cell(nb, source, after_grade_id):
    nb = nbformat.from_dict(nb)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after_grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("course"))
    solution = nbformat.read(course / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    submit(course, "alice", solution)
    submit(course, "bob", with_extra_cell(solution, NAN_ON_ZERO_ROWS, "sol_normalize_rows"))
    submit(course, "carol", release)
    submit(course, "dave", with_extra_cell(solution, WARNS, "sol_pairwise_sq_dists"))
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    nbgrader(course, "export", "--to", "grades.csv")
    return course


def scores(course):
    return gradebook_scores(course, ["alice", "bob", "carol", "dave"])


def test_gradebook_holds_full_partial_and_zero_scores(course):
    got = scores(course)
    assert sum(got["alice"].values()) == 21 and sum(got["carol"].values()) == 0
    assert 0 < got["bob"]["normalize_rows"] < 3
    assert {k: v for k, v in got["bob"].items() if k != "normalize_rows"} == {k: 3 for k in got["alice"] if k != "normalize_rows"}


def test_warnings_and_stderr_from_correct_code_cost_nothing(course):
    assert sum(scores(course)["dave"].values()) == 21


def test_feedback_shows_failed_checks_but_no_hidden_source(course):
    html = (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "normalize_zero_rows_stay_zero" in html and "NaN" in html
    assert "BEGIN HIDDEN" not in html and "hidden=True" not in html


def test_export_lists_every_student(course):
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader((course / "grades.csv").open())}
    assert rows["alice"] == 21 and rows["carol"] == 0 and 18 < rows["bob"] < 21


def test_autograded_notebooks_record_the_seed(course):
    nb = nbformat.read(course / "autograded" / "alice" / ASSIGNMENT / NOTEBOOK, as_version=4)
    grade_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(grade_cells) == 7 and all("(seed " in c.outputs[0]["text"] for c in grade_cells)
