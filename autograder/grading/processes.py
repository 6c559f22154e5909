"""The grader's side of the child processes: start the zygote, load submissions, fork items."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

from autograder.grading.sandbox import Sandbox, prepare
from autograder.launch import Started, start_zygote
from autograder.runtime import wire
from autograder.runtime.limits import kill_group

STARTUP_TIMEOUT = 120.0  # the zygote's import of torch, on a busy machine


class ProcessDied(Exception):
    """The process holding student code ended (os._exit, a crash, a signal) or broke the protocol."""


class ProtocolBroken(ProcessDied):
    """The process sent something that is not a well-formed, authentic reply (tampering?)."""


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

    def ask(self, message: dict, timeout: float, keys: tuple[str, ...], fds: list[int] = ()) -> dict:
        """Send a message and wait for its answer; the whole exchange must fit in ``timeout``."""
        deadline = time.monotonic() + timeout
        self._seq += 1
        tree, buffers = wire.encode(message)
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            wire.send(self.sock, tree, buffers, fds, seq=self._seq)
        return self.answer(max(0.001, deadline - time.monotonic()), keys, seq=self._seq)

    def answer(self, timeout: float, keys: tuple[str, ...], seq: int = 0) -> dict:
        """The next reply: authentic, answering request ``seq``, a dict holding ``keys``."""
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            frame = wire.recv(self.sock, key=self._key)
            if frame.seq != seq:
                raise ValueError(f"reply {frame.seq} to request {seq} (forged?)")
            reply = wire.decode(frame.tree, frame.buffers)
            if type(reply) is not dict or not all(k in reply for k in keys):
                raise ValueError(f"malformed reply: {type(reply).__name__}")
        return reply

    @contextlib.contextmanager
    def _failures(self, timeout: float) -> Iterator[None]:
        """A silent, vanished or misbehaving process is killed and reported."""
        try:
            yield
        except (socket.timeout, TimeoutError) as exc:
            self.kill()
            raise TimedOut(f"no answer within {timeout:g} s") from exc
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:  # a malformed or forged message
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
            reply = self.channel.ask({"cpu_seconds": cpu_seconds}, timeout, keys=("pid",), fds=[theirs.fileno()])
        finally:
            theirs.close()
        return self.channel.sibling(ours, int(reply["pid"]))

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
        channel = Channel(ours, pid, self._started.key, self.kill)
        return SubmissionProcess(channel, channel.answer(timeout, keys=("cell_errors", "stdout")))

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
                self._ask_zygote({"op": "kill", "pid": pid})
            except (EOFError, OSError):
                pass

    def _fork_submission(self, cells: list[str], theirs: socket.socket) -> int:
        """Ask the zygote to fork; a zygote that died is restarted once."""
        with self._lock:
            for attempt in (1, 2):
                if self._started.proc.poll() is not None:
                    self._restart()
                try:
                    return int(self._ask_zygote({"op": "load", "cells": cells}, [theirs.fileno()])["pid"])
                except (EOFError, OSError):
                    self._started.proc.kill()
                    self._started.proc.wait()
                    if attempt == 2:
                        raise ProcessDied("the zygote process could not fork the submission")
        raise AssertionError("unreachable")

    def _ask_zygote(self, message: dict, fds: list[int] = ()) -> dict:
        """One exchange on the control socket (the caller holds the lock)."""
        control = self._started.control
        control.settimeout(STARTUP_TIMEOUT)
        wire.send(control, *wire.encode(message), fds)
        frame = wire.recv(control)
        return wire.decode(frame.tree, frame.buffers)

    def _restart(self) -> None:
        self._started.control.close()
        self._started = start_zygote(self._started.sandbox, self._started.optimizers)

    def close(self) -> None:
        self._started.control.close()
        try:
            self._started.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._started.proc.kill()
