"""Start the zygote process before anything heavy is imported, so both import torch at once."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass

from autograder.grading.sandbox import NOBODY, WORKDIR, Sandbox


@dataclass
class Started:
    """A zygote process, the grader's end of its control socket and the run's secret key."""

    proc: subprocess.Popen
    control: socket.socket
    key: bytes
    sandbox: Sandbox
    optimizers: bool = True


def start_zygote(sandbox: Sandbox, optimizers: bool = True) -> Started:
    """Start a zygote in the sandbox; ``optimizers``: warm up torch.optim before forking."""
    ours, theirs = socket.socketpair()
    key_read, key_write = os.pipe()
    os.write(key_write, key := secrets.token_bytes(32))
    os.close(key_write)
    command = [*sandbox.command, sys.executable, "-m", "autograder.runtime.child", str(theirs.fileno()), str(key_read)]
    if not optimizers:
        command.append("--no-optimizers")
    if sandbox.active:
        command += ["--workdir", WORKDIR] + (["--drop-privileges", str(NOBODY)] if sandbox.drop_privileges else [])
    proc = subprocess.Popen(command, pass_fds=[theirs.fileno(), key_read], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
    theirs.close()
    os.close(key_read)
    return Started(proc, ours, key, sandbox, optimizers)
