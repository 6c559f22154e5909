"""nbgrader integration: grade notebooks through the engine, and read the gradebook back."""
from __future__ import annotations

import atexit
import os

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Integer, Unicode

from autograder.course import load_suite
from autograder.grading.processes import Zygote
from autograder.grading.sandbox import MODES, prepare
from autograder.grading.results import ItemResult, SubmissionResult
from autograder.grading.runner import Grader
from autograder.selfcheck import format_item
from autograder.submissions import Submission, is_grade_cell, notebook_cells

_zygote: Zygote | None = None


def shared_zygote(sandbox: str) -> Zygote:
    """One torch-preloaded zygote for every notebook an nbgrader run grades."""
    global _zygote
    if _zygote is None:
        _zygote = Zygote(sandbox=prepare(sandbox))
        atexit.register(_zygote.close)
    return _zygote


class EngineGrader(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: grades each item's grade cell through the engine.

    Each grade cell gets the item's report as output and its score as the cell's result,
    which nbgrader reads as partial credit. Nothing runs in a Jupyter kernel.
    """

    course_root = Unicode("", help="course directory holding source/ (default: the current one)").tag(config=True)
    seed = Integer(None, allow_none=True, help="replay a grading run with this seed").tag(config=True)
    sandbox = Enum(MODES, default_value="auto", help="bubblewrap around student code").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        suite = load_suite(info["assignment"], hidden=True, course=self.course_root or os.getcwd())
        grader = Grader(suite, seed=self.seed, zygote=shared_zygote(self.sandbox))
        submission = Submission(info.get("student", "student"), info.get("notebook", ""), notebook_cells(nb))
        result = grader.grade(submission)
        items = {item.id: item for item in result.items}
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade_cell(cell):
                cell.outputs = self._outputs(items.get(cell.metadata.nbgrader.get("grade_id")), result, grader.seed)
        self.log.info("graded %s: %g/%g (seed %d)", submission.id, result.score, result.max_score, grader.seed)
        return nb, resources

    @staticmethod
    def _outputs(item: ItemResult | None, result: SubmissionResult, seed: int) -> list:
        if item is None:
            return [new_output("error", ename="NotAnItem", evalue="this grade cell is not an item of the assignment",
                               traceback=[])]
        text = format_item(item) + f"\nscore {item.score:g}/{item.max_score:g} (seed {seed})\n"
        if result.error:
            text = f"{result.error}\n" + text
        return [new_output("stream", name="stdout", text=text),
                new_output("execute_result", data={"text/plain": f"{item.score:g}"}, execution_count=None)]


class ForgetUnknownCells(NbGraderPreprocessor):
    """Before nbgrader restores the instructor's cells: a cell claiming a grade id that the
    gradebook does not know (renamed by the student, or emptied by DeduplicateIds) becomes a
    plain cell, and the missing one is added back by OverwriteCells (``add_missing_cells``)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            known = {cell.name for cell in [*notebook.grade_cells, *notebook.solution_cells, *notebook.task_cells]}
        for cell in nb.cells:
            if "nbgrader" in cell.metadata and cell.metadata.nbgrader.get("grade_id") not in known:
                self.log.warning("cell %r is not in the gradebook: graded as plain student code",
                                 cell.metadata.nbgrader.get("grade_id"))
                del cell.metadata["nbgrader"]
        return nb, resources


def gradebook_table(assignment: str, db_path: str) -> str:
    """Student x item scores for an assignment, read from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{os.path.abspath(db_path)}") as gb:
        items = [cell.name for nb in gb.find_assignment(assignment).notebooks for cell in nb.grade_cells]
        rows = []
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(assignment, student)
            except Exception:  # MissingEntry: this student has not submitted
                continue
            scores = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
            rows.append([student, *(f"{scores.get(i, 0):g}" for i in items), f"{sub.score:g}/{sub.max_score:g}"])
    header = ["student", *items, "total"]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
