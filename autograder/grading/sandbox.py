"""Confine the processes that hold student code with bubblewrap, or say why not.

Under bubblewrap the zygote (and so every submission and item process it forks) sees a
read-only Python and system, an empty private working directory and /tmp, no network,
runs as uid 65534, and sees none of the course: only the interpreter, its packages and
this package are mounted. Resource limits apply in every mode (see runtime.limits).
"""
from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import autograder

log = logging.getLogger("autograder")

MODES = ("auto", "required", "off")
NOBODY = 65534
WORKDIR = "/sandbox"
SYSTEM_PATHS = ("/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


class SandboxUnavailable(Exception):
    """--sandbox required, and bubblewrap cannot run here."""


@dataclass(frozen=True)
class Sandbox:
    mode: str
    active: bool
    note: str
    command: tuple[str, ...] = ()
    drop_privileges: bool = False

    def describe(self) -> dict:
        return {"mode": self.mode, "active": self.active, "note": self.note}


def prepare(mode: str) -> Sandbox:
    """The sandbox for ``mode``: bubblewrap where it runs; ``auto`` falls back with a warning."""
    if mode not in MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}; use one of {MODES}")
    if mode == "off":
        return Sandbox("off", False, "sandbox off: resource limits only")
    problem = bwrap_problem()
    if problem is None:
        root = os.geteuid() == 0
        return Sandbox(mode, True, "bubblewrap", tuple(bwrap_command(root)), drop_privileges=root)
    if mode == "required":
        raise SandboxUnavailable(f"--sandbox required, but {problem}")
    log.warning("autograder: WARNING: %s; grading WITHOUT the sandbox (resource limits only). "
                "Install bubblewrap (apt-get install bubblewrap) and allow user namespaces.", problem)
    return Sandbox("auto", False, f"unavailable: {problem}")


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None if bubblewrap can start a sandbox here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run([*bwrap_command(os.geteuid() == 0), sys.executable, "-c", "pass"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"bubblewrap cannot create a sandbox here ({probe.stderr.strip().splitlines()[-1:] or probe.returncode})"
    return None


def mounted_paths() -> list[str]:
    """What the sandbox shows, read-only: the system, the interpreter and this package only."""
    python = {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    package = str(Path(autograder.__file__).resolve().parent)
    paths = sorted(p for p in {*SYSTEM_PATHS, *python, package} if os.path.exists(p))
    return [p for p in paths if not any(p.startswith(q + "/") for q in paths)]  # outermost only


def bwrap_command(root: bool) -> list[str]:
    args = ["bwrap", "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session"]
    if not root:  # an unprivileged user gets uid 65534 from a user namespace; root drops to it instead
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]  # before binds that may be under /tmp
    made: set[Path] = set()
    for path in mounted_paths():
        for parent in reversed(Path(path).parents[:-1]):  # traversable by uid 65534
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", path, path]
    for link in USR_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
    for device in sorted(glob.glob("/dev/nvidia*")):
        args += ["--dev-bind", device, device]
    args += ["--perms", "1777", "--tmpfs", WORKDIR, "--chdir", WORKDIR, "--clearenv",
             "--setenv", "HOME", WORKDIR, "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8"]
    for name in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES"):
        if name in os.environ:
            args += ["--setenv", name, os.environ[name]]
    return args
