"""The ``autograder`` command line (see INTERFACE.md)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from autograder.assignments import ASSIGNMENTS, warms_optimizers
from autograder.grading.sandbox import MODES, SandboxUnavailable, prepare
from autograder.launch import Started, start_zygote

log = logging.getLogger("autograder")
FORMATS = ("csv", "json", "table")
DEFAULT_JOURNAL = ".autograder"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="run public and hidden checks on submissions")
    grade.add_argument("assignment", choices=sorted(ASSIGNMENTS))
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    _add_run_options(grade)
    grade.add_argument("--gradescope", metavar="FILE", help="also write Gradescope's results.json")
    grade.add_argument("--dask", metavar="ADDRESS", help="grade on a Dask distributed cluster (scheduler address, "
                                                          "or 'config' for Dask's own configuration)")
    grade.add_argument("--journal", default=DEFAULT_JOURNAL, metavar="DIR",
                       help="where results are recorded as they finish, so a killed batch resumes "
                            f"(default {DEFAULT_JOURNAL}; 'none' to keep no record)")
    grade.add_argument("--force", action="store_true", help="regrade everything, ignoring a killed batch's results")

    check = sub.add_parser("check", help="run the public checks only (the students' self-check)")
    check.add_argument("assignment", choices=sorted(ASSIGNMENTS))
    check.add_argument("submission", nargs="?", metavar="SUBMISSION")
    _add_run_options(check)

    build = sub.add_parser("build", help="regenerate exercises/ and solutions/ from source/ with nbgrader")
    build.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    build.add_argument("--course", help="course directory (default: the current one)")

    validate = sub.add_parser("validate", help="authoring check: reference over K seeds, release scores 0, "
                                                "every known mistake caught")
    validate.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", choices=[[], *sorted(ASSIGNMENTS)])
    validate.add_argument("--seeds", type=int, default=20, metavar="K", help="reference runs (default 20)")
    _add_run_options(validate, formats=False)

    coverage = sub.add_parser("coverage", help="print the item x category table of checks (docs/COVERAGE.md)")
    coverage.add_argument("--course", help="instructor's course directory holding source/ (default: found)")

    sub.add_parser("demo", help="build the course, grade sample submissions with nbgrader, print the table")

    book = sub.add_parser("gradebook", help="print the student x item table from nbgrader's gradebook")
    book.add_argument("assignment")
    book.add_argument("--db", default="gradebook.db")
    return parser


def _add_run_options(parser: argparse.ArgumentParser, formats: bool = True) -> None:
    if formats:
        parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, help="replay a run: the seed is printed with every result")
    parser.add_argument("--course", help="instructor's course directory holding source/ (default: found)")
    parser.add_argument("--sandbox", choices=MODES, default="auto",
                        help="bubblewrap around student code: auto (fall back with a warning), required, off")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        local = args.command in ("grade", "check", "validate") and not getattr(args, "dask", None)
        started = start_zygote(prepare(args.sandbox), warms_optimizers(_assignments(args))) if local else None
    except SandboxUnavailable as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 1
    from autograder.course import CourseError  # torch loads here, while the zygote starts

    try:
        if args.command == "validate":
            return _validate(args, started)
        if args.command in ("grade", "check"):
            return _grade(args, started)
        if args.command == "coverage":
            from autograder.course import course_root
            from autograder.coverage import coverage_table

            print(coverage_table(course_root(args.course)), end="")
            return 0
        if args.command == "build":
            from autograder.build import build_course

            build_course(Path(args.course or "."), args.assignments)
            return 0
        if args.command == "demo":
            from autograder.demo import main as demo

            return demo()
        from autograder.nbgrader_plugin import gradebook_table

        print(gradebook_table(args.assignment, args.db), end="")
        return 0
    except CourseError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 1


def _grade(args: argparse.Namespace, started: Started | None) -> int:
    from autograder import report
    from autograder.batch import Placement, run_batch
    from autograder.course import course_root, load_suite
    from autograder.grading.journal import Journal, journal_path, suite_fingerprint
    from autograder.grading.processes import Zygote
    from autograder.grading.runner import new_seed
    from autograder.submissions import discover

    zygote = Zygote(started) if started else None
    hidden = args.command == "grade"
    try:
        suite = load_suite(args.assignment, hidden=hidden, course=args.course)
        paths = args.submissions if hidden else [args.submission or _default_submission(args.assignment)]
        submissions = discover(paths, args.assignment)
        journal = None
        if hidden and args.journal != "none":
            course = course_root(args.course)
            path = journal_path(args.journal, args.assignment, [*paths, f"--sandbox={args.sandbox}"])
            journal = Journal(path, args.seed, suite_fingerprint(args.assignment, course), force=args.force)
        seed = journal.seed if journal and journal.seed is not None else args.seed
        seed = new_seed() if seed is None else seed
        placement = Placement(args.workers, zygote, getattr(args, "dask", None), args.sandbox)
        run = run_batch(suite, submissions, seed, placement, course_root(args.course), journal)
    finally:
        if zygote:
            zygote.close()
    formats = {"table": report.to_table, "json": report.to_json, "csv": report.to_csv}
    sys.stdout.write(formats[args.format](run))
    if hidden and args.gradescope:
        Path(args.gradescope).write_text(report.to_gradescope(run))
    return 0


def _validate(args: argparse.Namespace, started: Started) -> int:
    from autograder.course import course_root
    from autograder.grading.processes import Zygote
    from autograder.grading.runner import new_seed
    from autograder.validate import validate

    base = new_seed() if args.seed is None else args.seed
    seeds = [base + k for k in range(max(1, args.seeds))]
    zygote = Zygote(started)
    problems = 0
    try:
        for assignment in args.assignments or sorted(ASSIGNMENTS):
            report = validate(assignment, course_root(args.course), zygote, seeds, args.workers)
            sys.stdout.write(report.table())
            sys.stdout.flush()
            problems += len(report.problems)
    finally:
        zygote.close()
    print(f"{problems} problem(s); seeds {seeds[0]}..{seeds[-1]} (replay with --seed {base})")
    return 1 if problems else 0


def _assignments(args: argparse.Namespace) -> list[str]:
    return [args.assignment] if hasattr(args, "assignment") else list(getattr(args, "assignments", []))


def _default_submission(assignment: str) -> str:
    from autograder.course import CourseError

    for candidate in (Path(f"{assignment}.ipynb"), Path("exercises") / assignment):
        if candidate.exists():
            return str(candidate)
    raise CourseError(f"no submission given and neither {assignment}.ipynb nor exercises/{assignment} exists here")
