"""The grader's side of the child processes: start the zygote, load submissions, fork items."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from autograder.runtime import wire


class ProcessDied(Exception):
    """The process holding student code ended (os._exit, a crash, a signal)."""


class TimedOut(Exception):
    """The process holding student code did not answer in time."""


class Channel:
    """A socket to one child process, with deadlines and a kill switch."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid

    def request(self, tree: Any, buffers: list[bytes], timeout: float, fds: list[int] = ()) -> tuple[Any, list[bytes]]:
        deadline = time.monotonic() + timeout
        try:
            self.sock.settimeout(timeout)
            wire.send(self.sock, tree, buffers, fds)
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            reply, reply_buffers, _ = wire.recv(self.sock)
        except (socket.timeout, TimeoutError) as exc:
            self.kill()
            raise TimedOut(f"no answer within {timeout:g} s") from exc
        except (EOFError, ConnectionError, OSError) as exc:
            self.kill()
            raise ProcessDied(str(exc)) from exc
        return reply, reply_buffers

    def receive(self, timeout: float) -> tuple[Any, list[bytes]]:
        try:
            self.sock.settimeout(timeout)
            reply, buffers, _ = wire.recv(self.sock)
        except (socket.timeout, TimeoutError) as exc:
            self.kill()
            raise TimedOut(f"no answer within {timeout:g} s") from exc
        except (EOFError, ConnectionError, OSError) as exc:
            self.kill()
            raise ProcessDied(str(exc)) from exc
        return reply, buffers

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

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.runtime.child", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours

    def load(self, cells: list[str], timeout: float) -> SubmissionProcess:
        """Fork a submission process and run ``cells`` in it; raises on death or timeout."""
        ours, theirs = socket.socketpair()
        tree, buffers = wire.encode({"cells": cells})
        with self._lock:
            if self._proc.poll() is not None:
                self._start()
            try:
                reply, reply_buffers = self._ask(tree, buffers, theirs)
            finally:
                theirs.close()
        channel = Channel(ours, int(wire.decode(reply, reply_buffers)["pid"]))
        report = wire.decode(*channel.receive(timeout))
        return SubmissionProcess(channel, report)

    def _ask(self, tree: Any, buffers: list[bytes], fd_owner: socket.socket) -> tuple[Any, list[bytes]]:
        self._control.settimeout(60.0)
        wire.send(self._control, tree, buffers, [fd_owner.fileno()])
        reply, reply_buffers, _ = wire.recv(self._control)
        return reply, reply_buffers

    def close(self) -> None:
        self._control.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
