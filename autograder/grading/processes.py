"""The grader's side of the child processes: start the zygote, load submissions, fork items."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from autograder.grading.sandbox import Sandbox, prepare
from autograder.launch import Started, start_zygote
from autograder.runtime import wire
from autograder.runtime.limits import kill_group

STARTUP_TIMEOUT = 120.0  # the zygote's import of torch, on a busy machine


class ProcessDied(Exception):
    """The process holding student code ended (os._exit, a crash, a signal) or broke the protocol."""


class ProtocolBroken(ProcessDied):
    """The process sent something that is not a well-formed, authentic reply (tampering?)."""


def expect_reply(reply: Any, keys: tuple[str, ...]) -> dict:
    """A decoded reply must be a dict with these keys; anything else is a broken protocol."""
    if type(reply) is not dict or not all(k in reply for k in keys):
        raise ProtocolBroken(f"malformed reply: {type(reply).__name__}")
    return reply


class TimedOut(Exception):
    """The process holding student code did not answer in time."""


class Channel:
    """An authenticated socket to one child process, with deadlines and a kill switch.

    Every reply must carry the request's sequence number and the run's MAC: anything else
    on the socket (a forgery written by student code) ends the process.
    """

    def __init__(self, sock: socket.socket, pid: int, key: bytes, killer: Callable[[int], None]) -> None:
        self.sock = sock
        self.pid = pid
        self._key = key
        self._killer = killer
        self._seq = 0

    @property
    def alive(self) -> bool:
        return self.sock.fileno() >= 0

    def sibling(self, sock: socket.socket, pid: int) -> "Channel":
        """A channel to another process of the same run (same key)."""
        return Channel(sock, pid, self._key, self._killer)

    def request(self, tree: Any, buffers: list[bytes], timeout: float, fds: list[int] = ()) -> tuple[Any, list[bytes]]:
        """Send a message and wait for its answer; the whole exchange must fit in ``timeout``."""
        deadline = time.monotonic() + timeout
        self._seq += 1
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            wire.send(self.sock, tree, buffers, fds, seq=self._seq)
        return self.receive(max(0.001, deadline - time.monotonic()), seq=self._seq)

    def receive(self, timeout: float, seq: int = 0) -> tuple[Any, list[bytes]]:
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            frame = wire.recv(self.sock, key=self._key)
            if frame.seq != seq:
                raise ValueError(f"reply {frame.seq} to request {seq} (forged?)")
        return frame.tree, frame.buffers

    @contextlib.contextmanager
    def _failures(self, timeout: float) -> Iterator[None]:
        """A silent, vanished or misbehaving process is killed and reported."""
        try:
            yield
        except (socket.timeout, TimeoutError) as exc:
            self.kill()
            raise TimedOut(f"no answer within {timeout:g} s") from exc
        except (ValueError, KeyError, TypeError) as exc:  # a malformed or forged message
            self.kill()
            raise ProtocolBroken(str(exc)) from exc
        except (EOFError, OSError) as exc:
            self.kill()
            raise ProcessDied(str(exc)) from exc

    def kill(self) -> None:
        """Kill the process and its whole process group; close the socket."""
        if self.alive:
            self._killer(self.pid)
        self.sock.close()


class SubmissionProcess:
    """A process that has run one submission's cells and forks an item process on demand."""

    def __init__(self, channel: Channel, report: dict) -> None:
        self.channel = channel
        self.report = report

    def fork_item(self, cpu_seconds: int, timeout: float = 30.0) -> Channel:
        ours, theirs = socket.socketpair()
        try:
            reply, buffers = self.channel.request({"cpu_seconds": cpu_seconds}, [], timeout, fds=[theirs.fileno()])
        finally:
            theirs.close()
        return self.channel.sibling(ours, int(expect_reply(self._decode(reply, buffers), ("pid",))["pid"]))

    def _decode(self, tree: Any, buffers: list[bytes]) -> Any:
        try:
            return wire.decode(tree, buffers)
        except (ValueError, KeyError, TypeError) as exc:
            self.channel.kill()
            raise ProtocolBroken(str(exc)) from exc

    def close(self) -> None:
        self.channel.kill()


class Zygote:
    """A torch-preloaded process (sandboxed where possible) that forks one process per submission."""

    def __init__(self, started: Started | None = None, sandbox: Sandbox | None = None) -> None:
        self._lock = threading.Lock()
        self._started = started or start_zygote(sandbox or prepare("auto"))

    @property
    def sandbox(self) -> Sandbox:
        return self._started.sandbox

    def load(self, cells: list[str], timeout: float) -> SubmissionProcess:
        """Fork a submission process and run ``cells`` in it; raises on death or timeout."""
        ours, theirs = socket.socketpair()
        try:
            pid = self._fork_submission(cells, theirs)
        finally:
            theirs.close()
        process = SubmissionProcess(Channel(ours, pid, self._started.key, self.kill), {})
        process.report = expect_reply(process._decode(*process.channel.receive(timeout)), ("cell_errors", "stdout"))
        return process

    def kill(self, pid: int) -> None:
        """Kill a student process group. Inside the sandbox only the zygote, which shares their
        PID namespace, knows them by these pids; elsewhere the grader kills them itself."""
        if not self.sandbox.active:
            kill_group(pid)
            return
        with self._lock:
            if self._started.proc.poll() is not None:
                return  # the sandbox's PID namespace, and everything in it, is gone
            try:
                self._started.control.settimeout(STARTUP_TIMEOUT)
                wire.send(self._started.control, *wire.encode({"op": "kill", "pid": pid}))
                wire.recv(self._started.control)
            except (EOFError, OSError):
                pass

    def _fork_submission(self, cells: list[str], theirs: socket.socket) -> int:
        """Ask the zygote to fork; a zygote that died is restarted once."""
        tree, buffers = wire.encode({"op": "load", "cells": cells})
        with self._lock:
            for attempt in (1, 2):
                if self._started.proc.poll() is not None:
                    self._restart()
                try:
                    control = self._started.control
                    control.settimeout(STARTUP_TIMEOUT)
                    wire.send(control, tree, buffers, [theirs.fileno()])
                    frame = wire.recv(control)
                    return int(wire.decode(frame.tree, frame.buffers)["pid"])
                except (EOFError, OSError):
                    self._started.proc.kill()
                    self._started.proc.wait()
                    if attempt == 2:
                        raise ProcessDied("the zygote process could not fork the submission")
        raise AssertionError("unreachable")

    def _restart(self) -> None:
        self._started.control.close()
        self._started = start_zygote(self._started.sandbox)

    def close(self) -> None:
        self._started.control.close()
        try:
            self._started.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._started.proc.kill()
