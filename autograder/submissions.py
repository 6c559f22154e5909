"""Find submissions on disk and read the code each one contributes.

A submission is a ``.py`` file, an ``.ipynb`` notebook (every code cell that is not a
grade cell, in order), or a folder of the assignment's notebooks (nbgrader's
``submitted/STUDENT/ASSIGNMENT/``). A folder of such folders grades every student in it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Submission:
    id: str
    path: str
    cells: list[str] = field(default_factory=list)
    error: str | None = None


def is_grade_cell(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def notebook_cells(nb: dict) -> list[str]:
    """The student's code: every code cell that is not a grade (test) cell, in order."""
    return [_text(c.get("source", "")) for c in nb["cells"] if c.get("cell_type") == "code" and not is_grade_cell(c)]


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def read_cells(path: Path) -> list[str]:
    if path.suffix == ".py":
        return [path.read_text(encoding="utf-8")]
    return notebook_cells(read_notebook(path))


def read_notebook(path: Path) -> dict:
    """A v4 notebook as plain JSON (fast: no schema validation); older formats through nbformat."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise ValueError("not a Jupyter notebook")
    if nb.get("nbformat") != 4:
        import nbformat

        return nbformat.read(path, as_version=4)
    if not all(isinstance(c, dict) for c in nb["cells"]):
        raise ValueError("not a Jupyter notebook: malformed cells")
    return nb


def load(path: Path, sub_id: str, shown: str) -> Submission:
    files = [path] if path.is_file() else sorted(path.glob("*.ipynb")) or sorted(path.glob("*.py"))
    if not files:
        return Submission(sub_id, shown, error=f"no notebook or .py file in {shown}")
    cells: list[str] = []
    try:
        for file in files:
            cells += read_cells(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSON and nbformat errors are ValueErrors
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
