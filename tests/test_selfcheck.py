"""Self-check (in the student's kernel) and grading (in a child process) agree on the public checks."""
import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import load_suite
from autograder.grading.runner import Grader, grade_item_locally
from autograder.runtime import child
from autograder.selfcheck import SelfCheckFailed, selfcheck
from autograder.submissions import Submission, notebook_cells
from conftest import ASSIGNMENT, RELEASE, SOLUTION


@pytest.fixture(scope="module")
def public():
    return load_suite(ASSIGNMENT, hidden=False)


def local_verdicts(public, cells):
    namespace = {"__name__": "submission"}
    for source in cells:
        try:
            exec(compile(source, "<cell>", "exec"), namespace)
        except Exception:
            pass
    return {(i.id, c.name): c.passed for i in public.items
            for c in grade_item_locally(public, i.id, namespace, seed=5).checks}


def remote_verdicts(public, cells, zygote):
    result = Grader(public, seed=5, zygote=zygote).grade(Submission("s", "-", cells))
    return {(i.id, c.name): c.passed for i in result.items for c in i.checks}


def test_public_checks_agree_on_solution_release_and_every_mutant(public, zygote, solution_cells, mutants):
    release_cells = notebook_cells(nbformat.read(RELEASE, as_version=4))
    submissions = [solution_cells, release_cells] + [solution_cells + [m["code"]] for m in mutants]
    disagreements = []
    for cells in submissions:
        local, remote = local_verdicts(public, cells), remote_verdicts(public, cells, zygote)
        assert local.keys() == remote.keys()
        disagreements += [k for k in local if local[k] != remote[k]]
    assert not disagreements


def test_selfcheck_reports_and_raises_on_failure(capsys):
    def pairwise_sq_dists(x, y):  # noqa: F811 (the name selfcheck looks up)
        return ((x[:, None] - y[None]) ** 2).sum(-1)

    globals()["pairwise_sq_dists"] = pairwise_sq_dists
    selfcheck(ASSIGNMENT, "pairwise_sq_dists")
    assert "2/2 public checks passed" in capsys.readouterr().out
    globals()["pairwise_sq_dists"] = lambda x, y: pairwise_sq_dists(y, x)
    with pytest.raises(SelfCheckFailed, match="transposed"):
        selfcheck(ASSIGNMENT, "pairwise_sq_dists")
    del globals()["pairwise_sq_dists"]


def test_selfcheck_is_silent_inside_the_grading_child(monkeypatch):
    monkeypatch.setattr(child, "IN_CHILD", True)
    assert selfcheck(ASSIGNMENT, "pairwise_sq_dists") is None


def run_notebook(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def test_in_a_real_kernel_the_solution_passes_and_the_release_fails():
    for cell in run_notebook(SOLUTION):
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "public checks passed" in text and not any(o.output_type == "error" for o in cell.outputs)
    for cell in run_notebook(RELEASE):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[0].ename == "SelfCheckFailed" and "not implemented yet" in errors[0].evalue
