"""Results written as each submission finishes, so a killed batch resumes where it stopped.

A journal is one JSON-lines file per command (assignment + the SUBMISSION arguments): a
header with the run's seed and the checks' fingerprint, then one line per graded
submission, flushed and fsynced as it finishes. Re-running the same command reads it back:
submissions whose content is unchanged are not graded again, the rest are. A line cut off
by a kill is ignored; a different seed or changed checks start the journal afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from autograder.grading.results import SubmissionResult
from autograder.submissions import Submission

DEFAULT_DIR = ".autograder"


def submission_key(submission: Submission) -> str:
    """Identity of a submission: its id, path and content (a resubmission is graded again)."""
    digest = hashlib.sha256(json.dumps([submission.id, submission.path, submission.cells, submission.error]).encode())
    return digest.hexdigest()[:32]


def journal_path(directory: str | Path, assignment: str, arguments: list[str]) -> Path:
    command = hashlib.sha256(json.dumps([assignment, [os.path.abspath(a) for a in arguments]]).encode())
    return Path(directory) / f"{assignment}-{command.hexdigest()[:16]}.jsonl"


class Journal:
    """Append-only record of one command's graded submissions."""

    def __init__(self, path: Path, seed: int | None, fingerprint: str, force: bool = False) -> None:
        self.path = path
        header, self.done = self._read() if path.is_file() and not force else (None, {})
        usable = header is not None and header.get("fingerprint") == fingerprint and seed in (None, header.get("seed"))
        if not usable:
            self.done = {}
        self.seed = header["seed"] if usable else seed
        self._fingerprint = fingerprint
        self._file = None

    def start(self, seed: int) -> None:
        """Open for appending; a fresh journal gets its header first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.done
        self._file = open(self.path, "w" if fresh else "a", encoding="utf-8")
        if fresh:
            self._write({"seed": seed, "fingerprint": self._fingerprint})
        self.seed = seed

    def record(self, key: str, result: SubmissionResult) -> None:
        self.done[key] = result
        self._write({"key": key, "result": result.to_dict()})

    def close(self) -> None:
        if self._file:
            self._file.close()

    def _write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _read(self) -> tuple[dict | None, dict[str, SubmissionResult]]:
        header, done = None, {}
        with open(self.path, encoding="utf-8") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                    if header is None:
                        header = entry
                    else:
                        done[entry["key"]] = SubmissionResult.from_dict(entry["result"])
                except (ValueError, KeyError, TypeError):  # a line cut off by a kill
                    continue
        return header, done


def suite_fingerprint(assignment: str, course: Path) -> str:
    """Changes when the assignment's checks change, so stale results are not reused."""
    import importlib

    from autograder.assignments import ASSIGNMENTS
    from autograder.course import HIDDEN_CHECKS_FILE

    files = [Path(importlib.import_module(ASSIGNMENTS[assignment]).__file__), course / "source" / assignment / HIDDEN_CHECKS_FILE]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes() if file.is_file() else b"-")
    return digest.hexdigest()[:16]
