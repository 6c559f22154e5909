"""Grade submissions: every item's checks against the submission's own child process."""
from __future__ import annotations

import logging
import secrets
import time

import torch

from autograder.checks.api import Check, CheckFailed, Item
from autograder.checks.expect import CPU_HINT, GRAPH_HINT
from autograder.checks.inputs import Inputs, derive_seed
from autograder.course import Suite
from autograder.grading.processes import ProcessDied, ProtocolBroken, SubmissionProcess, TimedOut, Zygote
from autograder.grading.results import CheckResult, ItemResult, SubmissionResult
from autograder.grading.student import LocalStudent, RemoteStudent, Student, StudentRaised
from autograder.submissions import Submission

log = logging.getLogger("autograder")

LOAD_TIMEOUT = 60.0
BANNED_CHECK = "no_banned_api"


def new_seed() -> int:
    return secrets.randbits(32)


def check_applies(check: Check) -> bool:
    return check.requires != "cuda" or torch.cuda.is_available()


def run_check(check: Check, student: Student, run_seed: int, assignment: str) -> CheckResult:
    """Run one check and turn whatever happened into a verdict with a message."""
    inputs = Inputs(derive_seed(run_seed, assignment, check.item, check.name))
    try:
        check.fn(student, inputs)
    except CheckFailed as exc:
        return _result(check, False, str(exc))
    except StudentRaised as exc:
        return _result(check, False, _raised_message(exc))
    except (TimedOut, ProcessDied):
        raise
    except Exception as exc:  # a bug in the check itself: visible, never a silent pass
        log.exception("check %s.%s failed internally", check.item, check.name)
        return _result(check, False, f"internal error in this check ({type(exc).__name__}: {exc}); please report it")
    return _result(check, True, "")


def _result(check: Check, passed: bool, message: str) -> CheckResult:
    return CheckResult(check.name, check.category, passed, check.hidden, message, check.weight)


# What a classic mistake raises, and the hint that goes with it.
RAISED_HINTS = {
    "Expected all tensors to be on the same device": CPU_HINT,
    "The size of tensor a": ("the shapes do not line up: on batched tensors transpose the last two dims "
                             "(transpose(-2, -1) or .mT), not .T or transpose(0, 1)"),
    "Can't call numpy() on Tensor that requires grad": "call .detach() before .numpy()",
    "can't convert cuda": "call .cpu() before .numpy()",
    "does not require grad and does not have a grad_fn": GRAPH_HINT,
}


def _raised_message(exc: StudentRaised) -> str:
    if exc.raised.type == "NotImplementedError":
        return f"{exc.what} is not implemented yet (it raises NotImplementedError)"
    if exc.raised.type == "NameError" and "is not defined" in exc.raised.message and not exc.raised.where:
        return f"{exc.what} is not defined in the submission"
    hints = [hint for marker, hint in RAISED_HINTS.items() if marker in exc.raised.message]
    return f"{exc.what} raised {exc.raised}" + "".join(f"\n  hint: {h}" for h in hints)


def score_item(item: Item, results: list[CheckResult], banned_seen: list[str]) -> ItemResult:
    """Points in proportion to the weight of the checks passed; a banned API costs the item."""
    if item.banned:
        message = f"uses banned {', '.join(banned_seen)}: this item is to be written by hand" if banned_seen else ""
        results = [*results, CheckResult(BANNED_CHECK, "api", not banned_seen, False, message, 0.0)]
    total = sum(r.weight for r in results)
    passed = sum(r.weight for r in results if r.passed)
    score = 0.0 if banned_seen or total == 0 else round(item.points * passed / total, 4)
    return ItemResult(item.id, score, item.points, results)


def zero_item(item: Item, suite: Suite, reason: str) -> ItemResult:
    results = [_result(c, False, reason) for c in suite.checks_for(item.id) if check_applies(c)]
    return ItemResult(item.id, 0.0, item.points, results)


class Grader:
    """Grades submissions of one assignment; one zygote serves every submission."""

    def __init__(self, suite: Suite, zygote: Zygote, seed: int | None = None) -> None:
        self.suite = suite
        self.zygote = zygote
        self.seed = new_seed() if seed is None else seed

    def grade_safely(self, submission: Submission) -> SubmissionResult:
        """``grade``, but an internal error becomes the submission's row: a batch never dies of one."""
        try:
            return self.grade(submission)
        except Exception as exc:
            log.exception("grading %s failed", submission.id)
            reason = f"internal grader error: {type(exc).__name__}: {exc}"
            items = [zero_item(item, self.suite, reason) for item in self.suite.items]
            return SubmissionResult(submission.id, submission.path, 0.0, self.suite.max_score, reason, items)

    def grade(self, submission: Submission) -> SubmissionResult:
        started = time.perf_counter()
        error, process, notes = submission.error, None, []
        if error is None:
            try:
                process = self.zygote.load(submission.cells, LOAD_TIMEOUT)
                notes = [f"while loading, {e}" for e in process.report["cell_errors"]]
            except TimedOut:
                error = f"running the submission's cells took longer than {LOAD_TIMEOUT:g} s"
            except ProtocolBroken:
                error = "the submission broke the grader's protocol while its cells ran (tampering?)"
            except ProcessDied:
                error = "the submission ended its process while its cells ran (os._exit() or a crash)"
        try:
            if error is None:
                items = [self._grade_item(process, item) for item in self.suite.items]
            else:
                items = [zero_item(item, self.suite, f"not graded: {error}") for item in self.suite.items]
        finally:
            if process is not None:
                process.close()
        score = round(sum(i.score for i in items), 4)
        return SubmissionResult(submission.id, submission.path, score, self.suite.max_score, error, items,
                                notes, round(time.perf_counter() - started, 3))

    def _grade_item(self, process: SubmissionProcess, item: Item) -> ItemResult:
        deadline = time.monotonic() + item.timeout
        student: RemoteStudent | None = None
        results: list[CheckResult] = []
        stopped = ""
        for check in filter(check_applies, self.suite.checks_for(item.id)):
            if stopped:
                results.append(_result(check, False, stopped))
                continue
            try:
                if student is None or not student.channel.alive:
                    channel = process.fork_item(cpu_seconds=int(item.timeout * 3) + 5)
                    student = student or RemoteStudent(channel, deadline, item.banned)
                    student.channel = channel
                results.append(run_check(check, student, self.seed, self.suite.assignment))
            except TimedOut:
                results.append(_result(check, False, f"timed out: {item.id} used up its {item.timeout:g} s "
                                                     "(an infinite loop, or a Python loop where vectorised code is needed?)"))
                stopped = "not run: an earlier check of this item timed out"
            except ProtocolBroken:
                results.append(_result(check, False, "the process running your code sent a malformed or forged "
                                                     "reply (does the submission tamper with the grader?)"))
            except ProcessDied:
                results.append(_result(check, False, "the process running your code ended abruptly "
                                                     "(os._exit(), a crash or a signal) during this check"))
        if student is not None:
            student.channel.kill()
        return score_item(item, results, student.banned_seen if student else [])


def grade_item_locally(suite: Suite, item_id: str, namespace: dict, seed: int) -> ItemResult:
    """Self-check: run an item's checks against student code in this very process."""
    item = suite.item(item_id)
    student = LocalStudent(namespace, item.banned)
    results = [run_check(c, student, seed, suite.assignment) for c in suite.checks_for(item_id) if check_applies(c)]
    return score_item(item, results, student.banned_seen)
