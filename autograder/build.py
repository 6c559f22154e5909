"""Regenerate the student release (exercises/) and solutions/ from source/ with nbgrader."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tool_env() -> dict[str, str]:
    """nbgrader runs its own tools (alembic): put this interpreter's bin first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "PYTHONWARNINGS": "ignore"}


def source_assignments(course: Path) -> list[str]:
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def build_course(course: Path, assignments: list[str] | None = None) -> None:
    """Run nbgrader's generate_assignment and generate_solution for each assignment."""
    for assignment in assignments or source_assignments(course):
        for step in ("generate_assignment", "generate_solution"):
            subprocess.run([sys.executable, "-m", "nbgrader", step, assignment, "--force", "--log-level=ERROR"],
                           cwd=course, check=True, env=tool_env())
