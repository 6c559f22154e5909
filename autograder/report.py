"""Output formats for a grading run: table, JSON, CSV and Gradescope's results.json."""
from __future__ import annotations

import csv
import io
import json

from autograder.grading.results import RunResult

CHECK_FIELDS = ("name", "category", "passed", "hidden", "message")


def to_json(run: RunResult) -> str:
    """INTERFACE.md's document, plus the run's seed and sandbox."""
    doc = {
        "assignment": run.assignment,
        "max_score": run.max_score,
        "seed": run.seed,
        "sandbox": run.sandbox,
        "submissions": [
            {
                "id": s.id, "path": s.path, "score": s.score, "max_score": s.max_score, "error": s.error,
                "notes": s.notes, "seconds": s.seconds,
                "items": [
                    {"id": i.id, "score": i.score, "max_score": i.max_score,
                     "checks": [{k: getattr(c, k) for k in CHECK_FIELDS} for c in i.checks]}
                    for i in s.items
                ],
            }
            for s in run.submissions
        ],
    }
    return json.dumps(doc, indent=2)


def to_csv(run: RunResult) -> str:
    item_ids = [i.id for i in run.submissions[0].items] if run.submissions else []
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "path", "score", "max_score", "error", *item_ids])
    for s in run.submissions:
        writer.writerow([s.id, s.path, _num(s.score), _num(s.max_score), s.error or "", *(_num(i.score) for i in s.items)])
    return out.getvalue()


def _num(x: float) -> str:
    return f"{x:g}"


def to_table(run: RunResult) -> str:
    """A student × item grid, then each failed check's message."""
    if not run.submissions:
        return "no submissions\n"
    items = [i.id for i in run.submissions[0].items]
    header = ["submission", *items, "total"]
    rows = [[s.id, *(_num(i.score) for i in s.items), f"{_num(s.score)}/{_num(s.max_score)}"] for s in run.submissions]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"seed {run.seed}  (replay with --seed {run.seed}); sandbox: {run.sandbox.get('note', '?')}")
    for s in run.submissions:
        failures = [f"  {i.id}.{c.name}: {c.message}" for i in s.items for c in i.checks if not c.passed]
        if s.error or failures:
            lines.append(f"\n{s.id}" + (f": {s.error}" if s.error else ""))
            lines += failures if not s.error else []
    return "\n".join(lines) + "\n"


def to_gradescope(run: RunResult) -> str:
    """Gradescope's results.json for one submission (the first)."""
    s = run.submissions[0]
    tests = []
    for item in s.items:
        lines = [f"{'ok  ' if c.passed else 'FAIL'} {c.name}" + (f": {c.message}" if c.message else "") for c in item.checks if not c.hidden]
        hidden = [c for c in item.checks if c.hidden]
        if hidden:
            lines.append(f"hidden checks: {sum(c.passed for c in hidden)}/{len(hidden)} passed")
        tests.append({"name": item.id, "score": item.score, "max_score": item.max_score,
                      "output": "\n".join(lines), "visibility": "visible"})
        tests += [{"name": f"{item.id}: {c.name}", "score": 0, "max_score": 0, "output": c.message,
                   "visibility": "after_published"} for c in hidden]
    return json.dumps({"score": s.score, "output": s.error or f"seed {run.seed}", "tests": tests}, indent=2)
