"""The processes that hold student code.

A *zygote* imports torch once and forks, per submission, a *submission process* that runs
the student's cells; that one forks, per item, an *item process* that serves the checks'
requests. Each process talks to the grader over its own socket, received as a descriptor,
and sends back plain data only (see :mod:`autograder.runtime.wire`).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import numpy  # noqa: E402,F401  (preloaded for every submission)
import torch  # noqa: E402

from autograder.runtime import calls, loader, simdevice, wire  # noqa: E402

IN_CHILD = False  # True in submission and item processes: self-check stays silent there


def serve_zygote(control: socket.socket) -> None:
    """Fork a submission process for each ``load`` request, until the grader goes away."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    while True:
        try:
            tree, buffers, fds = wire.recv(control, with_fds=True)
        except EOFError:
            return
        request = wire.decode(tree, buffers)
        pid = os.fork()
        if pid == 0:
            control.close()
            _become_child(new_session=True)
            _serve_submission(socket.socket(fileno=fds[0]), request["cells"])
            os._exit(0)
        os.close(fds[0])
        _send(control, {"pid": pid})


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


def _serve_submission(sock: socket.socket, cells: list[str]) -> None:
    namespace, report = loader.load_cells(cells)
    _send(sock, report)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            _tree, _buffers, fds = wire.recv(sock, with_fds=True)
        except EOFError:
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            _become_child(new_session=False)
            _serve_item(socket.socket(fileno=fds[0]), namespace)
            os._exit(0)
        os.close(fds[0])
        _send(sock, {"pid": pid})


def _serve_item(sock: socket.socket, namespace: dict) -> None:
    handles = calls.Handles()
    while True:
        try:
            tree, buffers, _fds = wire.recv(sock)
        except EOFError:
            return
        try:
            request = wire.decode(tree, buffers, resolve=handles.get)
            _send(sock, calls.execute(namespace, handles, request), keep=handles.keep)
        except Exception as exc:  # a value that cannot be sent: report it, keep serving
            _send(sock, {"raised": calls.describe_exception(exc), "stdout": "", "banned_calls": [], "op_count": 0})


def _send(sock: socket.socket, obj: object, keep=None) -> None:
    tree, buffers = wire.encode(obj, keep)
    wire.send(sock, tree, buffers)


def warm_up() -> None:
    """Exercise every lazily initialised path once, so forked children inherit it ready."""
    handles = calls.Handles()
    namespace = {"f": lambda a, b: (a[:, None] - b[None]).pow(2).sum(-1)}
    x = torch.randn(3, 2)
    for args in ([x, x], [simdevice.to_sim(x), simdevice.to_sim(x)]):
        request = wire.roundtrip({"target": "f", "args": args, "grad_wrt": [0], "grad_output": torch.ones(3, 3),
                                  "banned": ["torch.nn.functional.one_hot"], "return_args": True})
        wire.roundtrip(calls.execute(namespace, handles, request), keep=handles.keep)
    numpy.asarray(x.numpy())


def main() -> None:
    torch.set_num_threads(1)
    warm_up()
    serve_zygote(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
