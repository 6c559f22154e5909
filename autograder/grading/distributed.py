"""Spread submissions over a Dask distributed cluster.

Each Dask worker process keeps its own torch-preloaded zygote (started on its first task,
inside the sandbox where the worker can run bubblewrap) and grades with the same Grader as
the local pool; only the submission's cells go out and plain result data comes back. The
workers need the kit installed and the course directory (for the hidden checks) at the same
path, e.g. a shared home or volume.
"""
from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Callable, Iterable

from autograder.grading.results import SubmissionResult
from autograder.submissions import Submission

_graders: dict[tuple, object] = {}
_lock = threading.Lock()


def _worker_grader(assignment: str, course: str, seed: int, sandbox: str):
    """This worker's Grader for the run, with its zygote, created once."""
    from autograder.course import load_suite
    from autograder.grading.processes import Zygote
    from autograder.grading.runner import Grader
    from autograder.grading.sandbox import prepare
    from autograder.launch import start_zygote

    key = (assignment, course, seed, sandbox)
    with _lock:
        if key not in _graders:
            zygote = Zygote(start_zygote(prepare(sandbox)))
            atexit.register(zygote.close)
            _graders[key] = Grader(load_suite(assignment, hidden=True, course=course), zygote=zygote, seed=seed)
        return _graders[key]


def grade_on_worker(submission: Submission, assignment: str, course: str, seed: int, sandbox: str) -> dict:
    """Dask task: grade one submission on this worker; plain data back."""
    grader = _worker_grader(assignment, course, seed, sandbox)
    return grader.grade_safely(submission).to_dict()


def grade_on_dask(address: str | None, jobs: Iterable[tuple[str, Submission]], *, assignment: str, course: Path,
                  seed: int, sandbox: str, on_done: Callable[[str, SubmissionResult], None]) -> dict:
    """Grade every ``(key, submission)`` on the cluster at ``address`` (None: Dask's own configuration),
    calling ``on_done(key, result)`` as each finishes; returns a worker's sandbox description."""
    from distributed import Client, as_completed

    with Client(address) as client:
        futures = {client.submit(grade_on_worker, submission, assignment, str(course), seed, sandbox, pure=False): key
                   for key, submission in jobs}
        for future in as_completed(futures):
            on_done(futures[future], SubmissionResult.from_dict(future.result()))
        return client.submit(_sandbox_of_worker, assignment, str(course), seed, sandbox, pure=False).result()


def _sandbox_of_worker(assignment: str, course: str, seed: int, sandbox: str) -> dict:
    return _worker_grader(assignment, course, seed, sandbox).zygote.sandbox.describe()
