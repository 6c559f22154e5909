"""What student code can reach: under the sandbox, nothing of the course and no network."""
import json
import socket
import time

import pytest

from autograder.grading.processes import Zygote
from autograder.grading.sandbox import prepare
from autograder.grading.student import RemoteStudent
from conftest import ROOT, SOLUTION, cli, needs_bubblewrap

PROBE = '''
import os, socket

def probe(paths, port):
    seen = {}
    for path in paths:
        try:
            if os.path.isdir(path):
                seen[path] = "listed " + ",".join(sorted(os.listdir(path))[:5])
            else:
                with open(path) as f:
                    seen[path] = "read " + f.read(20)
        except OSError as exc:
            seen[path] = "denied " + type(exc).__name__
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        seen["socket"] = "connected"
    except OSError as exc:
        seen["socket"] = "refused " + type(exc).__name__
    seen["uid"] = os.getuid()
    seen["cwd"] = os.listdir(".")
    return seen
'''
SECRETS = [str(ROOT / "source" / "01_tensors" / "hidden_checks.py"), str(ROOT / "source"),
           str(ROOT / "solutions" / "01_tensors" / "01_tensors.ipynb"), str(ROOT / "solutions")]


def run_probe(mode: str) -> dict:
    server = socket.create_server(("127.0.0.1", 0))
    zygote = Zygote(sandbox=prepare(mode))
    try:
        process = zygote.load([PROBE], timeout=60)
        student = RemoteStudent(process.fork_item(cpu_seconds=30), time.monotonic() + 30)
        return student.call("probe", [*SECRETS, str(ROOT)], server.getsockname()[1])
    finally:
        zygote.close()
        server.close()


def test_sandboxed_code_cannot_read_the_course_or_open_a_socket():
    needs_bubblewrap()
    seen = run_probe("required")
    assert all(seen[path].startswith("denied") for path in SECRETS), seen
    listing = seen[str(ROOT)].removeprefix("listed ").split(",")
    assert not {"source", "solutions", "exercises", "tests", "nbgrader_config.py"} & set(listing), listing
    assert seen["socket"].startswith("refused") and seen["uid"] == 65534 and seen["cwd"] == []


def test_without_the_sandbox_the_same_probe_sees_everything():
    """The probe above can tell: with --sandbox off it reads the course and connects."""
    seen = run_probe("off")
    assert seen[SECRETS[0]].startswith("read") and seen["socket"] == "connected"


def test_auto_without_bubblewrap_warns_and_says_so_in_the_json():
    run = cli("grade", "01_tensors", str(SOLUTION), "--format", "json", env={"PATH": "/nonexistent"})
    doc = json.loads(run.stdout)
    assert doc["sandbox"]["active"] is False and "not installed" in doc["sandbox"]["note"]
    assert "WARNING" in run.stderr and doc["submissions"][0]["score"] == 21.0


def test_required_refuses_to_grade_without_bubblewrap():
    run = cli("grade", "01_tensors", str(SOLUTION), "--sandbox", "required", env={"PATH": "/nonexistent"})
    assert run.returncode != 0 and "required" in run.stderr and run.stdout == ""


@pytest.mark.parametrize("mode", ["auto", "required"])
def test_json_reports_an_active_sandbox(mode):
    needs_bubblewrap()
    doc = json.loads(cli("grade", "01_tensors", str(SOLUTION), "--format", "json", "--sandbox", mode).stdout)
    assert doc["sandbox"] == {"mode": mode, "active": True, "note": "bubblewrap"}
