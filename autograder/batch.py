"""A grading batch: what is left to grade, where it runs, progress, and results as they finish."""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.course import Suite
from autograder.grading.journal import Journal, submission_key
from autograder.grading.processes import Zygote
from autograder.grading.results import RunResult, SubmissionResult
from autograder.grading.runner import Grader
from autograder.submissions import Submission


@dataclass
class Placement:
    """Where submissions are graded: a local pool of ``workers`` threads on one zygote, or Dask."""

    workers: int = 1
    zygote: Zygote | None = None
    dask: str | None = None  # a scheduler address, or "config" for Dask's own configuration
    sandbox_mode: str = "auto"


class Progress:
    """A progress bar on stderr: done/total, failures, ETA; a line per submission above it."""

    def __init__(self, total: int, already: int, quiet: bool = False) -> None:
        self.failures = 0
        self._lock = threading.Lock()
        self._bar = tqdm(total=total, initial=already, desc="grading", unit="sub", file=sys.stderr,
                         disable=quiet, dynamic_ncols=True, postfix={"failures": 0})

    def done(self, result: SubmissionResult) -> None:
        with self._lock:
            self.failures += result.error is not None
            self._bar.write(f"graded {result.id}: {result.score:g}/{result.max_score:g} in {result.seconds:.2f} s"
                            + (f" ({result.error})" if result.error else ""), file=sys.stderr)
            self._bar.set_postfix(failures=self.failures, refresh=False)
            self._bar.update()

    def close(self) -> None:
        self._bar.close()


def run_batch(suite: Suite, submissions: list[Submission], seed: int, placement: Placement, course: Path,
              journal: Journal | None = None, quiet: bool = False) -> RunResult:
    """Grade what the journal does not hold yet, recording each result as it finishes."""
    keys = [submission_key(s) for s in submissions]
    done = dict(journal.done) if journal else {}
    todo = list({k: s for k, s in zip(keys, submissions) if k not in done}.items())
    if journal:
        journal.start(seed)
    progress = Progress(len(set(keys)), len(set(keys)) - len(todo), quiet)
    lock = threading.Lock()

    def finished(key: str, result: SubmissionResult) -> None:
        with lock:
            done[key] = result
            if journal:
                journal.record(key, result)
        progress.done(result)

    try:
        if placement.dask:
            from autograder.grading.distributed import grade_on_dask

            sandbox = grade_on_dask(None if placement.dask == "config" else placement.dask, todo,
                                    assignment=suite.assignment, course=course, seed=seed,
                                    sandbox=placement.sandbox_mode, on_done=finished)
        else:
            grader = Grader(suite, zygote=placement.zygote, seed=seed)
            with ThreadPoolExecutor(max(1, placement.workers)) as pool:
                list(pool.map(lambda job: finished(job[0], grader.grade_safely(job[1])), todo))
            sandbox = placement.zygote.sandbox.describe()
    finally:
        progress.close()
        if journal:
            journal.close()
    if journal:
        journal.path.unlink()  # complete: a later run of the same command grades afresh
    return RunResult(suite.assignment, suite.max_score, seed, [done[k] for k in keys], sandbox)
