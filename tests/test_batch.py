"""Batches: a killed batch resumes with nothing lost or graded twice; Dask grades like the local pool."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import RELEASE, ROOT, SOLUTION, cli

SLOW_CORRECT = "import time\ntime.sleep(0.3)\n"


def solution_source() -> str:
    from autograder.submissions import read_cells

    return "\n\n".join(read_cells(SOLUTION))


def write_class(folder: Path, count: int) -> list[str]:
    body = SLOW_CORRECT + solution_source()
    paths = []
    for k in range(count):
        path = folder / f"student{k:02d}.py"
        path.write_text(body)
        paths.append(str(path))
    return paths


def journal_lines(folder: Path) -> list[dict]:
    files = list(folder.glob("*.jsonl"))
    if not files:
        return []
    entries = []
    for line in files[0].read_text().splitlines()[1:]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pass
    return entries


def test_killed_batch_rerun_grades_every_submission_exactly_once(tmp_path):
    paths = write_class(tmp_path, 10)
    journal = tmp_path / "journal"
    command = [sys.executable, "-m", "autograder", "grade", "01_tensors", *paths, "--workers", "1",
               "--journal", str(journal), "--format", "json"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    while len(journal_lines(journal)) < 3 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    graded_before = [e["result"]["id"] for e in journal_lines(journal)]
    assert 3 <= len(graded_before) < 10, graded_before

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    graded_after = [line.split()[1].rstrip(":") for line in second.stderr.splitlines() if line.startswith("graded ")]
    assert sorted(graded_before + graded_after) == sorted(Path(p).stem for p in paths)
    doc = json.loads(second.stdout)
    assert [s["id"] for s in doc["submissions"]] == [Path(p).stem for p in paths]
    assert all(s["score"] == s["max_score"] == 21.0 for s in doc["submissions"])
    assert not list(journal.glob("*.jsonl")), "a finished batch leaves no journal behind"


def test_rerun_reuses_recorded_results_unless_forced(tmp_path):
    from autograder.grading.journal import Journal, journal_path, submission_key, suite_fingerprint
    from autograder.grading.results import SubmissionResult
    from autograder.submissions import discover

    paths = write_class(tmp_path, 2)
    journal_dir = tmp_path / "journal"
    # What a batch killed after its first submission leaves: the header and one result.
    path = journal_path(journal_dir, "01_tensors", [*paths, "--sandbox=auto"])
    journal = Journal(path, 4, suite_fingerprint("01_tensors", ROOT))
    journal.start(4)
    first = discover(paths[:1], "01_tensors")[0]
    journal.record(submission_key(first), SubmissionResult(first.id, first.path, 7.0, 21.0, None, []))
    journal.close()

    def grade(*extra):
        run = cli("grade", "01_tensors", *paths, "--journal", str(journal_dir), "--format", "json", *extra)
        graded = [line for line in run.stderr.splitlines() if line.startswith("graded ")]
        return [s["score"] for s in json.loads(run.stdout)["submissions"]], len(graded), json.loads(run.stdout)["seed"]

    assert grade() == ([7.0, 21.0], 1, 4)  # resumed: the recorded result and seed are kept
    journal = Journal(path, 4, suite_fingerprint("01_tensors", ROOT))
    journal.start(4)
    journal.record(submission_key(first), SubmissionResult(first.id, first.path, 7.0, 21.0, None, []))
    journal.close()
    assert grade("--force", "--seed", "4") == ([21.0, 21.0], 2, 4)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


def test_dask_local_cluster_gives_the_local_pool_scores(dask_cluster, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def pairwise_sq_dists(x, y):\n    return (x[:, None] - y[None]).pow(2).sum(0)\n")
    subs = [str(SOLUTION), str(RELEASE), str(broken)]
    local = json.loads(cli("grade", "01_tensors", *subs, "--seed", "11", "--format", "json", "--journal", "none").stdout)
    run = cli("grade", "01_tensors", *subs, "--seed", "11", "--format", "json", "--journal", "none",
              "--dask", dask_cluster)
    assert run.returncode == 0, run.stderr
    remote = json.loads(run.stdout)

    def verdicts(doc):
        return [(s["id"], s["score"], [(i["id"], i["score"], [c["passed"] for c in i["checks"]]) for i in s["items"]])
                for s in doc["submissions"]]

    assert verdicts(remote) == verdicts(local)
    assert [s["score"] for s in remote["submissions"]] == [21.0, 0.0, 0.0]
