"""Start the zygote process before anything heavy is imported, so both import torch at once."""
from __future__ import annotations

import socket
import subprocess
import sys


def start_zygote() -> tuple[subprocess.Popen, socket.socket]:
    """The zygote process and the grader's end of its control socket."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.runtime.child", str(theirs.fileno())],
        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )
    theirs.close()
    return proc, ours
