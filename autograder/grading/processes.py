"""The grader's side of the child processes: start the zygote, load submissions, fork items."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

from autograder.launch import start_zygote
from autograder.runtime import wire


STARTUP_TIMEOUT = 120.0  # the zygote's import of torch, on a busy machine


class ProcessDied(Exception):
    """The process holding student code ended (os._exit, a crash, a signal)."""


class TimedOut(Exception):
    """The process holding student code did not answer in time."""


class Channel:
    """A socket to one child process, with deadlines and a kill switch."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid

    @property
    def alive(self) -> bool:
        return self.sock.fileno() >= 0

    def request(self, tree: Any, buffers: list[bytes], timeout: float, fds: list[int] = ()) -> tuple[Any, list[bytes]]:
        """Send a message and wait for the answer; the whole exchange must fit in ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            wire.send(self.sock, tree, buffers, fds)
        return self.receive(max(0.001, deadline - time.monotonic()))

    def receive(self, timeout: float) -> tuple[Any, list[bytes]]:
        with self._failures(timeout):
            self.sock.settimeout(timeout)
            reply, buffers, _ = wire.recv(self.sock)
        return reply, buffers

    @contextlib.contextmanager
    def _failures(self, timeout: float) -> Iterator[None]:
        """A silent or vanished process is killed, and reported as TimedOut or ProcessDied."""
        try:
            yield
        except (socket.timeout, TimeoutError) as exc:
            self.kill()
            raise TimedOut(f"no answer within {timeout:g} s") from exc
        except (EOFError, OSError, ValueError) as exc:  # ValueError: a malformed message
            self.kill()
            raise ProcessDied(str(exc)) from exc

    def kill(self) -> None:
        """Kill the process and its whole process group; close the socket."""
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.sock.close()


class SubmissionProcess:
    """A process that has run one submission's cells and forks an item process on demand."""

    def __init__(self, channel: Channel, report: dict) -> None:
        self.channel = channel
        self.report = report

    def fork_item(self, timeout: float = 30.0) -> Channel:
        ours, theirs = socket.socketpair()
        try:
            reply, buffers = self.channel.request({}, [], timeout, fds=[theirs.fileno()])
        finally:
            theirs.close()
        return Channel(ours, int(wire.decode(reply, buffers)["pid"]))

    def close(self) -> None:
        self.channel.kill()


class Zygote:
    """A torch-preloaded process that forks one submission process per submission."""

    def __init__(self, started: tuple[subprocess.Popen, socket.socket] | None = None) -> None:
        self._lock = threading.Lock()
        self._proc, self._control = started or start_zygote()

    def _start(self) -> None:
        self._control.close()
        self._proc, self._control = start_zygote()

    def load(self, cells: list[str], timeout: float) -> SubmissionProcess:
        """Fork a submission process and run ``cells`` in it; raises on death or timeout."""
        ours, theirs = socket.socketpair()
        try:
            pid = self._fork_submission(cells, theirs)
        finally:
            theirs.close()
        channel = Channel(ours, pid)
        report = wire.decode(*channel.receive(timeout))
        return SubmissionProcess(channel, report)

    def _fork_submission(self, cells: list[str], theirs: socket.socket) -> int:
        """Ask the zygote to fork; a zygote that died is restarted once."""
        tree, buffers = wire.encode({"cells": cells})
        with self._lock:
            for attempt in (1, 2):
                if self._proc.poll() is not None:
                    self._start()
                try:
                    self._control.settimeout(STARTUP_TIMEOUT)
                    wire.send(self._control, tree, buffers, [theirs.fileno()])
                    reply, reply_buffers, _ = wire.recv(self._control)
                    return int(wire.decode(reply, reply_buffers)["pid"])
                except (EOFError, OSError):
                    self._proc.kill()
                    self._proc.wait()
                    if attempt == 2:
                        raise ProcessDied("the zygote process could not fork the submission")
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._control.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
