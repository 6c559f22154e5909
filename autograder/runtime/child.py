"""The processes that hold student code.

A *zygote* imports torch once and forks, per submission, a *submission process* that runs
the student's cells; that one forks, per item, an *item process* that serves the checks'
requests. Each process talks to the grader over its own socket, received as a descriptor
and moved to a random number, and sends back plain data only (see
:mod:`autograder.runtime.wire`), authenticated with the run's secret key.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import NoReturn  # noqa: E402

import numpy  # noqa: E402  (preloaded for every submission)
import torch  # noqa: E402

from autograder.runtime import calls, limits, loader, simdevice, wire  # noqa: E402

IN_CHILD = False  # True in submission and item processes: self-check stays silent there


class Reply:
    """Sends authenticated replies on one socket, echoing each request's sequence number."""

    def __init__(self, sock: socket.socket, key: bytes) -> None:
        self.sock = sock
        self._key = key

    def on(self, sock: socket.socket) -> "Reply":
        """Replies with the same key on another socket."""
        return Reply(sock, self._key)

    def send(self, obj: object, seq: int, keep=None) -> None:
        tree, buffers = wire.encode(obj, keep)
        wire.send(self.sock, tree, buffers, seq=seq, key=self._key)


def serve_zygote(control: socket.socket, key: bytes, workdir: str) -> None:
    """Fork a submission process for each ``load`` request and kill on ``kill`` requests
    (pids are only meaningful in the zygote's PID namespace), until the grader goes away."""
    limits.reap_children()
    while True:
        try:
            frame = wire.recv(control, with_fds=True)
        except EOFError:
            return
        request = wire.decode(frame.tree, frame.buffers)
        if request["op"] == "kill":
            limits.kill_group(int(request["pid"]))
            wire.send(control, *wire.encode({"killed": True}))
            continue
        pid = limits.fork_patiently()
        if pid == 0:
            control.close()
            _as_child(lambda: _serve_submission(Reply(limits.hide(socket.socket(fileno=frame.fds[0])), key),
                                                request["cells"], workdir), new_session=True)
        os.close(frame.fds[0])
        wire.send(control, *wire.encode({"pid": pid}))


def _as_child(body: Callable[[], None], new_session: bool) -> NoReturn:
    """Run a forked child's body and exit: whatever it raises, it never unwinds into the
    parent's code that the fork copied (such as cleaning up the parent's directories)."""
    code = 1
    try:
        _become_child(new_session)
        body()
        code = 0
    finally:
        os._exit(code)


def _become_child(new_session: bool) -> None:
    global IN_CHILD
    IN_CHILD = True
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if new_session:
        os.setsid()
    else:
        os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _serve_submission(reply: Reply, cells: list[str], workdir: str) -> None:
    limits.apply(processes=limits.SUBMISSION_PROCESSES)
    limits.adopt_orphans()
    private = tempfile.mkdtemp(prefix="submission-", dir=workdir)
    os.chdir(private)
    try:
        namespace, report = loader.load_cells(cells)
        reply.send(report, seq=0)
        limits.reap_children()
        while True:
            try:
                frame = wire.recv(reply.sock, with_fds=True)
            except EOFError:
                return
            pid = limits.fork_patiently()
            if pid == 0:
                reply.sock.close()
                _as_child(lambda: _serve_item(reply.on(limits.hide(socket.socket(fileno=frame.fds[0]))), namespace,
                                              wire.decode(frame.tree, frame.buffers)), new_session=False)
            os.close(frame.fds[0])
            reply.send({"pid": pid}, seq=frame.seq)
    finally:
        os.chdir(workdir)
        shutil.rmtree(private, ignore_errors=True)


def _serve_item(reply: Reply, namespace: dict, fork_request: dict) -> None:
    limits.apply(processes=limits.ITEM_PROCESSES, cpu_seconds=int(fork_request["cpu_seconds"]))
    handles = calls.Handles()
    while True:
        try:
            frame = wire.recv(reply.sock)
        except EOFError:
            return
        try:
            request = wire.decode(frame.tree, frame.buffers, resolve=handles.get)
            reply.send(calls.execute(namespace, handles, request), seq=frame.seq, keep=handles.keep)
        except Exception as exc:  # a value that cannot be sent: report it, keep serving
            reply.send({"raised": calls.describe_exception(exc), "stdout": "", "banned_calls": [], "op_count": 0},
                       seq=frame.seq)


def warm_up(optimizers: bool = True) -> None:
    """Exercise every lazily initialised path once, so forked children inherit it ready."""
    handles = calls.Handles()
    namespace = {"f": lambda a, b: (a[:, None] - b[None]).pow(2).sum(-1)}
    x = torch.randn(3, 2)
    for args in ([x, x], [simdevice.to_sim(x), simdevice.to_sim(x)]):
        request = wire.roundtrip({"target": "f", "args": args, "grad_wrt": [0], "grad_output": torch.ones(3, 3),
                                  "banned": ["torch.nn.functional.one_hot"], "return_args": True})
        wire.roundtrip(calls.execute(namespace, handles, request), keep=handles.keep)
    numpy.asarray(x.numpy())
    if not optimizers:
        return
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.9)  # the first optimizer imports torch._dynamo
    weight.sum().backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("fd", type=int, help="the control socket")
    parser.add_argument("key_fd", type=int, help="a pipe holding the run's secret key")
    parser.add_argument("--drop-privileges", type=int, metavar="UID")
    parser.add_argument("--no-optimizers", action="store_true", help="skip warming up torch.optim")
    parser.add_argument("--workdir", help="parent of the submissions' private directories (default: a new temp dir)")
    args = parser.parse_args()
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]  # nothing importable from the workdir
    key = os.read(args.key_fd, 64)
    os.close(args.key_fd)
    torch.set_num_threads(1)
    warm_up(optimizers=not args.no_optimizers)
    if args.drop_privileges is not None:
        limits.drop_privileges(args.drop_privileges)
    workdir = args.workdir or tempfile.mkdtemp(prefix="autograder-")
    try:
        serve_zygote(socket.socket(fileno=args.fd), key, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    os._exit(0)  # the grader is gone: skip the interpreter's (slow) teardown of torch


if __name__ == "__main__":
    main()
