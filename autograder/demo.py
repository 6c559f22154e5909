"""`autograder demo`: build the course, grade sample submissions with nbgrader, print the table."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from autograder.build import build_course, tool_env
from autograder.nbgrader_plugin import gradebook_table

ASSIGNMENT = "01_tensors"
# A partly wrong submission: three classic mistakes in otherwise correct work.
MISTAKES = {
    "sol_pairwise_sq_dists": "def pairwise_sq_dists(x, y):\n    return ((y[:, None, :] - x[None, :, :]) ** 2).sum(-1)\n",
    "sol_one_hot": ("def one_hot(labels, num_classes):\n"
                    "    return torch.nn.functional.one_hot(labels, num_classes).float()\n"),
    "sol_attention_scores": "def attention_scores(q, k):\n    return q @ k.transpose(-2, -1)\n",
}


def nbgrader(*args: str, course: Path) -> None:
    subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=course, check=True, env=tool_env())


def write_submission(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def make_submissions(course: Path) -> None:
    shutil.rmtree(course / "submitted", ignore_errors=True)
    solution = nbformat.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    partly_wrong = nbformat.from_dict(solution)
    for cell in partly_wrong.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in MISTAKES:
            cell.source = MISTAKES[grade_id]
    write_submission(course, "alice", solution)
    write_submission(course, "bob", partly_wrong)
    write_submission(course, "carol", release)


def main(course: Path = Path(".")) -> int:
    started = time.perf_counter()
    print("building exercises/ and solutions/ from source/ ...", file=sys.stderr)
    build_course(course)
    print("sample submissions: alice (solution), bob (three mistakes), carol (untouched release)", file=sys.stderr)
    make_submissions(course)
    nbgrader("autograde", ASSIGNMENT, "--force", course=course)
    nbgrader("generate_feedback", ASSIGNMENT, "--force", course=course)
    nbgrader("export", "--to", "demo_export.csv", course=course)
    print(gradebook_table(ASSIGNMENT, str(course / "gradebook.db")), end="")
    print(f"\nfeedback: {course / 'feedback'}/STUDENT/{ASSIGNMENT}/{ASSIGNMENT}.html; "
          f"grades exported to demo_export.csv ({time.perf_counter() - started:.1f} s)")
    return 0
