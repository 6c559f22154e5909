"""The CLI of INTERFACE.md: full marks for the solution, zero for the release, every item listed."""
import csv
import io
import json

import pytest

from conftest import ASSIGNMENT, RELEASE, SOLUTION, cli

ITEMS = ["pairwise_sq_dists", "normalize_rows", "one_hot", "to_numpy", "from_numpy_shared", "attention_scores",
         "nhwc_to_nchw"]


@pytest.fixture(scope="module")
def graded():
    run = cli("grade", ASSIGNMENT, str(SOLUTION), str(RELEASE), "--format", "json", "--seed", "7")
    assert run.returncode == 0, run.stderr
    return run


def test_stdout_is_only_the_json_document(graded):
    doc = json.loads(graded.stdout)
    assert doc["assignment"] == ASSIGNMENT and doc["max_score"] == 21.0 and doc["seed"] == 7
    assert "graded" in graded.stderr  # progress goes to stderr


def test_solution_gets_full_marks_and_release_gets_zero(graded):
    solution, release = json.loads(graded.stdout)["submissions"]
    assert solution["score"] == solution["max_score"] == 21.0 and solution["error"] is None
    assert release["score"] == 0.0
    for sub in (solution, release):
        assert [i["id"] for i in sub["items"]] == ITEMS
        for item in sub["items"]:
            assert item["checks"], item["id"]
            for c in item["checks"]:
                assert set(c) == {"name", "category", "passed", "hidden", "message"}
                assert c["category"] in {"shapes", "gradients", "convergence", "device", "values", "api", "errors"}
    assert all(c["passed"] for i in solution["items"] for c in i["checks"])
    assert not any(c["passed"] for i in release["items"] for c in i["checks"] if c["name"] != "no_banned_api")


def test_public_and_hidden_checks_are_both_run(graded):
    solution = json.loads(graded.stdout)["submissions"][0]
    flags = {c["hidden"] for i in solution["items"] for c in i["checks"]}
    assert flags == {True, False}


def test_same_seed_replays_the_same_result(graded):
    again = cli("grade", ASSIGNMENT, str(SOLUTION), str(RELEASE), "--format", "json", "--seed", "7")
    strip = lambda doc: [{k: v for k, v in s.items() if k != "seconds"} for s in json.loads(doc)["submissions"]]
    assert strip(again.stdout) == strip(graded.stdout)


def test_fresh_seed_each_run_is_recorded():
    seeds = {json.loads(cli("grade", ASSIGNMENT, str(SOLUTION), "--format", "json").stdout)["seed"] for _ in range(2)}
    assert len(seeds) == 2


def test_csv_and_table_formats(tmp_path):
    run = cli("grade", ASSIGNMENT, str(SOLUTION), "--format", "csv", "--gradescope", str(tmp_path / "results.json"))
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert rows[0]["score"] == "21" and rows[0]["pairwise_sq_dists"] == "3"
    gradescope = json.loads((tmp_path / "results.json").read_text())
    assert gradescope["score"] == 21.0 and len([t for t in gradescope["tests"] if t["max_score"]]) == 7
    table = cli("grade", ASSIGNMENT, str(RELEASE)).stdout
    assert "0/21" in table and "not implemented yet" in table


def test_broken_and_missing_submissions_still_get_a_row(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    run = cli("grade", ASSIGNMENT, str(bad), str(tmp_path / "missing.py"), "--format", "json")
    assert run.returncode == 0
    subs = json.loads(run.stdout)["submissions"]
    assert [s["id"] for s in subs] == ["broken", "missing"]
    assert "could not read" in subs[0]["error"] and "does not exist" in subs[1]["error"]
    assert all(s["score"] == 0 and len(s["items"]) == 7 for s in subs)


def test_nbgrader_submitted_folder_grades_every_student(tmp_path):
    for student, source in (("ann", SOLUTION), ("ben", RELEASE)):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(source.read_text())
    doc = json.loads(cli("grade", ASSIGNMENT, str(tmp_path / "submitted"), "--format", "json").stdout)
    assert {s["id"]: s["score"] for s in doc["submissions"]} == {"ann": 21.0, "ben": 0.0}
    one = json.loads(cli("grade", ASSIGNMENT, str(tmp_path / "submitted" / "ann" / ASSIGNMENT), "--format", "json").stdout)
    assert one["submissions"][0]["id"] == "ann"


def test_py_file_and_notebook_grade_the_same(tmp_path, solution_cells):
    py = tmp_path / "sol.py"
    py.write_text("\n\n".join(solution_cells))
    doc = json.loads(cli("grade", ASSIGNMENT, str(py), "--format", "json", "--seed", "3").stdout)
    assert doc["submissions"][0]["score"] == 21.0


def test_unknown_assignment_is_an_error():
    run = cli("grade", "99_nothing", str(SOLUTION))
    assert run.returncode != 0 and "99_nothing" in run.stderr


def test_python_dash_m_and_console_script_agree():
    run = cli("check", ASSIGNMENT, str(SOLUTION), "--format", "json")
    doc = json.loads(run.stdout)
    assert all(not c["hidden"] for i in doc["submissions"][0]["items"] for c in i["checks"])
    assert doc["submissions"][0]["score"] == 21.0
