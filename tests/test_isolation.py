"""Student code runs in a child process: it can neither reach the verdicts nor take other items down."""
from autograder.grading.processes import Zygote
from autograder.grading.runner import Grader
from autograder.grading.sandbox import prepare
from autograder.submissions import Submission
from conftest import failed_messages, item

WRONG_PAIRWISE_WITH_PATCHES = """
import torch, torch.testing

def pairwise_sq_dists(x, y):
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)

torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
torch.equal = lambda *a, **k: True
"""


def test_patching_comparisons_earns_nothing(grade, solution_cells):
    result = grade(solution_cells + [WRONG_PAIRWISE_WITH_PATCHES])
    graded = item(result, "pairwise_sq_dists")
    assert graded.score == 0, [(c.name, c.passed) for c in graded.checks if c.passed]
    assert any("differs from the reference" in m for m in failed_messages(result, "pairwise_sq_dists"))


def test_a_hang_and_an_exit_lose_only_their_items(grade, solution_cells, suite):
    hang = "def normalize_rows(x, eps=1e-12):\n    while True:\n        pass\n"
    exit_ = "import os\ndef one_hot(labels, num_classes):\n    os._exit(0)\n"
    result = grade(solution_cells + [hang, exit_])
    assert item(result, "normalize_rows").score == 0
    assert any("timed out" in m for m in failed_messages(result, "normalize_rows"))
    assert item(result, "one_hot").score == 0
    assert any("ended abruptly" in m for m in failed_messages(result, "one_hot"))
    others = [i for i in result.items if i.id not in ("normalize_rows", "one_hot")]
    assert all(i.score == i.max_score for i in others) and result.score == 15.0


def test_system_exit_and_keyboard_interrupt_lose_only_their_items(grade, solution_cells):
    code = ("import sys\n"
            "def to_numpy(t):\n    sys.exit(0)\n"
            "def nhwc_to_nchw(x):\n    raise KeyboardInterrupt\n")
    result = grade(solution_cells + [code])
    assert item(result, "to_numpy").score == 0 and item(result, "nhwc_to_nchw").score == 0
    assert any("SystemExit" in m for m in failed_messages(result, "to_numpy"))
    assert result.score == 15.0


def test_exit_while_loading_gives_a_row_with_the_reason(grade):
    result = grade(["import os\nos._exit(3)\n"])
    assert result.score == 0 and "os._exit" in result.error
    assert len(result.items) == 7 and all(i.checks for i in result.items)


def test_a_failing_cell_does_not_stop_the_rest(grade, solution_cells):
    result = grade(["raise SystemExit(1)", "undefined_name + 1", *solution_cells])
    assert result.score == 21.0 and len(result.notes) == 2


def test_printed_verdicts_are_ignored(grade, solution_cells):
    noisy = ('import atexit, sys\n'
             'print(\'{"score": 21, "passed": true}\')\n'
             'sys.stderr.write("All tests passed\\n")\n'
             'atexit.register(lambda: print("All tests passed"))\n'
             'def attention_scores(q, k):\n'
             '    print(\'{"passed": true}\')\n'
             '    return q\n')
    result = grade(solution_cells + [noisy])
    assert item(result, "attention_scores").score < 3


def test_a_child_that_blows_up_leaves_later_submissions_alone(suite, solution_cells):
    """An exception in a forked child must not unwind into the zygote's code it copied
    (with --sandbox off that code would delete the zygote's working directory)."""
    breaker = "import autograder.runtime.wire as w\nw.Decoder.decode = lambda self, node: None\n"
    zygote = Zygote(sandbox=prepare("off"))
    try:
        grader = Grader(suite, zygote=zygote, seed=3)
        assert grader.grade(Submission("breaker", "-", solution_cells + [breaker])).score == 0
        assert grader.grade(Submission("next", "-", solution_cells)).score == 21.0
    finally:
        zygote.close()


def test_a_dead_zygote_is_restarted(grade, solution_cells, zygote):
    zygote._started.proc.kill()
    zygote._started.proc.wait()
    assert grade(solution_cells).score == 21.0


def test_a_cell_that_hangs_at_load_is_interrupted_and_the_rest_graded(grade, solution_cells):
    result = grade(["while True:\n    pass\n", *solution_cells])
    assert result.error is None
    assert result.score == result.max_score
    assert any("longer than" in note for note in result.notes), result.notes
