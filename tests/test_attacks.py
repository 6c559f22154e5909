"""Attacks on the grader earn nothing and leave nothing behind, with and without the sandbox."""
import socket
import threading
from pathlib import Path

import pytest

from attacks import ATTACKS, Attack
from autograder.grading.processes import Zygote
from autograder.grading.runner import Grader
from autograder.grading.sandbox import prepare
from autograder.submissions import Submission
from conftest import ROOT, item, needs_bubblewrap

SANDBOX_MODES = ["auto", "off"]
WATCHED = [Path("/tmp"), ROOT, ROOT / "source" / "01_tensors", Path.home()]


def planted_files() -> set[Path]:
    return {p for folder in WATCHED if folder.is_dir() for p in folder.iterdir()
            if p.name.startswith("ATTACK") or p.name in ("results.json", "gradebook.db")}


@pytest.fixture(scope="module", params=SANDBOX_MODES)
def sandboxed(request):
    if request.param == "auto":
        needs_bubblewrap()
    zygote = Zygote(sandbox=prepare(request.param))
    yield request.param, zygote
    zygote.close()


@pytest.fixture(scope="module")
def listener():
    """A loopback TCP server the tcp_connection attack tries to reach; records any connection."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                got.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    stop.set()
    thread.join()
    server.close()


def code_for(attack: Attack, port: int) -> str:
    return attack.code.replace('int(open(os.environ.get("ATTACK_PORT_FILE", "/nonexistent")).read()) '
                               'if os.environ.get("ATTACK_PORT_FILE") else 0', str(port))


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_earns_nothing_and_leaves_nothing(attack, sandboxed, solution_cells, listener):
    mode, zygote = sandboxed
    if attack.needs_sandbox and mode == "off":
        pytest.skip("needs the sandbox")
    port, connections = listener
    before = planted_files()
    result = Grader(_suite(), seed=99, zygote=zygote).grade(
        Submission(attack.name, "-", solution_cells + [code_for(attack, port)]))
    if attack.loses_submission:
        assert result.error and result.score == 0
    else:
        assert result.error is None, result.error
        assert item(result, attack.item).score == 0, [(c.name, c.message) for c in item(result, attack.item).checks if c.passed]
        if attack.scoped:  # a hang, crash or cheat in one item costs that item only
            others = [i for i in result.items if i.id != attack.item]
            assert all(i.score == i.max_score for i in others), [(i.id, i.score) for i in others if i.score != i.max_score]
    assert planted_files() == before
    assert connections == []


def _suite():
    from autograder.course import load_suite

    return load_suite("01_tensors", hidden=True, course=ROOT)


def test_grader_is_unharmed_after_the_attacks(sandboxed, solution_cells):
    _mode, zygote = sandboxed
    assert Grader(_suite(), seed=5, zygote=zygote).grade(Submission("after", "-", solution_cells)).score == 21.0
