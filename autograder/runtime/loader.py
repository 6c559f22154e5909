"""Run a submission's cells into a fresh namespace, as a notebook kernel would."""
from __future__ import annotations

import contextlib
import io
import re
import signal
from typing import Any

from autograder.runtime.calls import STDOUT_LIMIT, describe_exception

_MAGIC = re.compile(r"^\s*[%!]")
CELL_SECONDS = 5.0


class CellTimedOut(BaseException):
    """A cell ran past its time at load; it is interrupted, as a kernel's cell timeout would."""


def _interrupt(signum: int, frame: Any) -> None:
    raise CellTimedOut(f"the cell ran longer than {CELL_SECONDS:g} s and was interrupted")


def strip_magics(source: str) -> str:
    """Drop IPython line magics and shell escapes; a ``%%`` cell magic drops its cell."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("pass" if _MAGIC.match(line) else line for line in source.splitlines())


def load_cells(cells: list[str]) -> tuple[dict[str, Any], dict]:
    """Execute every cell in order in one namespace; a failing cell does not stop the rest.

    Returns the namespace and a report: ``cell_errors`` (one line per failing cell) and
    the captured ``stdout``.
    """
    namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": __builtins__}
    errors: list[str] = []
    out = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _interrupt)
    for index, source in enumerate(cells, start=1):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                signal.setitimer(signal.ITIMER_REAL, CELL_SECONDS)
                exec(compile(strip_magics(source), f"<submission cell {index}>", "exec"), namespace)
            except BaseException as exc:  # SystemExit, KeyboardInterrupt: the cell fails, the rest runs
                info = describe_exception(exc)
                errors.append(f"cell {index}: {info['type']}: {info['message']}".splitlines()[0][:300])
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    return namespace, {"cell_errors": errors, "stdout": out.getvalue()[:STDOUT_LIMIT]}
