"""The handle a check uses to reach student code, in the kernel or in a child process.

Both handles send the same requests and see the same plain data: a local handle round-
trips every request and outcome through the wire encoding, so self-check and grading
behave alike.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from autograder.grading.processes import Channel, ProtocolBroken
from autograder.runtime import calls, wire
from autograder.runtime.wire import Handle


@dataclass(frozen=True)
class Raised:
    type: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        return text + (f"\n{self.where.rstrip()}" if self.where else "")


class StudentRaised(Exception):
    """Student code raised while a check called it."""

    def __init__(self, what: str, raised: Raised) -> None:
        super().__init__(f"{what} raised {raised}")
        self.what = what
        self.raised = raised


@dataclass
class Outcome:
    """What one request observed; built from plain data only."""

    what: str
    value: Any = None
    raised: Raised | None = None
    stdout: str = ""
    banned_calls: list[str] = field(default_factory=list)
    op_count: int = 0
    seconds: float = 0.0
    grads: list | None = None
    grad_error: str | None = None
    args_after: list | None = None
    kwargs_after: dict | None = None
    value_after_fill: Any = None

    def result(self) -> Any:
        if self.raised is not None:
            raise StudentRaised(self.what, self.raised)
        return self.value


class Student:
    """Reach student code: ``call`` a function, ``run`` it with probes, use kept objects."""

    def __init__(self, banned: tuple[str, ...] = ()) -> None:
        self.banned = banned
        self.banned_seen: list[str] = []

    def call(self, target: str | Handle, *args: Any, **kwargs: Any) -> Any:
        """``target(*args, **kwargs)``; its value, or ``StudentRaised``."""
        return self.run(target, *args, kwargs=kwargs).result()

    def run(self, target: str | Handle, *args: Any, kwargs: dict | None = None, attr: tuple[str, ...] = (),
            call: bool = True, grad_wrt: tuple[int, ...] = (), grad_output: Any = None, keep: bool = False,
            return_args: bool = False, fill_after: tuple[int, Any] | None = None, simulate: bool = False,
            fixture: bool = False) -> Outcome:
        """Call ``target`` (a name or a kept object, then ``attr``) and observe what happened.

        grad_wrt: indices of tensor arguments to differentiate the result by (with
        ``grad_output`` for non-scalar results); keep: leave the result in the student's
        process and get a Handle; return_args: the arguments as they are after the call;
        fill_after: ``(index, value)`` written into that argument after the call, the
        result then reported again as ``value_after_fill`` (shared memory shows); simulate:
        run inside the simulated CUDA device; fixture: target names a trusted helper of
        :mod:`autograder.fixtures` instead of a student name.
        """
        request = {"target": target, "attr": list(attr), "args": list(args), "kwargs": kwargs or {},
                   "call": call, "grad_wrt": list(grad_wrt), "grad_output": grad_output, "keep": keep,
                   "return_args": return_args, "fill_after": list(fill_after) if fill_after else None,
                   "simulate": simulate, "fixture": fixture, "banned": list(self.banned)}
        started = time.perf_counter()
        reply = self._exchange(request)
        seconds = time.perf_counter() - started
        name = target if isinstance(target, str) else target.type
        what = ".".join([name, *attr])
        try:
            raised = reply.get("raised")
            outcome = Outcome(
                what=what, value=reply.get("value"), raised=Raised(**raised) if raised else None,
                stdout=str(reply.get("stdout", "")), banned_calls=[str(b) for b in reply.get("banned_calls", [])],
                op_count=int(reply.get("op_count", 0)), seconds=seconds, grads=reply.get("grads"),
                grad_error=reply.get("grad_error"), args_after=reply.get("args_after"),
                kwargs_after=reply.get("kwargs_after"), value_after_fill=reply.get("value_after_fill"))
        except (TypeError, ValueError) as exc:  # well framed, but not what the runtime sends
            raise ProtocolBroken(f"malformed reply: {exc}") from exc
        self.banned_seen += [b for b in outcome.banned_calls if b not in self.banned_seen]
        return outcome

    def fixture(self, name: str, *args: Any, simulate: bool = False, **kwargs: Any) -> Any:
        """Run the trusted helper ``name`` ("module.function" of autograder.fixtures) next to student
        code; its value, with objects that cannot travel as plain data left there behind Handles."""
        return self.run(name, *args, kwargs=kwargs, fixture=True, simulate=simulate).result()

    def _exchange(self, request: dict) -> dict:
        raise NotImplementedError


class LocalStudent(Student):
    """Student code in this process (the student's kernel, for self-check)."""

    def __init__(self, namespace: dict, banned: tuple[str, ...] = ()) -> None:
        super().__init__(banned)
        self.namespace = namespace
        self.handles = calls.Handles()

    def _exchange(self, request: dict) -> dict:
        request = wire.roundtrip(request, resolve=self.handles.get)
        return wire.roundtrip(calls.execute(self.namespace, self.handles, request), keep=self.handles.keep)


class RemoteStudent(Student):
    """Student code in an item process; requests carry the item's deadline."""

    def __init__(self, channel: Channel, deadline: float, banned: tuple[str, ...] = ()) -> None:
        super().__init__(banned)
        self.channel = channel
        self.deadline = deadline

    def _exchange(self, request: dict) -> dict:
        return self.channel.ask(request, max(0.01, self.deadline - time.monotonic()), keys=("raised",))
