"""Resource limits and process hygiene for the processes that hold student code."""
from __future__ import annotations

import ctypes
import os
import random
import resource
import signal
import socket
import time

MEMORY_BYTES = 8 << 30  # address space; skipped where an NVIDIA GPU is present (CUDA reserves far more)
FILE_BYTES = 64 << 20
OPEN_FILES = 1024
# The process limit counts every process of the uid: items stop well below the submission
# processes' limit, so a fork bomb in one item never stops a submission process from forking.
SUBMISSION_PROCESSES = 1024
ITEM_PROCESSES = 128
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def apply(processes: int, cpu_seconds: int | None = None) -> None:
    """Limit memory, file size, open files, processes, core dumps and (if given) CPU seconds."""
    limits = {resource.RLIMIT_FSIZE: FILE_BYTES, resource.RLIMIT_NOFILE: OPEN_FILES,
              resource.RLIMIT_NPROC: processes, resource.RLIMIT_CORE: 0}
    if not os.path.exists("/dev/nvidiactl"):  # not torch.cuda.is_available(): it would init CUDA before a fork
        limits[resource.RLIMIT_AS] = MEMORY_BYTES
    if cpu_seconds:
        limits[resource.RLIMIT_CPU] = cpu_seconds
    for kind, value in limits.items():
        _soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace or /proc/PID/mem by the same uid


def adopt_orphans() -> None:
    """Become the reaper of orphaned descendants (reaped as they end, see :func:`reap_children`)."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_children() -> None:
    """Reap children as they end, so none lingers and their CPU time counts in ours (as with
    ``wait``; an ignored SIGCHLD would drop it, hiding the grading's real cost)."""
    signal.signal(signal.SIGCHLD, _reap)


def _reap(signum: int, frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def fork_patiently(attempts: int = 40) -> int:
    """os.fork, retried briefly while killed processes are still being reaped."""
    for attempt in range(attempts):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.05 * (attempt + 1))
    return os.fork()


def hide(sock: socket.socket) -> socket.socket:
    """Move the channel to a random high descriptor, so student code cannot guess it."""
    fd = os.dup2(sock.fileno(), random.randrange(OPEN_FILES // 2, OPEN_FILES - 1))
    sock.close()
    return socket.socket(fileno=fd)


def drop_privileges(uid: int) -> None:
    """Root inside the sandbox becomes ``uid`` for good, before any student code runs."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def kill_group(pid: int) -> None:
    """SIGKILL a student process and its process group (never this process's own group)."""
    if pid <= 1 or pid == os.getpid():
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
