"""Benchmark: grade a synthetic class with stock nbgrader (a kernel per notebook) and with the kit.

Builds a class of notebook submissions of 01_tensors (correct, partly wrong, broken, one that
hangs), grades it with stock ``nbgrader autograde`` and with ``autograder grade --workers 1``
and ``--workers 2``, all in this run, and prints throughput, the ratio, the grader's CPU
overhead per submission above the checks' own CPU time, 1-vs-2-worker scaling and peak RSS.
Also times 20 correct ``.py`` submissions against 4 fresh ``python -c "import torch"``.
The last line is ``speedup_vs_nbgrader=<ratio>``.
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_tensors"
STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "__pycache__", "hidden_checks.py", "mutants.py", "alternatives.py"]
"""  # everything else is nbgrader's default: a kernel per notebook, Execute with its 30 s cell timeout
HANG = "def pairwise_sq_dists(x, y):\n    while True:\n        pass\n"


def run(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds and peak RSS (KiB, the largest process of its tree) of a command.

    CPU is the whole machine's busy time while it runs (from /proc/stat; the bench expects an
    otherwise idle machine): sandboxed and killed processes are counted too, which rusage misses.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy = _machine_busy_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        busy = _machine_busy_seconds() - busy
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
    return wall, busy, usage.ru_maxrss, done


def _machine_busy_seconds() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def student_notebooks(count: int) -> dict[str, nbformat.NotebookNode | str]:
    """The synthetic class: mostly correct, some partly wrong, three broken, one that hangs."""
    release = nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    mutants = runpy.run_path(str(ROOT / "source" / ASSIGNMENT / "mutants.py"))["MUTANTS"][::4]  # varied items

    def notebook(after: dict[str, str] | None = None, before: dict[str, str] | None = None) -> nbformat.NotebookNode:
        """The release with every solution filled in; ``after``/``before`` add code to an item's cell."""
        nb = nbformat.from_dict(json.loads(nbformat.writes(release)))
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = "\n\n".join([(before or {}).get(grade_id, ""), answers[grade_id], (after or {}).get(grade_id, "")])
        return nb

    students: dict[str, nbformat.NotebookNode | str] = {
        "broken_json": "{ this is not a notebook",
        "broken_syntax": notebook(after={"sol_normalize_rows": "def oops(:\n    pass"}),
        "broken_import": notebook(before={"sol_pairwise_sq_dists": "import no_such_module"}),
        "hangs": notebook(after={"sol_pairwise_sq_dists": HANG}),
    }
    wrong = max(1, count // 5)
    for k in range(wrong):
        mutant = mutants[k % len(mutants)]
        students[f"partly_wrong_{k:02d}"] = notebook(after={f"sol_{mutant['item']}": mutant["code"]})
    for k in range(count - len(students)):
        students[f"correct_{k:02d}"] = notebook()
    return students


def write_class(course: Path, students: dict) -> None:
    for student, nb in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        path = folder / f"{ASSIGNMENT}.ipynb"
        path.write_text(nb) if isinstance(nb, str) else nbformat.write(nb, path)


def stock_course(workdir: Path, students: dict) -> Path:
    course = workdir / "stock"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbgrader, "generate_assignment", ASSIGNMENT, "--log-level=ERROR"], cwd=course, check=True,
                   env=tool_env())
    write_class(course, students)
    return course


def tool_env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONWARNINGS": "ignore"}


def checks_cpu_per_submission() -> float:
    """The checks' own CPU time on one correct submission, run in this process without isolation."""
    from autograder.course import load_suite
    from autograder.grading.runner import grade_item_locally
    from autograder.runtime.loader import load_cells
    from autograder.submissions import read_cells

    suite = load_suite(ASSIGNMENT, hidden=True, course=ROOT)
    namespace, _ = load_cells(read_cells(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    for item in suite.items:  # warm up lazily initialised paths, as the zygote does
        grade_item_locally(suite, item.id, namespace, seed=0)
    started = time.process_time()
    for item in suite.items:
        grade_item_locally(suite, item.id, namespace, seed=1)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60, help="class size (at least 40)")
    args = parser.parse_args()
    autograder = [sys.executable, "-m", "autograder"]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        students = student_notebooks(max(40, args.students))
        n = len(students)
        print(f"class: {n} notebook submissions of {ASSIGNMENT} "
              f"({sum(s.startswith('correct') for s in students)} correct, "
              f"{sum(s.startswith('partly') for s in students)} partly wrong, 3 broken, 1 that hangs)", flush=True)

        stock = stock_course(workdir, students)
        nb_wall, nb_cpu, _, nb = run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create",
                                      "--log-level=ERROR"], stock, {**tool_env(), "AUTOGRADER_COURSE": str(stock)})
        graded_dirs = len(list((stock / "autograded").glob(f"*/{ASSIGNMENT}")))
        print(f"stock nbgrader autograde: {nb_wall:.1f} s wall, {nb_cpu:.1f} s CPU, {n / nb_wall:.2f} submissions/s "
              f"({graded_dirs} autograded, exit {nb.returncode})", flush=True)

        ours = {}
        for workers in (1, 2):
            wall, cpu, rss, result = run([*autograder, "grade", ASSIGNMENT, str(stock / "submitted"), "--workers",
                                          str(workers), "--journal", "none", "--format", "json"], ROOT)
            doc = json.loads(result.stdout)
            full = sum(s["score"] == s["max_score"] for s in doc["submissions"])
            ours[workers] = (wall, cpu, rss)
            print(f"autograder grade --workers {workers}: {wall:.1f} s wall, {cpu:.1f} s CPU, {n / wall:.2f} "
                  f"submissions/s, {len(doc['submissions'])} rows ({full} full marks), peak RSS of any process "
                  f"{rss / 1024:.0f} MiB", flush=True)

        checks = checks_cpu_per_submission()
        wall2 = ours[2][0]
        print(f"scaling 1 -> 2 workers on the class: {ours[1][0] / wall2:.2f}x (the hanging submission's "
              "time limits are its critical path)")

        py_class = workdir / "py_class"
        py_class.mkdir()
        from autograder.submissions import read_cells

        source = "\n\n".join(read_cells(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
        for k in range(20):
            (py_class / f"student{k:02d}.py").write_text(source)
        imports = sum(run([sys.executable, "-c", "import torch"], ROOT)[0] for _ in range(4))
        py_files = sorted(map(str, py_class.glob("*.py")))

        def grade_py(files: list[str], workers: int) -> tuple[float, float]:
            wall, cpu, _, _ = run([*autograder, "grade", ASSIGNMENT, *files, "--workers", str(workers), "--journal",
                                   "none", "--format", "csv"], ROOT)
            return wall, cpu

        one, twenty, twenty_on_2 = grade_py(py_files[:1], 1), grade_py(py_files, 1), grade_py(py_files, 2)
        per_submission = (twenty[1] - one[1]) / (len(py_files) - 1)
        print(f"20 correct .py submissions: --workers 1 {twenty[0]:.2f} s, --workers 2 {twenty_on_2[0]:.2f} s "
              f"(scaling {twenty[0] / twenty_on_2[0]:.2f}x); 4 fresh `python -c \"import torch\"`: {imports:.2f} s "
              f"(ratio {twenty_on_2[0] / imports:.2f})")
        print(f"checks' own CPU per correct submission (in-process, no isolation): {checks * 1000:.0f} ms; "
              f"grading CPU per submission (all processes, startup excluded): {per_submission * 1000:.0f} ms; "
              f"overhead: {(per_submission - checks) * 1000:.0f} ms per submission; startup: {one[1]:.1f} s CPU")
        print(f"speedup_vs_nbgrader={nb_wall / wall2:.1f}")


if __name__ == "__main__":
    main()
