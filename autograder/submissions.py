"""Find submissions on disk and read the code each one contributes.

A submission is a ``.py`` file, an ``.ipynb`` notebook (every code cell that is not a
grade cell, in order), or a folder of the assignment's notebooks (nbgrader's
``submitted/STUDENT/ASSIGNMENT/``). A folder of such folders grades every student in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Submission:
    id: str
    path: str
    cells: list[str] = field(default_factory=list)
    error: str | None = None


def is_grade_cell(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def notebook_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The student's code: every code cell that is not a grade (test) cell, in order."""
    return [c.source for c in nb.cells if c.cell_type == "code" and not is_grade_cell(c)]


def read_cells(path: Path) -> list[str]:
    if path.suffix == ".py":
        return [path.read_text(encoding="utf-8")]
    return notebook_cells(nbformat.read(path, as_version=4))


def load(path: Path, sub_id: str, shown: str) -> Submission:
    files = [path] if path.is_file() else sorted(path.glob("*.ipynb")) or sorted(path.glob("*.py"))
    if not files:
        return Submission(sub_id, shown, error=f"no notebook or .py file in {shown}")
    cells: list[str] = []
    try:
        for file in files:
            cells += read_cells(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # nbformat raises ValueError subclasses
        return Submission(sub_id, shown, error=f"could not read {file.name}: {str(exc).splitlines()[0][:200]}")
    return Submission(sub_id, shown, cells)


def discover(paths: list[str], assignment: str) -> list[Submission]:
    """Expand the command line's SUBMISSION arguments into submissions."""
    found: list[Submission] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            if path.suffix not in (".py", ".ipynb"):
                found.append(Submission(path.stem, given, error=f"{given} is neither a .py file nor an .ipynb notebook"))
            else:
                found.append(load(path, path.stem, given))
        elif path.is_dir():
            found += _discover_folder(path, assignment, given)
        else:
            found.append(Submission(path.stem or given, given, error=f"{given} does not exist"))
    return found


def _discover_folder(path: Path, assignment: str, given: str) -> list[Submission]:
    if any(path.glob("*.ipynb")) or any(path.glob("*.py")):
        student = path.parent.name if path.name == assignment else path.name
        return [load(path, student, given)]
    students = []
    for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = child / assignment if (child / assignment).is_dir() else child
        students.append(load(folder, child.name, str(Path(given) / folder.relative_to(path))))
    return students or [Submission(path.name, given, error=f"no submissions found in {given}")]
